"""`PinnedRangeReader`: ranged reads pinned to the first version; restart or `ContentChanged`."""

from __future__ import annotations

import io
import os
import threading
import time

import pytest

from remote_store.errors import ContentChanged, NotFound
from remote_store.kit import FetchResult, PinnedRangeReader, open_pinned_reader


class Versioned:
    """One object whose content can be replaced; fetch honours if_match like S3."""

    def __init__(self, data: bytes) -> None:
        self.lock = threading.Lock()
        self.version = 0
        self.data: bytes | None = data
        self.fetches: list[tuple[int, int | None, str | None]] = []

    def replace(self, data: bytes | None) -> None:
        with self.lock:
            self.version += 1
            self.data = data

    def fetch(self, start: int, end: int | None, if_match: str | None) -> FetchResult:
        with self.lock:
            self.fetches.append((start, end, if_match))
            if self.data is None:
                raise NotFound("gone")
            etag = f"v{self.version}"
            if if_match is not None and if_match != etag:
                raise ContentChanged("etag differs")
            return FetchResult(io.BytesIO(self.data[start:end]), len(self.data), etag)


def test_sequential_reads_use_one_fetch_and_seeks_are_pinned() -> None:
    obj = Versioned(bytes(range(256)) * 100)
    f = open_pinned_reader(obj.fetch, obj.fetch(0, None, None), block_size=1024)
    assert f.read(10) == bytes(range(10))
    assert f.read(5000)[:2] == bytes([10, 11])
    assert len(obj.fetches) == 1
    f.seek(20000)
    assert f.read(3) == bytes([20000 % 256, 20001 % 256, 20002 % 256])
    assert obj.fetches[-1] == (20000, None, "v0")
    f.close()


def test_replaced_after_bytes_were_delivered_raises_content_changed() -> None:
    obj = Versioned(b"a" * 10000)
    r = PinnedRangeReader(obj.fetch, obj.fetch(0, None, None), key="k")
    assert r.read(10) == b"a" * 10
    obj.replace(b"b" * 10000)
    r.seek(5000)
    with pytest.raises(ContentChanged) as info:
        r.read(10)
    assert info.value.path == "k"


def test_replaced_before_any_byte_restarts_on_the_new_version() -> None:
    obj = Versioned(b"a" * 10000)
    r = PinnedRangeReader(obj.fetch, obj.fetch(0, None, None))
    r.seek(100)
    obj.replace(b"b" * 300)
    assert r.read() == b"b" * 200
    assert r.size == 300 and r.etag == "v1"


def test_deleted_before_and_after_delivery() -> None:
    obj = Versioned(b"a" * 1000)
    r = PinnedRangeReader(obj.fetch, obj.fetch(0, None, None))
    r.seek(10)
    obj.replace(None)
    with pytest.raises(NotFound):
        r.read(5)
    obj2 = Versioned(b"a" * 1000)
    r2 = PinnedRangeReader(obj2.fetch, obj2.fetch(0, None, None))
    r2.read(5)
    obj2.replace(None)
    r2.seek(500)
    with pytest.raises(ContentChanged):
        r2.read(5)


def test_a_body_that_ends_early_after_delivery_is_content_changed() -> None:
    first = FetchResult(io.BytesIO(b"abc"), 10, "v0")  # claims 10 bytes, delivers 3
    r = PinnedRangeReader(lambda s, e, m: FetchResult(io.BytesIO(b""), 10, "v0"), first)
    assert r.read(3) == b"abc"
    with pytest.raises(ContentChanged):
        r.read(3)


def test_racing_replacements_never_mix_versions() -> None:
    """Readers racing a writer get one whole version or ContentChanged, never a mix."""
    size = 64 * 1024
    obj = Versioned(bytes([0]) * size)
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n = (n + 1) % 256
            obj.replace(bytes([n]) * size)
            time.sleep(0.0005)

    seconds = float(os.environ.get("REMOTE_STORE_SOAK_SECONDS", "1.5"))
    t = threading.Thread(target=writer)
    t.start()
    whole = changed = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            f = open_pinned_reader(obj.fetch, obj.fetch(0, None, None), block_size=4096)
            try:
                chunks = []
                for pos in range(size - 4096, -1, -4096):  # backwards: every block is a new pinned fetch
                    f.seek(pos)
                    chunks.append(f.read(4096))
                data = b"".join(reversed(chunks))
                assert len(set(data)) == 1 and len(data) == size, "mixed versions"
                whole += 1
            except ContentChanged:
                changed += 1
            finally:
                f.close()
    finally:
        stop.set()
        t.join()
    assert whole + changed > 0
    assert changed > 0, "the race never happened: the test did not exercise anything"
