"""integrity, streams and write: digests computed client-side while streaming, constant memory."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
import zlib
from collections.abc import Iterator

import pytest

from remote_store import ContentDigest, Store, WriteSource
from remote_store.backends import MemoryBackend
from remote_store.errors import AlreadyExists, ConfigError, InvalidPath, NotFound
from remote_store.ext.integrity import checksum, content_digest, verify, verify_hex
from remote_store.ext.streams import (
    ChecksumReader,
    ChecksumWriter,
    ProgressReader,
    ProgressWriter,
    read_with_progress,
)
from remote_store.ext.write import open_atomic_with_hash, write_with_hash

MiB = 1024 * 1024
BLOCK = os.urandom(MiB)


def chunks(total_mib: int) -> Iterator[bytes]:
    """``total_mib`` MiB generated on the fly (the same random MiB, shifted each time)."""
    for i in range(total_mib):
        yield BLOCK[i % 7 :] + BLOCK[: i % 7]


def expected_sha256(total_mib: int) -> str:
    h = hashlib.sha256()
    for c in chunks(total_mib):
        h.update(c)
    return h.hexdigest()


@pytest.mark.parametrize("algorithm", ["sha256", "md5", "sha1", "blake2b", "SHA-512"])
def test_checksum_matches_hashlib(store: Store, algorithm: str) -> None:
    data = os.urandom(300_000)
    store.write("d/f.bin", data)
    name = algorithm.lower().replace("-", "")
    digest = checksum(store, "d/f.bin", algorithm, chunk_size=4096)
    assert digest == ContentDigest(name, hashlib.new(name, data).hexdigest())
    assert verify(store, "d/f.bin", digest)
    assert verify_hex(store, "d/f.bin", digest.value.upper(), algorithm)
    assert not verify_hex(store, "d/f.bin", "0" * len(digest.value), algorithm)
    assert not verify_hex(store, "d/f.bin", "é" * 4, algorithm)


def test_crc32(store: Store) -> None:
    store.write("c.bin", b"123456789")
    assert checksum(store, "c.bin", "crc32").value == "cbf43926"  # the CRC-32 check value
    assert content_digest(b"", "crc32").value == "00000000"
    assert content_digest(b"abc", "crc32").value == f"{zlib.crc32(b'abc'):08x}"


def test_errors_are_typed(store: Store) -> None:
    with pytest.raises(NotFound):
        checksum(store, "nope.bin")
    store.write("dir/x", b"x")
    with pytest.raises((InvalidPath, NotFound)):
        checksum(store, "dir")
    with pytest.raises(ConfigError):
        checksum(store, "dir/x", "nosuchhash")
    with pytest.raises(ConfigError):
        checksum(store, "dir/x", chunk_size=0)
    with pytest.raises(InvalidPath):
        verify_hex(store, "../x", "00")
    with pytest.raises(TypeError):
        verify(store, "dir/x", "abc")  # type: ignore[arg-type]


def test_content_digest_inputs() -> None:
    data = b"hello world" * 1000
    want = hashlib.sha256(data).hexdigest()
    assert content_digest(data).value == want
    assert content_digest(memoryview(data)).value == want
    assert content_digest(io.BytesIO(data)).value == want
    assert content_digest([data[:5], data[5:]]).value == want
    with pytest.raises(TypeError):
        content_digest("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        content_digest(io.StringIO("text"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        content_digest(42)  # type: ignore[arg-type]


def test_progress_reader_counts_every_byte(store: Store) -> None:
    data = os.urandom(1_000_003)
    store.write("p.bin", data)
    seen: list[int] = []
    with read_with_progress(store, "p.bin", seen.append) as f:
        assert f.total == len(data)
        out = b"".join(iter(lambda: f.read(65536), b""))
    assert out == data and sum(seen) == len(data) and all(n > 0 for n in seen)
    assert f.closed


def test_readinto_and_iteration_paths() -> None:
    data = os.urandom(200_000)
    got: list[int] = []
    r = ProgressReader(io.BytesIO(data), got.append)
    buf = bytearray(70_000)
    n = r.readinto(buf)
    rest = b"".join(r)
    assert bytes(buf[:n]) + rest == data and sum(got) == len(data) and r.bytes_read == len(data)
    c = ChecksumReader(io.BufferedReader(io.BytesIO(data)), "md5")  # readinto path, buffered
    while c.readinto(buf):
        pass
    assert c.hexdigest() == hashlib.md5(data).hexdigest()
    assert not c.seekable()


def test_writers_hash_and_count() -> None:
    sink = io.BytesIO()
    got: list[int] = []
    w = ChecksumWriter(ProgressWriter(sink, got.append, close_inner=False), "sha1")
    for c in (b"ab", bytearray(b"cd"), memoryview(b"ef")):
        w.write(c)
    assert w.digest() == ContentDigest("sha1", hashlib.sha1(b"abcdef").hexdigest())
    assert w.bytes_written == 6 and sum(got) == 6
    with pytest.raises(TypeError):
        w.write("str")  # type: ignore[arg-type]
    w.close()
    assert not sink.closed  # the ProgressWriter kept its sink open
    with pytest.raises(ValueError):
        w.write(b"x")


def test_short_writes_hash_only_accepted_bytes() -> None:
    class Short(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            chunk = bytes(memoryview(b))[:3]  # type: ignore[arg-type]
            self.data += chunk
            return len(chunk)

    inner = Short()
    w = ChecksumWriter(inner)  # type: ignore[arg-type]
    assert w.write(b"abcdefgh") == 3
    assert w.hexdigest() == hashlib.sha256(b"abc").hexdigest() == hashlib.sha256(bytes(inner.data)).hexdigest()


@pytest.mark.parametrize("form", ["bytes", "stream", "iterable"])
@pytest.mark.parametrize("atomic", [False, True])
def test_write_with_hash(store: Store, form: str, atomic: bool) -> None:
    data = os.urandom(2 * MiB + 17)
    content: object = {
        "bytes": data,
        "stream": io.BufferedReader(io.BytesIO(data)),
        "iterable": (data[i : i + 100_000] for i in range(0, len(data), 100_000)),
    }[form]
    result = write_with_hash(store, "w/x.bin", content, algorithm="sha256", atomic=atomic)  # type: ignore[arg-type]
    assert result.source is WriteSource.SIDECAR
    assert result.digest == ContentDigest("sha256", hashlib.sha256(data).hexdigest())
    assert result.size == len(data) and result.path == "w/x.bin"
    assert store.read_bytes("w/x.bin") == data
    assert verify(store, "w/x.bin", result.digest)


def test_write_with_hash_keeps_old_file_on_failure(store: Store) -> None:
    store.write("keep.txt", b"old")
    with pytest.raises(AlreadyExists):
        write_with_hash(store, "keep.txt", b"new")

    def failing() -> Iterator[bytes]:
        yield b"partial"
        raise OSError("source broke")

    with pytest.raises(OSError, match="source broke"):
        write_with_hash(store, "keep.txt", failing(), overwrite=True, atomic=True)
    assert store.read_bytes("keep.txt") == b"old"
    with pytest.raises(TypeError):
        write_with_hash(store, "t.txt", "text")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        write_with_hash(store, "t.txt", b"x", algorithm="nope")
    assert not store.exists("t.txt")


def test_open_atomic_with_hash(store: Store) -> None:
    with open_atomic_with_hash(store, "a/b.bin", algorithm="md5") as f:
        for c in chunks(3):
            f.write(c)
    assert f.result is not None and f.result.source is WriteSource.SIDECAR
    assert f.result.digest == ContentDigest("md5", hashlib.md5(b"".join(chunks(3))).hexdigest())
    assert f.result.size == 3 * MiB
    store.write("a/keep.bin", b"old")
    with pytest.raises(RuntimeError), open_atomic_with_hash(store, "a/keep.bin", overwrite=True) as g:
        g.write(b"new content")
        raise RuntimeError("abort")
    assert g.result is None and store.read_bytes("a/keep.bin") == b"old"
    with pytest.raises(AlreadyExists), open_atomic_with_hash(store, "a/keep.bin"):
        pass


def _peak(fn: object) -> int:
    tracemalloc.start()
    try:
        fn()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_constant_memory_on_large_streams(local_store: Store) -> None:
    total = 48  # MiB streamed; peak Python allocations must stay a small multiple of one chunk
    results: dict[str, object] = {}

    def write() -> None:
        results["w"] = write_with_hash(local_store, "big.bin", chunks(total))

    def read() -> None:
        results["c"] = checksum(local_store, "big.bin")

    def stream() -> None:
        with read_with_progress(local_store, "big.bin", lambda n: None) as f:
            h = ChecksumReader(f, close_inner=False)
            while h.read(MiB):
                pass
            results["s"] = h.hexdigest()

    def atomic() -> None:
        with open_atomic_with_hash(local_store, "big2.bin", overwrite=True) as f:
            for c in chunks(total):
                f.write(c)
        results["a"] = f.result

    for fn in (write, read, stream, atomic):
        peak = _peak(fn)
        assert peak < 12 * MiB, f"{fn.__name__} peaked at {peak / MiB:.1f} MiB for {total} MiB"
    want = expected_sha256(total)
    w = results["w"]
    assert getattr(w, "digest").value == want  # noqa: B009
    assert getattr(results["c"], "value") == want  # noqa: B009
    assert results["s"] == want
    assert getattr(results["a"], "digest").value == want  # noqa: B009


def test_memory_store_stream_digest_with_s3_raw_readback(s3_store: Store, s3_server: object) -> None:
    """The digest of a multi-MiB streamed S3 write matches the bytes the raw SDK reads back."""
    result = write_with_hash(s3_store, "s3/big.bin", chunks(12), algorithm="sha256")
    backend = s3_store.backend
    bucket = backend.options["bucket"]
    body = s3_server.client().get_object(Bucket=bucket, Key="s3/big.bin")["Body"].read()  # type: ignore[attr-defined]
    assert result.digest == ContentDigest("sha256", hashlib.sha256(body).hexdigest())
    assert result.digest.value == expected_sha256(12)


def test_memory_backend_digest_independent_of_native() -> None:
    store = Store(MemoryBackend())
    r = write_with_hash(store, "m.txt", b"abc", algorithm="crc32")
    assert r.digest == ContentDigest("crc32", f"{zlib.crc32(b'abc'):08x}")
