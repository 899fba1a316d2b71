"""Helpers of `remote_store_ext.path`: path joining, ``"name:path"`` / URL parsing, and the file
objects of `StorePath.open` (a write handle that publishes on close and aborts on error)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from remote_store import AtomicWriteHandle, Capability, Store
from remote_store.errors import InvalidPath

#: Bytes a non-atomic write keeps in memory before spooling to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024


class _Aborted(Exception):
    """Thrown into ``open_atomic`` to discard the write."""


class StoreWriter(io.RawIOBase):
    """Binary write handle: the file appears when it is closed; ``__exit__`` with an error
    discards it, leaving any previous file intact.

    With ``ATOMIC_WRITE`` the bytes stream through `Store.open_atomic`; otherwise they are
    spooled (memory up to `SPOOL_BYTES`, then a temporary file) and written with one
    `Store.write` on close.
    """

    def __init__(self, store: Store, path: str) -> None:
        super().__init__()
        self._store = store
        self._path = path
        self._cm: AbstractContextManager[AtomicWriteHandle] | None = None
        self._handle: AtomicWriteHandle | None = None
        self._spool: Any = None
        if store.supports(Capability.ATOMIC_WRITE):
            self._cm = store.open_atomic(path, overwrite=True)
            self._handle = self._cm.__enter__()
        else:
            self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed in close/abort)

    def writable(self) -> bool:
        """Always True."""
        return True

    def write(self, data: Any) -> int:
        """Write bytes-like ``data``; returns its length in bytes."""
        if self.closed:
            raise ValueError("write to a closed file")
        if self._handle is not None:
            return int(self._handle.write(data))
        return int(self._spool.write(data))

    def abort(self) -> None:
        """Discard everything written and close; no file is published."""
        if self.closed:
            return
        try:
            if self._cm is not None:
                try:
                    self._cm.__exit__(_Aborted, _Aborted("write aborted"), None)
                except _Aborted:
                    pass
            elif self._spool is not None:
                self._spool.close()
        finally:
            super().close()

    def close(self) -> None:
        """Publish the file (commit the atomic write, or write the spooled bytes) and close.

        Raises:
            RemoteStoreError: The store refused the write (the file is not published).
        """
        if self.closed:
            return
        try:
            if self._cm is not None:
                self._cm.__exit__(None, None, None)
            else:
                self._spool.seek(0)
                self._store.write(self._path, self._spool, overwrite=True)
                self._spool.close()
        finally:
            super().close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


class TextWriter(io.TextIOWrapper):
    """Text layer over a `StoreWriter`: closing publishes, leaving a ``with`` block by an error discards."""

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            raw = self.buffer.raw if isinstance(self.buffer, io.BufferedWriter) else self.buffer
            if isinstance(raw, StoreWriter):
                raw.abort()
            try:
                self.close()
            except ValueError:  # the buffer cannot flush into the aborted writer
                pass
            return
        self.close()


def join_parts(*parts: str) -> str:
    """Join path segments with ``/``, dropping empty and ``.`` segments; a segment starting with ``/``
    restarts at the root.

    Raises:
        InvalidPath: A segment is ``..``, holds NUL, or is not a str.
    """
    out: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise InvalidPath(f"path segments are str, got {type(part).__name__}", path=repr(part))
        if part.startswith("/"):
            out = []  # like pathlib: an absolute segment restarts at the root
        for seg in part.split("/"):
            if seg in ("", "."):
                continue
            if seg == ".." or "\x00" in seg:
                raise InvalidPath("StorePath segments may not be '..' or contain NUL", path=part)
            out.append(seg)
    return "/".join(out)


def open_spec(spec: str) -> tuple[Store, str, str]:
    """``"name:path"`` or a URL → (store, store-relative path, label for ``str()``).

    Raises:
        InvalidPath: No store name before ``:``. ConfigKeyError / ConfigError: as `remote_store.open_store`.
    """
    from remote_store import open_store

    if "://" in spec:
        scheme, _, rest = spec.partition("://")
        netloc, slash, tail = rest.partition("/")
        if not tail or tail.endswith("/"):
            base, name = tail.rstrip("/"), ""
        else:
            base, _, name = tail.rpartition("/")
        url = f"{scheme}://{netloc}{slash}{base}"
        return open_store(url), name, url.rstrip("/")
    name, _, path = spec.partition(":")
    if not name:
        raise InvalidPath("StorePath spec needs a store name before ':'", path=spec)
    return open_store(name), path, name + ":"


def prefix_ends(rel: str) -> Iterator[int]:
    """End offsets of each leading run of segments of ``rel`` (``"a/b"`` → 1, 3)."""
    for i, ch in enumerate(rel):
        if ch == "/":
            yield i
    yield len(rel)
