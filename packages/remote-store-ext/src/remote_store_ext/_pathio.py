"""File objects for `StorePath.open`: a write handle that publishes on close and aborts on error."""

from __future__ import annotations

import io
import tempfile
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from remote_store import AtomicWriteHandle, Capability, Store

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
