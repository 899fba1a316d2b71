"""Writing: content kinds, overwrite / AlreadyExists, intermediate folders, text, large files."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from remote_store import Capability, Store, WriteResult
from remote_store.errors import AlreadyExists, InvalidPath, RemoteStoreError
from remote_store_conformance._base import payload, requires

MiB = 1024 * 1024


class NonSeekableStream(io.RawIOBase):
    """A read-only stream that refuses to seek (like a socket or pipe)."""

    def __init__(self, data: bytes, chunk: int = 7919) -> None:
        self._data = data
        self._pos = 0
        self._chunk = chunk

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self._chunk, len(self._data) - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


#: Largest single ``read(n)`` a backend may ask of the caller's stream (bytes): enough for any
#: multipart part or staged block, small enough that "read everything" is refused.
MAX_SOURCE_READ = 256 * MiB


class UnboundedRead(AssertionError):
    """Raised by `BoundedSource` when a backend asks the caller's stream for everything at once."""


class BoundedSource(io.RawIOBase):
    """A non-seekable caller stream that refuses unbounded reads.

    ``read()``, ``read(-1)``, ``read(None)``, ``readall()`` and any single read larger than
    `MAX_SOURCE_READ` raise `UnboundedRead`: a backend must copy the caller's stream in bounded
    chunks, so a 10 GiB upload never needs 10 GiB of memory. ``sizes`` records every request.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self.sizes: list[int] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def _take(self, size: int | None) -> bytes:
        if size is None or size < 0 or size > MAX_SOURCE_READ:
            raise UnboundedRead(
                f"the backend asked the caller's stream for read({size!r}); "
                f"read it in bounded chunks of at most {MAX_SOURCE_READ} bytes"
            )
        self.sizes.append(size)
        chunk = self._data[self._pos : self._pos + size]
        self._pos += len(chunk)
        return chunk

    def read(self, size: int | None = -1) -> bytes:
        return self._take(size)

    def readall(self) -> bytes:
        return self._take(-1)

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        chunk = self._take(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


class FailingStream(io.RawIOBase):
    """Yields ``good`` bytes, then raises ``OSError`` (a source that breaks part-way)."""

    def __init__(self, good: bytes) -> None:
        self._good = good
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        if self._pos >= len(self._good):
            raise OSError("source broke part-way")
        n = min(len(b), len(self._good) - self._pos)
        b[:n] = self._good[self._pos : self._pos + n]
        self._pos += n
        return n


def failing_chunks(good: bytes) -> Iterator[bytes]:
    """Yield ``good`` in two chunks, then raise ``RuntimeError``."""
    yield good[: len(good) // 2]
    yield good[len(good) // 2 :]
    raise RuntimeError("generator broke part-way")


class WriteTests:
    """`write` and `write_text`."""

    @requires(Capability.WRITE)
    def test_write_returns_a_write_result(self, store: Store) -> None:
        result = store.write("r.txt", b"12345")
        assert isinstance(result, WriteResult)
        assert result.path == "r.txt"
        assert result.size == 5

    @requires(Capability.WRITE, Capability.READ)
    def test_write_bytes_round_trip(self, store: Store) -> None:
        store.write("b.bin", b"\x00\x01binary\xff")
        assert store.read_bytes("b.bin") == b"\x00\x01binary\xff"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_empty_file(self, store: Store) -> None:
        result = store.write("empty.bin", b"")
        assert result.size == 0
        assert store.exists("empty.bin")
        assert store.read_bytes("empty.bin") == b""

    @requires(Capability.WRITE, Capability.READ)
    def test_write_bytearray(self, store: Store) -> None:
        store.write("ba.bin", bytearray(b"bytearray"))
        assert store.read_bytes("ba.bin") == b"bytearray"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_memoryview(self, store: Store) -> None:
        store.write("mv.bin", memoryview(b"0123456789")[2:6])
        assert store.read_bytes("mv.bin") == b"2345"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_bytesio(self, store: Store) -> None:
        store.write("bio.bin", io.BytesIO(b"from a stream"))
        assert store.read_bytes("bio.bin") == b"from a stream"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_stream_from_its_current_position(self, store: Store) -> None:
        source = io.BytesIO(b"skip:keep")
        source.seek(5)
        result = store.write("pos.bin", source)
        assert store.read_bytes("pos.bin") == b"keep"
        assert result.size == 4

    @requires(Capability.WRITE, Capability.READ)
    def test_write_non_seekable_stream(self, store: Store) -> None:
        data = payload(100_000, 10)
        result = store.write("pipe.bin", NonSeekableStream(data))
        assert result.size == len(data)
        assert store.read_bytes("pipe.bin") == data

    @requires(Capability.WRITE, Capability.READ)
    def test_write_reads_the_source_in_bounded_chunks(self, store: Store) -> None:
        data = payload(3 * MiB + 17, 11)
        source = BoundedSource(data)
        result = store.write("bounded.bin", source)
        assert result.size == len(data)
        assert store.read_bytes("bounded.bin") == data
        assert source.sizes, "the backend never read the caller's stream"

    @requires(Capability.WRITE, Capability.READ, Capability.ATOMIC_WRITE)
    def test_write_atomic_reads_the_source_in_bounded_chunks(self, store: Store) -> None:
        data = payload(3 * MiB + 5, 12)
        result = store.write_atomic("bounded-atomic.bin", BoundedSource(data))
        assert result.size == len(data)
        assert store.read_bytes("bounded-atomic.bin") == data

    @requires(Capability.WRITE, Capability.READ)
    def test_write_buffered_file_object(self, store: Store, tmp_path: pytest.TempPathFactory) -> None:
        local = tmp_path / "source.bin"  # type: ignore[operator]
        local.write_bytes(b"local file content")
        with open(local, "rb") as f:
            store.write("file.bin", f)
        assert store.read_bytes("file.bin") == b"local file content"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_generator_of_chunks(self, store: Store) -> None:
        def gen() -> Iterator[bytes]:
            for i in range(10):
                yield bytes([i]) * 1000

        result = store.write("gen.bin", gen())
        assert result.size == 10_000
        assert store.read_bytes("gen.bin") == b"".join(bytes([i]) * 1000 for i in range(10))

    @requires(Capability.WRITE, Capability.READ)
    def test_write_list_of_chunks(self, store: Store) -> None:
        store.write("list.bin", [b"a", b"", b"bc", bytes(bytearray(b"d"))])
        assert store.read_bytes("list.bin") == b"abcd"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_empty_generator(self, store: Store) -> None:
        store.write("nothing.bin", iter(()))
        assert store.read_bytes("nothing.bin") == b""

    @requires(Capability.WRITE)
    def test_write_str_is_a_type_error(self, store: Store) -> None:
        with pytest.raises(TypeError):
            store.write("s.txt", "text")  # type: ignore[arg-type]
        assert store.exists("s.txt") is False

    @requires(Capability.WRITE)
    def test_write_text_stream_is_a_type_error(self, store: Store) -> None:
        with pytest.raises(TypeError):
            store.write("s.txt", io.StringIO("text"))  # type: ignore[arg-type]
        assert store.exists("s.txt") is False

    @requires(Capability.WRITE)
    def test_write_int_is_a_type_error(self, store: Store) -> None:
        with pytest.raises(TypeError):
            store.write("i.bin", 42)  # type: ignore[arg-type]

    @requires(Capability.WRITE)
    def test_write_existing_raises_already_exists(self, store: Store) -> None:
        store.write("dup.txt", b"first")
        with pytest.raises(AlreadyExists):
            store.write("dup.txt", b"second")

    @requires(Capability.WRITE, Capability.READ)
    def test_already_exists_keeps_the_old_content(self, store: Store) -> None:
        store.write("keep.txt", b"first")
        with pytest.raises(AlreadyExists):
            store.write("keep.txt", b"second, longer content")
        assert store.read_bytes("keep.txt") == b"first"

    @requires(Capability.WRITE)
    def test_already_exists_names_the_path(self, store: Store) -> None:
        store.write("named.txt", b"x")
        with pytest.raises(AlreadyExists) as info:
            store.write("named.txt", b"y")
        assert info.value.path == "named.txt"

    @requires(Capability.WRITE, Capability.READ)
    def test_overwrite_replaces_content(self, store: Store) -> None:
        store.write("o.txt", b"first")
        store.write("o.txt", b"second", overwrite=True)
        assert store.read_bytes("o.txt") == b"second"

    @requires(Capability.WRITE, Capability.READ)
    def test_overwrite_with_shorter_content_truncates(self, store: Store) -> None:
        store.write("t.txt", b"a long first version")
        result = store.write("t.txt", b"short", overwrite=True)
        assert result.size == 5
        assert store.read_bytes("t.txt") == b"short"

    @requires(Capability.WRITE, Capability.READ)
    def test_overwrite_with_empty_content(self, store: Store) -> None:
        store.write("e.txt", b"something")
        store.write("e.txt", b"", overwrite=True)
        assert store.read_bytes("e.txt") == b""

    @requires(Capability.WRITE, Capability.READ)
    def test_overwrite_true_creates_a_missing_file(self, store: Store) -> None:
        store.write("new.txt", b"fresh", overwrite=True)
        assert store.read_bytes("new.txt") == b"fresh"

    @requires(Capability.WRITE, Capability.READ)
    def test_overwrite_many_times(self, store: Store) -> None:
        for i in range(5):
            store.write("many.txt", f"v{i}".encode(), overwrite=True)
        assert store.read_bytes("many.txt") == b"v4"

    @requires(Capability.WRITE)
    def test_write_creates_intermediate_folders(self, store: Store) -> None:
        store.write("a/b/c.txt", b"x")
        assert store.is_folder("a")
        assert store.is_folder("a/b")
        assert store.is_file("a/b/c.txt")

    @requires(Capability.WRITE, Capability.READ)
    def test_write_deeply_nested(self, store: Store) -> None:
        path = "/".join(f"d{i}" for i in range(12)) + "/leaf.txt"
        store.write(path, b"deep")
        assert store.read_bytes(path) == b"deep"
        assert store.is_folder("d0/d1/d2")

    @requires(Capability.WRITE)
    def test_written_file_exists_and_is_not_a_folder(self, store: Store) -> None:
        store.write("f.txt", b"x")
        assert store.exists("f.txt") is True
        assert store.is_file("f.txt") is True
        assert store.is_folder("f.txt") is False

    @requires(Capability.WRITE)
    def test_folder_is_not_a_file(self, store: Store) -> None:
        store.write("dir/f.txt", b"x")
        assert store.exists("dir") is False
        assert store.is_file("dir") is False

    @requires(Capability.WRITE)
    def test_missing_path_is_neither_file_nor_folder(self, store: Store) -> None:
        store.write("present.txt", b"x")
        assert store.exists("absent.txt") is False
        assert store.is_file("absent.txt") is False
        assert store.is_folder("absent") is False

    @requires(Capability.WRITE, Capability.HIERARCHICAL)
    def test_write_onto_a_folder_raises_invalid_path(self, store: Store) -> None:
        store.write("dir/inner.txt", b"x")
        with pytest.raises(InvalidPath):
            store.write("dir", b"y", overwrite=True)
        assert store.is_folder("dir")

    @requires(Capability.WRITE, Capability.HIERARCHICAL)
    def test_write_below_a_file_raises_invalid_path(self, store: Store) -> None:
        store.write("file.txt", b"x")
        with pytest.raises(InvalidPath):
            store.write("file.txt/child.txt", b"y")
        assert store.is_file("file.txt")

    @requires(Capability.WRITE, Capability.HIERARCHICAL)
    def test_write_two_levels_below_a_file_raises_invalid_path(self, store: Store) -> None:
        store.write("a/file", b"x")
        with pytest.raises(InvalidPath):
            store.write("a/file/b/c.txt", b"y")

    @requires(Capability.WRITE, Capability.READ)
    def test_write_text_round_trip(self, store: Store) -> None:
        result = store.write_text("t.txt", "Grüße ✓")
        assert result.size == len("Grüße ✓".encode())
        assert store.read_text("t.txt") == "Grüße ✓"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_text_with_encoding(self, store: Store) -> None:
        store.write_text("l1.txt", "café", encoding="latin-1")
        assert store.read_bytes("l1.txt") == "café".encode("latin-1")

    @requires(Capability.WRITE, Capability.READ)
    def test_write_text_utf16(self, store: Store) -> None:
        store.write_text("u16.txt", "日本", encoding="utf-16")
        assert store.read_text("u16.txt", encoding="utf-16") == "日本"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_text_keeps_newlines_verbatim(self, store: Store) -> None:
        store.write_text("nl.txt", "a\r\nb\nc\r")
        assert store.read_bytes("nl.txt") == b"a\r\nb\nc\r"

    @requires(Capability.WRITE)
    def test_write_text_unencodable_raises(self, store: Store) -> None:
        with pytest.raises(UnicodeEncodeError):
            store.write_text("a.txt", "€", encoding="ascii")
        assert store.exists("a.txt") is False

    @requires(Capability.WRITE)
    def test_write_text_bytes_is_a_type_error(self, store: Store) -> None:
        with pytest.raises(TypeError):
            store.write_text("b.txt", b"bytes")  # type: ignore[arg-type]

    @requires(Capability.WRITE, Capability.READ)
    def test_write_text_overwrite(self, store: Store) -> None:
        store.write_text("ov.txt", "one")
        with pytest.raises(AlreadyExists):
            store.write_text("ov.txt", "two")
        store.write_text("ov.txt", "three", overwrite=True)
        assert store.read_text("ov.txt") == "three"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_large_stream(self, store: Store) -> None:
        data = payload(16 * MiB, 11)
        result = store.write("big.bin", io.BytesIO(data))
        assert result.size == len(data)
        assert store.read_bytes("big.bin") == data

    @requires(Capability.WRITE, Capability.READ)
    def test_write_large_generator(self, store: Store) -> None:
        block = payload(256 * 1024, 12)

        def gen() -> Iterator[bytes]:
            for _ in range(32):
                yield block

        result = store.write("gen-big.bin", gen())
        assert result.size == 8 * MiB
        assert store.read_bytes("gen-big.bin") == block * 32

    @requires(Capability.WRITE, Capability.READ)
    def test_failed_overwrite_keeps_the_previous_file(self, store: Store) -> None:
        store.write("safe.bin", b"previous content")
        with pytest.raises(Exception):  # noqa: B017 - the source's own error, possibly translated
            store.write("safe.bin", FailingStream(payload(300_000, 13)), overwrite=True)
        assert store.read_bytes("safe.bin") == b"previous content"

    @requires(Capability.WRITE, Capability.READ)
    def test_failed_generator_overwrite_keeps_the_previous_file(self, store: Store) -> None:
        store.write("safe2.bin", b"previous")
        with pytest.raises((RuntimeError, RemoteStoreError)):
            store.write("safe2.bin", failing_chunks(b"x" * 10_000), overwrite=True)
        assert store.read_bytes("safe2.bin") == b"previous"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_via_child_store_is_visible_in_parent(self, store: Store) -> None:
        store.child("kid").write("k.txt", b"kid")
        assert store.read_bytes("kid/k.txt") == b"kid"

    @requires(Capability.WRITE, Capability.READ)
    def test_files_with_common_prefix_are_distinct(self, store: Store) -> None:
        store.write("ab", b"1")
        store.write("abc", b"2")
        store.write("ab.txt", b"3")
        assert store.read_bytes("ab") == b"1"
        assert store.read_bytes("abc") == b"2"
        assert store.read_bytes("ab.txt") == b"3"

    @requires(Capability.WRITE, Capability.READ)
    def test_write_empty_metadata_is_allowed_everywhere(self, store: Store) -> None:
        store.write("m.txt", b"x", metadata={})
        assert store.read_bytes("m.txt") == b"x"
