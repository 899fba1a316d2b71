"""`MultipartWriter`: one put or a streamed multipart upload; bounded memory; abort on any error."""

from __future__ import annotations

import io
import logging
import threading
import time
import tracemalloc
from collections.abc import Sequence
from typing import Any

import pytest

from remote_store import WriteResult
from remote_store.errors import RemoteStoreError
from remote_store.kit import BufferReader, MultipartPolicy, MultipartWriter

KiB = 1024
MiB = 1024 * KiB


class Target:
    """An in-process multipart service that records what the writer does."""

    def __init__(self, *, delay: float = 0.0, fail_part: int | None = None, abort_failures: int = 0) -> None:
        self.lock = threading.Lock()
        self.delay = delay
        self.fail_part = fail_part
        self.abort_failures = abort_failures
        self.puts: list[bytes] = []
        self.parts: dict[int, bytes] = {}
        self.created = 0
        self.completed: bytes | None = None
        self.aborts = 0
        self.inflight = 0
        self.max_inflight = 0
        self.first_part = threading.Event()

    def put(self, data: bytes | bytearray, size: int) -> WriteResult:
        self.puts.append(bytes(data))
        return WriteResult("k", size)

    def create(self) -> str:
        self.created += 1
        return "upload-1"

    def upload_part(self, upload_id: str, number: int, data: bytes | bytearray) -> Any:
        with self.lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            if self.delay:
                time.sleep(self.delay)
            if number == self.fail_part:
                raise ConnectionError("part upload failed")
            with self.lock:
                self.parts[number] = bytes(data)
            self.first_part.set()
            return number
        finally:
            with self.lock:
                self.inflight -= 1

    def complete(self, upload_id: str, parts: Sequence[Any], size: int) -> WriteResult:
        self.completed = b"".join(self.parts[n] for n in parts)
        return WriteResult("k", size)

    def abort(self, upload_id: str) -> None:
        self.aborts += 1
        if self.aborts <= self.abort_failures:
            raise ConnectionError("abort failed")


def _payload(n: int) -> bytes:
    return (bytes(range(251)) * (n // 251 + 1))[:n]


POLICY = MultipartPolicy(part_size=64 * KiB, threshold=64 * KiB, concurrency=3)


def test_small_content_is_one_put() -> None:
    t = Target()
    w = MultipartWriter(t, POLICY, key="k")
    w.write(b"a" * 1000)
    w.write(b"b" * 1000)
    assert w.commit().size == 2000
    assert t.puts == [b"a" * 1000 + b"b" * 1000] and t.created == 0


@pytest.mark.parametrize("chunk", [1, 7 * KiB, 64 * KiB, 100 * KiB])
def test_large_content_is_split_in_parts_in_order(chunk: int) -> None:
    data = _payload(1 * MiB + 123)
    t = Target()
    w = MultipartWriter(t, POLICY, key="k")
    view = memoryview(data)
    for i in range(0, len(data), chunk):
        w.write(view[i : i + chunk])
    assert w.commit().size == len(data)
    assert t.completed == data and t.created == 1 and t.puts == []
    assert all(len(p) == 64 * KiB for n, p in t.parts.items() if n != max(t.parts))


def test_write_from_reads_straight_into_parts() -> None:
    data = _payload(700 * KiB)
    t = Target()
    w = MultipartWriter(t, POLICY, key="k")
    w.write_from(io.BufferedReader(io.BytesIO(data)))
    w.commit()
    assert t.completed == data


def test_parts_are_uploaded_while_the_caller_writes() -> None:
    t = Target()
    w = MultipartWriter(t, MultipartPolicy(part_size=64 * KiB, threshold=64 * KiB, concurrency=4), key="k")
    w.write(_payload(3 * 64 * KiB))
    assert t.first_part.wait(5), "no part was uploaded before commit"
    w.commit()


def test_concurrency_and_memory_are_bounded() -> None:
    policy = MultipartPolicy(part_size=256 * KiB, threshold=256 * KiB, concurrency=2)
    t = Target(delay=0.01)
    w = MultipartWriter(t, policy, key="k")
    t.parts = _DropParts()  # keep nothing on the "server": only the writer's memory is traced
    chunk = b"x" * (64 * KiB)
    tracemalloc.start()
    try:
        for _ in range(160):  # 10 MiB through a writer bounded at 768 KiB
            w.write(chunk)
        w.commit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert t.max_inflight <= 2
    bound = policy.part_size * (policy.concurrency + 1)
    assert peak < bound + 3 * policy.part_size, f"peak {peak} bytes for a bound of {bound}"


class _DropParts(dict[int, bytes]):
    def __setitem__(self, key: int, value: bytes) -> None:
        super().__setitem__(key, b"")


def test_failed_part_aborts_and_raises() -> None:
    t = Target(fail_part=3)
    w = MultipartWriter(t, POLICY, key="k")
    with pytest.raises(ConnectionError):
        for _ in range(20):
            w.write(_payload(64 * KiB))
        w.commit()
    assert t.aborts == 1 and t.completed is None
    with pytest.raises(ValueError):
        w.write(b"more")


def test_stream_error_aborts() -> None:
    class Broken(io.RawIOBase):
        sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            if self.sent > 200 * KiB:
                raise OSError("source broke")
            b[: len(b)] = b"z" * len(b)
            self.sent += len(b)
            return len(b)

    t = Target()
    w = MultipartWriter(t, POLICY, key="k")
    with pytest.raises(OSError, match="source broke"):
        w.write_from(Broken())
    assert t.aborts == 1 and t.completed is None


def test_abort_is_retried() -> None:
    t = Target(fail_part=2, abort_failures=2)
    w = MultipartWriter(t, POLICY, key="k")
    with pytest.raises(ConnectionError):
        w.write(_payload(512 * KiB))
        w.commit()
    assert t.aborts == 3


def test_abort_that_keeps_failing_is_logged_with_the_upload_id(caplog: pytest.LogCaptureFixture) -> None:
    t = Target(fail_part=2, abort_failures=99)
    w = MultipartWriter(t, POLICY, key="k")
    with caplog.at_level(logging.ERROR, logger="remote_store.kit"), pytest.raises(ConnectionError):
        w.write(_payload(512 * KiB))
        w.commit()
    assert any("upload-1" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    w.abort()  # idempotent: no further attempts
    assert t.aborts == 3


def test_an_abandoned_upload_is_reported_once_and_a_retried_abort_is_not() -> None:
    seen: list[str] = []
    t = Target(fail_part=2, abort_failures=99)
    w = MultipartWriter(t, POLICY, key="k", on_abandoned=seen.append)
    with pytest.raises(ConnectionError):
        w.write(_payload(512 * KiB))
        w.commit()
    w.abort()
    assert seen == ["upload-1"] and w.abandoned_upload_id == "upload-1"
    ok: list[str] = []
    t2 = Target(fail_part=2, abort_failures=2)  # the third attempt succeeds
    w2 = MultipartWriter(t2, POLICY, key="k", on_abandoned=ok.append)
    with pytest.raises(ConnectionError):
        w2.write(_payload(512 * KiB))
        w2.commit()
    assert ok == [] and w2.abandoned_upload_id is None


def test_too_many_parts_is_refused_and_aborted() -> None:
    t = Target()
    w = MultipartWriter(t, MultipartPolicy(part_size=KiB, threshold=KiB, concurrency=1, max_parts=4), key="k")
    with pytest.raises(RemoteStoreError, match="more than 4 parts"):
        w.write(b"x" * (10 * KiB))
    assert t.aborts == 1


def test_abort_before_commit_leaves_nothing() -> None:
    t = Target()
    w = MultipartWriter(t, POLICY, key="k")
    w.write(_payload(300 * KiB))
    w.abort()
    w.abort()
    assert t.aborts == 1 and t.completed is None and t.puts == []


def test_buffer_reader_is_a_seekable_view_without_copy() -> None:
    buf = bytearray(b"0123456789")
    r = BufferReader(buf)
    assert r.read(3) == b"012" and r.tell() == 3
    r.seek(-2, io.SEEK_END)
    assert r.read() == b"89" and r.read() == b""
    r.seek(0)
    out = bytearray(4)
    assert r.readinto(out) == 4 and out == b"0123"
    assert len(r) == 10 and r.seekable()
    r.seek(100)
    assert r.read(5) == b""
    with pytest.raises(ValueError):
        r.seek(-1)
