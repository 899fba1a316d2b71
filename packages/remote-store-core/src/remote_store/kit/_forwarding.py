"""`ForwardingBackend`: a `Backend` that forwards every call to an inner backend (middleware base)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import IO, Any, cast

from remote_store._backend import AtomicWriter, Backend
from remote_store._capabilities import CapabilitySet
from remote_store._models import FileInfo, FolderEntry, FolderInfo, WriteResult
from remote_store.errors import RemoteStoreError

__all__ = ["ForwardingBackend"]


class ForwardingBackend(Backend):
    """Forwards every `Backend` method and property to ``inner``; middleware overrides what it needs.

    A caching, logging or read-only layer subclasses this and overrides only the calls it
    changes, so a method added to `Backend` later is forwarded instead of silently falling
    back to a portable default built on other calls::

        class ReadOnly(ForwardingBackend):
            @property
            def capabilities(self):
                return self.inner.capabilities - {Capability.WRITE, Capability.DELETE}

    ``options`` is ``{"inner_type": type(inner), "inner_options": inner.options}`` (plus what
    a subclass adds), so the wrapper pickles and compares by configuration like any backend.

    Args:
        inner: The wrapped backend.
        inner_type: With ``inner_options``, build the inner backend instead of passing it
            (used when the wrapper is rebuilt from `options`).
        inner_options: Constructor arguments of ``inner_type``.

    Raises:
        TypeError: Neither ``inner`` nor ``inner_type`` is given.
    """

    def __init__(
        self,
        inner: Backend | None = None,
        *,
        inner_type: type[Backend] | None = None,
        inner_options: Mapping[str, Any] | None = None,
    ) -> None:
        if inner is None:
            if inner_type is None:
                raise TypeError("ForwardingBackend needs inner or inner_type")
            inner = inner_type(**dict(inner_options or {}))
        self._inner = inner

    @property
    def inner(self) -> Backend:
        """The wrapped backend."""
        return self._inner

    # identity
    @property
    def type_name(self) -> str:
        """The inner backend's type name."""
        return self._inner.type_name

    @property
    def capabilities(self) -> CapabilitySet:
        """The inner backend's capabilities."""
        return self._inner.capabilities

    @property
    def options(self) -> dict[str, Any]:
        """``{"inner_type": ..., "inner_options": ...}``: rebuilds this wrapper around an equivalent inner backend."""
        inner = self._inner.unscoped
        return {"inner_type": type(inner), "inner_options": inner.options}

    # store scope
    def scoped(self, prefix: str) -> Backend:
        """This wrapper over the inner backend's `Backend.scoped` view for ``prefix``.

        ``self`` when the inner backend has no view for ``prefix`` (it returns itself, as
        every backend but local does). Otherwise `rescoped` builds the wrapper over the view,
        so a `Store` rooted at ``prefix`` over a middleware keeps the confinement the inner
        backend gives a store rooted there (a local symlink under the root cannot reach a
        sibling folder).
        """
        origin = cast(ForwardingBackend, self.unscoped)
        view = origin._inner.scoped(prefix)
        if view is origin._inner:
            return origin
        return origin.rescoped(view)

    def rescoped(self, inner_view: Backend) -> Backend:
        """Return this wrapper around ``inner_view`` (the inner backend's scoped view); no I/O.

        Default: a shallow copy of this wrapper whose `inner` is ``inner_view`` and whose
        `unscoped` is this wrapper; attributes holding objects (caches, locks, sinks) stay
        shared. Override it when per-view state must differ (a cache must not serve one
        scope's bytes to another) or when the wrapper holds an object bound to the inner
        backend.
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._inner = inner_view
        clone.__dict__["_forwarding_origin"] = self
        return clone

    @property
    def unscoped(self) -> Backend:
        """The wrapper a `scoped` view was made from (``self`` when this is none)."""
        origin: Backend = self.__dict__.get("_forwarding_origin", self)
        return origin

    # required
    def exists(self, key: str) -> bool:
        return self._inner.exists(key)

    def is_folder(self, key: str) -> bool:
        return self._inner.is_folder(key)

    def open_read(self, key: str) -> IO[bytes]:
        return self._inner.open_read(key)

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        return self._inner.write(key, stream, overwrite=overwrite, metadata=metadata)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        self._inner.delete(key, missing_ok=missing_ok)

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        return self._inner.iter_files(prefix, recursive=recursive, max_depth=max_depth)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        return self._inner.iter_folders(prefix)

    def stat(self, key: str) -> FileInfo:
        return self._inner.stat(key)

    # optional
    def is_file(self, key: str) -> bool:
        return self._inner.is_file(key)

    def ping(self) -> None:
        self._inner.ping()

    def close(self) -> None:
        self._inner.close()

    def read_bytes(self, key: str) -> bytes:
        return self._inner.read_bytes(key)

    def open_read_seekable(self, key: str) -> IO[bytes]:
        return self._inner.open_read_seekable(key)

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        return self._inner.write_atomic(key, stream, overwrite=overwrite, metadata=metadata)

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        return self._inner.open_atomic(key, overwrite=overwrite, metadata=metadata)

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        self._inner.delete_folder(key, recursive=recursive)

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        self._inner.move(src, dst, overwrite=overwrite)

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        self._inner.copy(src, dst, overwrite=overwrite)

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        return self._inner.glob(pattern)

    def iter_children(self, prefix: str) -> Iterator[FileInfo | FolderEntry]:
        return self._inner.iter_children(prefix)

    def folder_info(self, key: str) -> FolderInfo:
        return self._inner.folder_info(key)

    def native_path(self, key: str) -> str:
        return self._inner.native_path(key)

    def to_key(self, native: str) -> str:
        return self._inner.to_key(native)

    def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        return self._inner.collect_garbage(prefix, older_than=older_than)

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        return self._inner.translate_error(exc, key)
