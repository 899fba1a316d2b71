"""`RangeReader`: a short fetch is not end of file; an empty one before the end is a changed object."""

from __future__ import annotations

from typing import IO

import pytest

from remote_store import Store
from remote_store.backends import MemoryBackend
from remote_store.errors import ContentChanged
from remote_store.kit import RangeReader, open_range_reader

DATA = bytes(range(256)) * 3907  # 1,000,192 bytes
CAP = 64 * 1024


def capped_fetch(data: bytes, cap: int = CAP, calls: list[tuple[int, int]] | None = None):  # type: ignore[no-untyped-def]
    def fetch(start: int, length: int) -> bytes:
        if calls is not None:
            calls.append((start, length))
        return data[start : start + min(length, cap)]

    return fetch


class CappedRangeBackend(MemoryBackend):
    """A memory backend whose reads go through ranged fetches capped at 64 KiB, as a service
    answering a large Range request with a partial one would."""

    def open_read(self, key: str) -> IO[bytes]:
        data = super().read_bytes(key)
        return open_range_reader(capped_fetch(data), len(data))

    def read_bytes(self, key: str) -> bytes:
        with self.open_read(key) as f:
            return f.read()


def test_store_read_bytes_returns_the_whole_file_through_capped_fetches() -> None:
    store = Store(CappedRangeBackend())
    store.write("big.bin", DATA)
    assert store.read_bytes("big.bin") == DATA
    with store.read("big.bin") as f:
        f.seek(999_000)
        assert f.read(5_000) == DATA[999_000:]


def test_readall_loops_until_the_size_is_reached() -> None:
    calls: list[tuple[int, int]] = []
    reader = RangeReader(capped_fetch(DATA, calls=calls), len(DATA))
    assert reader.readall() == DATA
    assert len(calls) == -(-len(DATA) // CAP)
    assert reader.readall() == b""


def test_readinto_fills_the_buffer_across_short_fetches() -> None:
    reader = RangeReader(capped_fetch(DATA, cap=1000), len(DATA))
    reader.seek(10)
    buf = bytearray(5000)
    assert reader.readinto(buf) == 5000
    assert bytes(buf) == DATA[10:5010]


def test_an_object_that_shrank_raises_content_changed() -> None:
    reader = RangeReader(capped_fetch(DATA[:500_000]), len(DATA))
    with pytest.raises(ContentChanged, match="ended at byte 500000"):
        reader.readall()


def test_a_fetch_answering_more_than_asked_is_clamped() -> None:
    reader = RangeReader(lambda start, length: DATA[start:], len(DATA))
    buf = bytearray(10)
    assert reader.readinto(buf) == 10 and bytes(buf) == DATA[:10]
    assert reader.tell() == 10
