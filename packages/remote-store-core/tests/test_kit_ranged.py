"""`PinnedRangeReader`: ranged reads pinned to the first version; restart or `ContentChanged`."""

from __future__ import annotations

import io
import os
import threading
import time
from typing import Any

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
    f = open_pinned_reader(obj.fetch, obj.fetch(0, None, None), block_size=1024, read_ahead=4096)
    assert f.read(10) == bytes(range(10))
    assert f.read(5000)[:2] == bytes([10, 11])
    assert len(obj.fetches) == 1
    f.seek(20000)  # a short forward seek inside the open body: read and discarded, no request
    assert f.read(3) == bytes([20000 % 256, 20001 % 256, 20002 % 256])
    assert len(obj.fetches) == 1
    f.seek(100)  # backwards: one bounded, pinned GET of the read plus the read-ahead
    assert f.read(3) == bytes([100, 101, 102])
    assert obj.fetches[-1] == (100, 100 + 4096, "v0")
    f.close()


def reader(obj: Versioned, **kw: int) -> PinnedRangeReader:
    return PinnedRangeReader(obj.fetch, obj.fetch(0, None, None), **kw)


def test_a_seek_sends_a_bounded_range_not_an_open_ended_get() -> None:
    data = os.urandom(1 << 20)
    obj = Versioned(data)
    r = reader(obj, read_ahead=3000, skip_limit=0)
    r.seek(500_000)
    assert r.read(2000) == data[500_000:502_000]
    assert obj.fetches[-1] == (500_000, 503_000, "v0")  # a small read fetches read_ahead bytes
    # reads inside the range use the open body
    assert r.read(1000) == data[502_000:503_000]
    assert len(obj.fetches) == 2
    # the range is used up; a read continuing right there is a sequential scan: one
    # open-ended GET streams the rest instead of more windows
    assert r.read(5000) == data[503_000:508_000]
    assert r.read() == data[508_000:]
    assert obj.fetches[-1] == (503_000, None, "v0")
    assert r.requests == len(obj.fetches)
    r.seek(100_000)
    assert r.read(50_000) == data[100_000:150_000]
    assert obj.fetches[-1] == (100_000, 150_000, "v0")  # a large read fetches exactly itself


def test_the_window_is_clipped_at_the_end_of_the_object() -> None:
    data = os.urandom(10_000)
    obj = Versioned(data)
    r = reader(obj, read_ahead=1 << 20, skip_limit=0)
    r.seek(9_000)
    assert r.read(100) == data[9_000:9_100]
    assert obj.fetches[-1] == (9_000, 9_000 + (1 << 20), "v0")
    assert r.read() == data[9_100:]  # the range reached the end: no further request
    assert len(obj.fetches) == 2
    assert r.read(1) == b""


def test_a_head_first_reader_fetches_nothing_until_read() -> None:
    data = os.urandom(200_000)
    obj = Versioned(data)
    r = PinnedRangeReader(obj.fetch, FetchResult(None, len(data), "v0"), read_ahead=0)
    assert obj.fetches == [] and r.requests == 0 and r.size == len(data)
    r.seek(-8, io.SEEK_END)  # a Parquet footer
    assert r.read(8) == data[-8:]
    assert obj.fetches == [(len(data) - 8, len(data), "v0")]
    r.seek(1000)
    assert r.read(50) == data[1000:1050]
    assert obj.fetches[-1] == (1000, 1050, "v0")
    r.close()
    lazy = PinnedRangeReader(obj.fetch, FetchResult(None, len(data), "v0"))
    assert lazy.read() == data  # a whole read from 0: one whole-object GET
    assert obj.fetches[-1] == (0, None, "v0")


def test_a_head_first_reader_restarts_when_replaced_before_its_first_read() -> None:
    obj = Versioned(b"a" * 1000)
    r = PinnedRangeReader(obj.fetch, FetchResult(None, 1000, "v0"))
    obj.replace(b"b" * 300)
    r.seek(100)
    assert r.read() == b"b" * 200
    assert r.etag == "v1" and r.size == 300


def test_random_seeks_and_reads_match_the_content() -> None:
    import random

    rng = random.Random(7)
    data = os.urandom(300_000)
    obj = Versioned(data)
    for block in (1, 4096, 65536):
        f = open_pinned_reader(
            obj.fetch, FetchResult(None, len(data), "v0"), block_size=block, read_ahead=rng.choice([0, 10, 5000])
        )
        for _ in range(300):
            pos = rng.randrange(len(data) + 10)
            n = rng.choice([0, 1, 7, 1000, 70_000])
            f.seek(pos)
            assert f.read(n) == data[pos : pos + n], (block, pos, n)
        f.close()


def test_negative_window_options_are_refused() -> None:
    obj = Versioned(b"x")
    with pytest.raises(ValueError):
        reader(obj, read_ahead=-1)


def test_replaced_after_bytes_were_delivered_raises_content_changed() -> None:
    obj = Versioned(b"a" * 10000)
    r = PinnedRangeReader(obj.fetch, obj.fetch(0, None, None), key="k", skip_limit=0)
    assert r.read(10) == b"a" * 10
    obj.replace(b"b" * 10000)
    r.seek(5000)
    with pytest.raises(ContentChanged) as info:
        r.read(10)
    assert info.value.path == "k"


def test_replaced_before_any_byte_restarts_on_the_new_version() -> None:
    obj = Versioned(b"a" * 10000)
    r = PinnedRangeReader(obj.fetch, obj.fetch(0, None, None), skip_limit=0)
    r.seek(100)
    obj.replace(b"b" * 300)
    assert r.read() == b"b" * 200
    assert r.size == 300 and r.etag == "v1"


def test_a_short_forward_seek_keeps_reading_the_pinned_version() -> None:
    obj = Versioned(b"a" * 10000)
    r = PinnedRangeReader(obj.fetch, obj.fetch(0, None, None), skip_limit=8000)
    assert r.read(10) == b"a" * 10
    obj.replace(b"b" * 10000)
    r.seek(5000)  # served from the open body of version 0: no request, no mix
    assert r.read(10) == b"a" * 10
    assert len(obj.fetches) == 1
    r.seek(9990 + 1)
    r.seek(2)  # backwards: a new pinned request, refused, after delivery
    with pytest.raises(ContentChanged):
        r.read(1)


def test_deleted_before_and_after_delivery() -> None:
    obj = Versioned(b"a" * 1000)
    r = PinnedRangeReader(obj.fetch, obj.fetch(0, None, None), skip_limit=0)
    r.seek(10)
    obj.replace(None)
    with pytest.raises(NotFound):
        r.read(5)
    obj2 = Versioned(b"a" * 1000)
    r2 = PinnedRangeReader(obj2.fetch, obj2.fetch(0, None, None), skip_limit=0)
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


class _CountingBody:
    """A body that hands out one prepared bytes object per read and records readinto calls."""

    def __init__(self, data: bytes, *, with_readinto: bool) -> None:
        self._data = data
        self._pos = 0
        self.readintos = 0
        self.reads: list[bytes] = []
        if with_readinto:
            self.readinto = self._readinto

    def read(self, n: int = -1, /) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        self.reads.append(chunk)
        return chunk

    def _readinto(self, b: Any) -> int:
        self.readintos += 1
        chunk = self._data[self._pos : self._pos + len(b)]
        b[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def close(self) -> None:
        pass


def test_a_whole_body_read_is_handed_over_without_a_copy() -> None:
    data = bytes(range(256)) * 64
    body = _CountingBody(data, with_readinto=False)
    r = PinnedRangeReader(lambda s, e, t: FetchResult(None, 0, None), FetchResult(body, len(data), "v0"))
    got = r.read(1000)
    assert got == data[:1000]
    assert got is body.reads[-1]  # the body's own bytes object, not a copy
    assert r.read(len(data)) == data[1000:]  # short at the end only


def test_buffered_reads_fill_the_callers_buffer_through_readinto() -> None:
    data = bytes(range(256)) * 64
    body = _CountingBody(data, with_readinto=True)
    f = open_pinned_reader(
        lambda s, e, t: FetchResult(None, 0, None), FetchResult(body, len(data), "v0"), block_size=1024
    )
    assert f.read(8192) == data[:8192]
    assert f.read(len(data)) == data[8192:]
    assert body.readintos >= 2 and not body.reads  # never read() and then copied
