"""Reading: round-trips, streams, seekable and lazy reads, text decoding, NotFound."""

from __future__ import annotations

import gc
import hashlib
import io
import tracemalloc

import pytest

from remote_store import Capability, Store
from remote_store.errors import InvalidPath, NotFound
from remote_store_conformance._base import Putter, payload, requires

MiB = 1024 * 1024


class ReadTests:
    """`read`, `read_bytes`, `read_text`, `read_seekable`."""

    @requires(Capability.READ)
    def test_read_bytes_round_trip(self, store: Store, put: Putter) -> None:
        put("hello.txt", b"Hello, world")
        assert store.read_bytes("hello.txt") == b"Hello, world"

    @requires(Capability.READ)
    def test_read_empty_file(self, store: Store, put: Putter) -> None:
        put("empty.bin", b"")
        assert store.read_bytes("empty.bin") == b""
        with store.read("empty.bin") as f:
            assert f.read() == b""

    @requires(Capability.READ)
    def test_read_every_byte_value(self, store: Store, put: Putter) -> None:
        data = bytes(range(256)) * 4
        put("bytes.bin", data)
        assert store.read_bytes("bytes.bin") == data

    @requires(Capability.READ)
    def test_read_nul_and_newline_bytes_are_preserved(self, store: Store, put: Putter) -> None:
        data = b"\x00\r\n\x00\n\r\x00"
        put("nul.bin", data)
        assert store.read_bytes("nul.bin") == data

    @requires(Capability.READ)
    def test_read_stream_whole(self, store: Store, put: Putter) -> None:
        data = payload(100_000, 1)
        put("s.bin", data)
        with store.read("s.bin") as f:
            assert f.read() == data

    @requires(Capability.READ)
    def test_read_stream_in_chunks(self, store: Store, put: Putter) -> None:
        data = payload(70_001, 2)
        put("c.bin", data)
        parts = []
        with store.read("c.bin") as f:
            while chunk := f.read(4096):
                assert len(chunk) <= 4096
                parts.append(chunk)
        assert b"".join(parts) == data

    @requires(Capability.READ)
    def test_read_zero_bytes_returns_empty(self, store: Store, put: Putter) -> None:
        put("z.bin", b"abc")
        with store.read("z.bin") as f:
            assert f.read(0) == b""
            assert f.read() == b"abc"

    @requires(Capability.READ)
    def test_read_past_end_returns_empty(self, store: Store, put: Putter) -> None:
        put("end.bin", b"abc")
        with store.read("end.bin") as f:
            assert f.read(10) == b"abc"
            assert f.read(10) == b""
            assert f.read() == b""

    @requires(Capability.READ)
    def test_read_stream_is_readable_and_closes(self, store: Store, put: Putter) -> None:
        put("r.bin", b"abc")
        f = store.read("r.bin")
        assert f.readable()
        with f:
            f.read(1)
        assert f.closed

    @requires(Capability.READ)
    def test_read_stream_readinto(self, store: Store, put: Putter) -> None:
        put("into.bin", b"0123456789")
        buf = bytearray(4)
        with store.read("into.bin") as f:
            n = f.readinto(buf)  # type: ignore[attr-defined]
        assert n > 0
        assert bytes(buf[:n]) == b"0123456789"[:n]

    @requires(Capability.READ)
    def test_read_stream_readline(self, store: Store, put: Putter) -> None:
        put("lines.txt", b"one\ntwo\nthree")
        with store.read("lines.txt") as f:
            assert f.readline() == b"one\n"
            assert f.readline() == b"two\n"
            assert f.readline() == b"three"
            assert f.readline() == b""

    @requires(Capability.READ)
    def test_read_stream_iterates_lines(self, store: Store, put: Putter) -> None:
        put("iter.txt", b"a\nb\nc\n")
        with store.read("iter.txt") as f:
            assert list(f) == [b"a\n", b"b\n", b"c\n"]

    @requires(Capability.READ)
    def test_read_stream_wraps_in_text_wrapper(self, store: Store, put: Putter) -> None:
        put("wrap.txt", "grüße\nzwei\n".encode())
        with store.read("wrap.txt") as f:
            text = io.TextIOWrapper(f, encoding="utf-8")  # type: ignore[type-var]
            assert text.readline() == "grüße\n"
            assert text.read() == "zwei\n"

    @requires(Capability.READ)
    def test_two_streams_on_one_file_are_independent(self, store: Store, put: Putter) -> None:
        put("two.bin", b"abcdefgh")
        with store.read("two.bin") as a, store.read("two.bin") as b:
            assert a.read(3) == b"abc"
            assert b.read(2) == b"ab"
            assert a.read() == b"defgh"
            assert b.read() == b"cdefgh"

    @requires(Capability.READ)
    def test_read_text_utf8_default(self, store: Store, put: Putter) -> None:
        put("u.txt", "héllo wörld ✓".encode())
        assert store.read_text("u.txt") == "héllo wörld ✓"

    @requires(Capability.READ)
    def test_read_text_latin1(self, store: Store, put: Putter) -> None:
        put("l.txt", "café".encode("latin-1"))
        assert store.read_text("l.txt", encoding="latin-1") == "café"

    @requires(Capability.READ)
    def test_read_text_utf16(self, store: Store, put: Putter) -> None:
        put("w.txt", "日本語".encode("utf-16"))
        assert store.read_text("w.txt", encoding="utf-16") == "日本語"

    @requires(Capability.READ)
    def test_read_text_invalid_bytes_raise_unicode_error(self, store: Store, put: Putter) -> None:
        put("bad.txt", b"\xff\xfe\xfa")
        with pytest.raises(UnicodeDecodeError):
            store.read_text("bad.txt")

    @requires(Capability.READ)
    def test_read_text_errors_replace(self, store: Store, put: Putter) -> None:
        put("rep.txt", b"ok\xff")
        assert store.read_text("rep.txt", errors="replace") == "ok\ufffd"

    @requires(Capability.READ)
    def test_read_nested_file(self, store: Store, put: Putter) -> None:
        put("a/b/c/d.txt", b"deep")
        assert store.read_bytes("a/b/c/d.txt") == b"deep"

    @requires(Capability.READ)
    def test_read_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound), store.read("missing.txt") as f:
            f.read()

    @requires(Capability.READ)
    def test_read_bytes_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.read_bytes("missing.txt")

    @requires(Capability.READ)
    def test_read_text_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.read_text("missing.txt")

    @requires(Capability.READ)
    def test_read_seekable_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound), store.read_seekable("missing.txt") as f:
            f.read()

    @requires(Capability.READ)
    def test_read_in_missing_folder_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.read_bytes("no/such/folder/file.txt")

    @requires(Capability.READ)
    def test_read_missing_sibling_of_existing_file(self, store: Store, put: Putter) -> None:
        put("dir/present.txt", b"x")
        with pytest.raises(NotFound):
            store.read_bytes("dir/absent.txt")

    @requires(Capability.READ)
    def test_read_bytes_of_folder_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("folder/inner.txt", b"x")
        with pytest.raises(InvalidPath):
            store.read_bytes("folder")

    @requires(Capability.READ)
    def test_read_of_folder_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("folder/inner.txt", b"x")
        with pytest.raises(InvalidPath), store.read("folder") as f:
            f.read()

    @requires(Capability.READ)
    def test_read_seekable_of_folder_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("folder/inner.txt", b"x")
        with pytest.raises(InvalidPath), store.read_seekable("folder") as f:
            f.read()

    @requires(Capability.READ)
    def test_read_below_a_file_is_refused(self, store: Store, put: Putter) -> None:
        put("file.txt", b"x")
        with pytest.raises((NotFound, InvalidPath)):
            store.read_bytes("file.txt/child")

    @requires(Capability.READ)
    def test_read_seekable_seek_and_read(self, store: Store, put: Putter) -> None:
        data = payload(10_000, 3)
        put("seek.bin", data)
        with store.read_seekable("seek.bin") as f:
            assert f.seekable()
            f.seek(5000)
            assert f.read(10) == data[5000:5010]
            f.seek(0)
            assert f.read(3) == data[:3]

    @requires(Capability.READ)
    def test_read_seekable_seek_from_end_and_tell(self, store: Store, put: Putter) -> None:
        data = payload(4096, 4)
        put("end.bin", data)
        with store.read_seekable("end.bin") as f:
            assert f.seek(-16, io.SEEK_END) == 4096 - 16
            assert f.tell() == 4096 - 16
            assert f.read() == data[-16:]

    @requires(Capability.READ)
    def test_read_seekable_seek_relative(self, store: Store, put: Putter) -> None:
        put("rel.bin", b"0123456789")
        with store.read_seekable("rel.bin") as f:
            f.read(2)
            f.seek(3, io.SEEK_CUR)
            assert f.read(2) == b"56"

    @requires(Capability.READ)
    def test_read_seekable_empty_file(self, store: Store, put: Putter) -> None:
        put("e.bin", b"")
        with store.read_seekable("e.bin") as f:
            assert f.seek(0, io.SEEK_END) == 0
            assert f.read() == b""

    @requires(Capability.READ, Capability.SEEKABLE_READ)
    def test_read_is_natively_seekable(self, store: Store, put: Putter) -> None:
        data = payload(50_000, 5)
        put("native.bin", data)
        with store.read("native.bin") as f:
            assert f.seekable()
            f.seek(40_000)
            assert f.tell() == 40_000
            assert f.read(100) == data[40_000:40_100]
            f.seek(10)
            assert f.read(5) == data[10:15]

    @requires(Capability.READ)
    def test_read_large_file(self, store: Store, put: Putter) -> None:
        data = payload(8 * MiB, 6)
        put("large.bin", data)
        digest = hashlib.sha256()
        size = 0
        with store.read("large.bin") as f:
            while chunk := f.read(MiB):
                digest.update(chunk)
                size += len(chunk)
        assert size == len(data)
        assert digest.digest() == hashlib.sha256(data).digest()

    @requires(Capability.READ, Capability.SEEKABLE_READ)
    def test_seek_into_large_file(self, store: Store, put: Putter) -> None:
        data = payload(6 * MiB, 7)
        put("seek-large.bin", data)
        with store.read("seek-large.bin") as f:
            f.seek(5 * MiB + 17)
            assert f.read(1000) == data[5 * MiB + 17 : 5 * MiB + 1017]

    @requires(Capability.READ, Capability.LAZY_READ)
    def test_partial_read_does_not_fetch_the_whole_file(self, store: Store, put: Putter) -> None:
        size = 16 * MiB
        put("lazy.bin", payload(size, 8))
        put("warm.bin", b"warm")
        assert store.read_bytes("warm.bin") == b"warm"  # warm clients and pools first
        with store.read("warm.bin") as w:
            w.read(1)
        gc.collect()
        tracemalloc.start()
        try:
            with store.read("lazy.bin") as f:
                head = f.read(1024)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(head) == 1024
        assert peak < size // 2, f"reading 1 KiB of a 16 MiB file allocated {peak} bytes"

    @requires(Capability.READ)
    def test_read_file_with_unicode_name(self, store: Store, put: Putter) -> None:
        put("dïr/naïve ☃.txt", b"snow")
        assert store.read_bytes("dïr/naïve ☃.txt") == b"snow"

    @requires(Capability.READ)
    def test_read_is_repeatable(self, store: Store, put: Putter) -> None:
        put("again.bin", b"same")
        assert store.read_bytes("again.bin") == store.read_bytes("again.bin") == b"same"
