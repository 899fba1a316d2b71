"""Reads of a `FlatKeyBackend`: `PinnedRangeReader` streams over its ``get_object`` primitive."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from remote_store._models import FileInfo
from remote_store.kit._ranged import Fetch, FetchResult, PinnedRangeReader, open_pinned_reader

if TYPE_CHECKING:
    from remote_store.kit._flat import FlatKeyBackend

__all__ = ["open_pinned", "open_seekable"]


def _fetcher(backend: FlatKeyBackend, key: str) -> Fetch:
    name = backend.object_key(key)

    def fetch(start: int, end: int | None, etag: str | None) -> FetchResult:
        return backend.get_object(name, start, end, if_match=etag)

    return fetch


def open_pinned(backend: FlatKeyBackend, key: str, first: FetchResult) -> IO[bytes]:
    """A buffered stream that reads ``first`` (an open GET of ``key``) sequentially; a seek
    sends a ranged GET pinned to its etag."""
    block = backend._read_block_size
    return open_pinned_reader(_fetcher(backend, key), first, key=key, block_size=block, read_ahead=block)


def open_seekable(backend: FlatKeyBackend, key: str, info: FileInfo) -> IO[bytes]:
    """An unbuffered `PinnedRangeReader` of ``key`` (whose ``head`` gave ``info``): nothing is
    fetched until read; each read is one ranged GET of at least ``read_block_size`` bytes."""
    # Unbuffered: a random-access caller's read(n) becomes one GET of exactly n bytes
    # (at least read_block_size), not a buffer-sized GET plus a second one for the tail.
    return PinnedRangeReader(  # type: ignore[return-value]
        _fetcher(backend, key),
        FetchResult(None, info.size, backend.pin_token(info)),
        key=key,
        read_ahead=backend._read_block_size,
    )
