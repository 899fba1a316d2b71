"""The `Backend` ABC: the contract a storage adapter implements.

A backend speaks in *keys*: ``/``-separated, already validated, relative to the
backend's own root (its folder, bucket prefix, container prefix, table prefix…).
`Store` does everything portable before a key reaches the backend — path
validation, the store's ``root_path`` prefix, capability gates, ``metadata=``
gating, self-move, store-relative results, and translation of any exception into
`remote_store.errors` (including exceptions raised later by returned streams and
iterators) — so a backend implements storage, not policy.

Third-party authors subclass `Backend`, set `TYPE` and `CAPABILITIES`, implement
the abstract methods, and run ``remote-store-conformance`` against the class.
"""

from __future__ import annotations

import abc
import errno
import fnmatch
import io
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import IO, Any, ClassVar

from remote_store import _path
from remote_store._capabilities import CapabilitySet
from remote_store._models import FileInfo, FolderEntry, FolderInfo, WriteResult
from remote_store._secret import mask_secrets
from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)

SPOOL_MAX_MEMORY = 8 * 1024 * 1024
"""Bytes kept in memory by the default spooled helpers before they spill to a temp file."""


class AtomicWriter(abc.ABC):
    """A writable binary stream whose content becomes visible only on `commit`.

    `Backend.open_atomic` returns one; `Store.open_atomic` drives it: ``write()``
    calls while the ``with`` block runs, then `commit` on a clean exit or `abort`
    when the block raises. After `abort` no partial file and no temp file remain.
    """

    @abc.abstractmethod
    def write(self, data: bytes) -> int:
        """Append ``data`` (bytes); return the number of bytes taken."""

    @abc.abstractmethod
    def commit(self) -> WriteResult:
        """Publish the content atomically and return what was written (backend key in ``path``)."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Discard everything written; leave the previous file (if any) untouched. Idempotent."""


class SpooledAtomicWriter(AtomicWriter):
    """Portable `AtomicWriter`: spools to memory/temp file, then calls `Backend.write_atomic`.

    Memory use is bounded by `SPOOL_MAX_MEMORY`; larger content spills to a local temp file.
    """

    def __init__(self, backend: Backend, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> None:
        self._backend = backend
        self._key = key
        self._overwrite = overwrite
        self._metadata = dict(metadata)
        import tempfile  # lazily: keeps `import remote_store` cheap

        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # noqa: SIM115

    def write(self, data: bytes) -> int:
        return self._spool.write(data)

    def commit(self) -> WriteResult:
        try:
            self._spool.seek(0)
            return self._backend.write_atomic(
                self._key, self._spool, overwrite=self._overwrite, metadata=self._metadata
            )
        finally:
            self._spool.close()

    def abort(self) -> None:
        self._spool.close()


class BackendIdentity(abc.ABC):
    """What `Backend` and `remote_store.aio.AsyncBackend` share: the synchronous identity
    (`TYPE`, `CAPABILITIES`, `type_name`, `capabilities`, `options`, the default
    `native_path` / `to_key`) and pickling and
    ``repr`` by `options`. Subclass `Backend` or `AsyncBackend`, not this class.
    """

    #: Registered type name (``"local"``, ``"s3"``); shown in errors and `ResolutionPlan`.
    TYPE: ClassVar[str] = ""
    #: Capabilities every instance of the class declares (override `capabilities` for per-instance sets).
    CAPABILITIES: ClassVar[CapabilitySet] = CapabilitySet()

    @property
    def type_name(self) -> str:
        """The backend's type name (`TYPE`, or the class name when unset)."""
        return self.TYPE or type(self).__name__

    @property
    def capabilities(self) -> CapabilitySet:
        """The capabilities of this instance (defaults to the class's `CAPABILITIES`)."""
        return self.CAPABILITIES

    @property
    @abc.abstractmethod
    def options(self) -> dict[str, Any]:
        """Constructor keyword arguments that rebuild an equivalent backend (credentials as `Secret`)."""

    def native_path(self, key: str) -> str:
        """What the service calls ``key`` (a filesystem path, ``s3://bucket/key`` …). Default: ``key``."""
        return key

    def to_key(self, native: str) -> str:
        """Inverse of `native_path`.

        Raises:
            InvalidPath: ``native`` is outside this backend's root.
        """
        return native

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_backend, (type(self), self.options))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in mask_secrets(self.options).items())
        return f"{type(self).__name__}({shown})"


class Backend(BackendIdentity):
    """Base class of every storage backend.

    **Keys.** Every ``key`` argument is a validated, normalised, ``/``-separated key
    relative to this backend's root: no leading or trailing ``/``, no ``..``, no NUL,
    no empty segments. ``""`` is the backend root and is passed only to folder
    operations (listing, `is_folder`, `delete_folder`, `folder_info`). Keys a backend
    returns (in `FileInfo.path`, `WriteResult.path`, listings) use the same form.

    **Folders.** A folder exists when it holds at least one file, or — on backends with
    real directories — when it was created. Writing ``a/b/c.txt`` creates the
    intermediate folders ``a`` and ``a/b`` implicitly. A key cannot name a file and a
    folder at once: writing a file where a folder is, or below a file, raises
    `InvalidPath`.

    **Errors.** Raise `remote_store.errors` classes where the meaning is known
    (`NotFound` for a missing file, `AlreadyExists` when ``overwrite=False`` meets an
    existing file, `InvalidPath` for a wrong node type). Any other exception may be left
    to propagate: `Store` passes it to `translate_error` and then to the portable
    mapping (``OSError`` errno, connection and timeout errors), so no native exception
    reaches the caller. Put native mapping in `translate_error`, in one place.

    **Capabilities.** Declare what the backend supports in `CAPABILITIES`; `Store`
    refuses gated calls before any I/O when a capability is missing, so a method for
    an undeclared capability is never called.

    **Threads and processes.** A backend instance is shared by every `Store` built on
    it and may be used from many threads at once. It must pickle by configuration:
    `__reduce__` rebuilds it from `options` (clients and connections are recreated
    lazily in the new process).

    Subclasses must set `TYPE` and implement: `exists`, `is_folder`, `open_read`,
    `write`, `delete`, `iter_files`, `iter_folders`, `stat`, and `options`.
    Everything else has a portable default built on those.
    """

    # ------------------------------------------------------------------ identity
    # `TYPE`, `CAPABILITIES`, `type_name`, `capabilities`, pickling and repr: `BackendIdentity`.
    @property
    @abc.abstractmethod
    def options(self) -> dict[str, Any]:
        """Constructor keyword arguments that rebuild an equivalent backend.

        Used for pickling (``type(self)(**options)``) and, with secrets masked, for
        `Store.resolve`. Credentials must be `Secret` instances here.
        """

    # ------------------------------------------------------------------ required
    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a *file* exists at ``key`` (False for folders and missing keys)."""

    @abc.abstractmethod
    def is_folder(self, key: str) -> bool:
        """Whether ``key`` is a folder (for object stores: some key starts with ``key + '/'``).

        ``key`` may be ``""`` (the root), which is always a folder.
        """

    @abc.abstractmethod
    def open_read(self, key: str) -> IO[bytes]:
        """Open the file for reading and return a binary stream positioned at 0.

        The stream should be lazy (declare LAZY_READ) and seekable (declare SEEKABLE_READ)
        where the service allows; see `remote_store.RangeReader` for ranged services.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """

    @abc.abstractmethod
    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Store everything readable from ``stream`` (read from its current position) at ``key``.

        Intermediate folders are created as needed. A failure part-way must not leave a
        truncated file in place of an existing one: the previous content stays intact.
        Read ``stream`` in bounded chunks; never require it to be seekable.

        Args:
            key: Target file key (never ``""``).
            stream: Readable binary stream.
            overwrite: When False, raise `AlreadyExists` if a file exists at ``key``
                (use the service's conditional create where it has one).
            metadata: User metadata (empty unless USER_METADATA is declared).

        Returns:
            A `WriteResult` whose ``path`` is ``key`` and ``size`` the bytes stored.

        Raises:
            AlreadyExists: ``overwrite`` is False and a file exists at ``key``.
            InvalidPath: ``key`` is a folder, or a parent of ``key`` is a file.
        """

    @abc.abstractmethod
    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete the file at ``key``.

        Args:
            key: File key (never ``""``).
            missing_ok: The caller does not care whether the file existed. An object store
                should then send its delete call alone (S3 ``DeleteObject`` and Azure
                ``Delete Blob`` succeed or 404 without a prior ``HEAD``); with False it may
                spend one ``HEAD`` to report `NotFound`. Raising `NotFound` anyway is allowed:
                `Store` discards it when ``missing_ok`` is True.

        Raises:
            NotFound: No file at ``key`` and ``missing_ok`` is False.
            InvalidPath: ``key`` is a folder (on HIERARCHICAL backends).
        """

    @abc.abstractmethod
    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Yield the files below folder ``prefix`` (``""`` for the root), lazily.

        ``FileInfo.path`` holds backend keys. With ``recursive`` False yield only direct
        children. ``max_depth`` (segments below ``prefix``, 1 = direct children) is a hint
        the backend may use to prune; `Store` filters by depth anyway. Note that it counts
        differently from the public ``Store.list_files(max_depth=N)`` (0 = direct children):
        `Store` passes ``N + 1`` here. A missing prefix, or
        a prefix that is a file, yields nothing. Order is unspecified. Stream pages; never
        materialise the whole listing.
        """

    @abc.abstractmethod
    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Yield the keys of the direct subfolders of folder ``prefix``, lazily (nothing if missing)."""

    @abc.abstractmethod
    def stat(self, key: str) -> FileInfo:
        """Return the metadata of the file at ``key`` (``path`` = ``key``).

        Raises:
            NotFound: No file at ``key``. For a folder, raising NotFound is fine: `Store`
                then spends one `is_folder` probe (on this error path only) and reports
                `InvalidPath`; the same holds for `move`, `copy` and `folder_info`.
        """

    # ------------------------------------------------------------------ optional, portable defaults
    def is_file(self, key: str) -> bool:
        """Whether ``key`` is a file. Defaults to `exists`."""
        return self.exists(key)

    def ping(self) -> None:
        """Check the service is reachable (e.g. S3 ``HeadBucket``).

        Raises:
            BackendUnavailable: The service cannot be reached or refuses the credentials.
        """
        self.is_folder("")

    def close(self) -> None:
        """Release clients, connections and pools. Idempotent; a later call may reconnect lazily."""
        return None

    # ------------------------------------------------------------------ store scope
    def scoped(self, prefix: str) -> Backend:
        """Return the backend a `Store` rooted at folder ``prefix`` does its I/O through.

        `Store` calls this once in its constructor with its normalised ``root_path``
        (``""`` for the backend root) and sends every call, still with full backend keys,
        to what it returns. A backend whose links could lead from one folder into another
        (local symlinks) returns a view that resolves keys below ``prefix`` beneath
        ``prefix`` itself, so a link under a store's root can never reach a sibling folder
        of the same backend. The view must answer `unscoped` with this backend, be cheap
        to build (no I/O; any folder it needs is opened or created lazily) and accept keys
        outside ``prefix`` with this backend's own semantics.

        Default: ``self`` (keys are plain strings; the store's lexical scope is the scope).

        Args:
            prefix: Normalised backend key of the store's root folder; ``""`` = the backend root.
        """
        return self

    @property
    def unscoped(self) -> Backend:
        """The backend a `scoped` view was made from (``self`` for a backend that is no view)."""
        return self

    def read_bytes(self, key: str) -> bytes:
        """Return the whole file. Default: `open_read` and read to the end."""
        with self.open_read(key) as stream:
            return stream.read()

    def open_read_seekable(self, key: str) -> IO[bytes]:
        """Return a seekable stream. Default: `open_read` if it is seekable, else spool a copy.

        The spool keeps up to `SPOOL_MAX_MEMORY` bytes in memory and spills to a temp file.
        """
        stream = self.open_read(key)
        if stream.seekable():
            return stream
        import shutil
        import tempfile

        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # noqa: SIM115
        try:
            with stream:
                shutil.copyfileobj(stream, spool, 1024 * 1024)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Like `write`, but no reader ever sees a partial file and a failure leaves nothing behind.

        Default: `write`, which is correct for services whose single-object writes are
        already all-or-nothing (S3 PUT / completed multipart, Azure block list commit).
        Backends whose `write` is not atomic must override this (temp + rename).
        """
        return self.write(key, stream, overwrite=overwrite, metadata=metadata)

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        """Return an `AtomicWriter` for streaming atomic writes. Default: `SpooledAtomicWriter`."""
        return SpooledAtomicWriter(self, key, overwrite=overwrite, metadata=metadata)

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """Delete the folder ``key`` (never ``""``: `Store` refuses the root).

        Default: with ``recursive``, delete every file below it; without, succeed only if it
        holds nothing (object stores have no empty folders, so this is then a no-op).

        Raises:
            NotFound: ``key`` is not a folder.
            DirectoryNotEmpty: ``recursive`` is False and the folder holds entries.
            InvalidPath: ``key`` is a file.
        """
        if not self.is_folder(key):
            if self.exists(key):
                raise InvalidPath("not a folder", path=key)
            raise NotFound("folder not found", path=key)
        if not recursive:
            for _ in self.iter_children(key):
                raise DirectoryNotEmpty("folder is not empty", path=key)
            return
        for info in list(self.iter_files(key, recursive=True)):
            self.delete(info.path, missing_ok=True)

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Move a file. Default: `copy` then `delete` (declare ATOMIC_MOVE only for a real rename).

        `Store` has already handled ``src == dst``.

        Raises:
            NotFound: ``src`` does not exist.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        self.copy(src, dst, overwrite=overwrite)
        self.delete(src)

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Copy a file. Default: stream `open_read` into `write_atomic` (use server-side copy where there is one).

        Raises:
            NotFound: ``src`` does not exist.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        info = self.stat(src)
        if not overwrite and self.exists(dst):
            raise AlreadyExists("destination exists", path=dst)
        with self.open_read(src) as stream:
            self.write_atomic(dst, stream, overwrite=overwrite, metadata=dict(info.metadata))

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """Yield files whose key matches ``pattern`` (``*`` within a segment, ``**`` any
        number of segments, ``?`` one character, ``[abc]`` a class).

        Default: list recursively from the pattern's literal leading folder and match
        client side. Native implementations should push that literal prefix to the service.
        """
        regex = compile_glob(pattern)
        base = glob_base(pattern)
        rest = pattern.strip("/").count("/") - (base.count("/") + 1 if base else 0)
        recursive = "**" in pattern or rest > 0
        for info in self.iter_files(base, recursive=recursive):
            if regex.fullmatch(info.path):
                yield info

    def iter_children(self, prefix: str) -> Iterator[FileInfo | FolderEntry]:
        """Yield direct subfolders (`FolderEntry`) then files (`FileInfo`) of ``prefix``."""
        for folder in self.iter_folders(prefix):
            yield FolderEntry(path=folder, name=_path.basename(folder))
        yield from self.iter_files(prefix, recursive=False)

    def folder_info(self, key: str) -> FolderInfo:
        """Aggregate file count, total bytes and newest modification time below ``key``.

        Raises:
            NotFound: ``key`` is not a folder.
        """
        if not self.is_folder(key):
            raise NotFound("folder not found", path=key)
        tally = FolderTally()
        for info in self.iter_files(key, recursive=True):
            tally.add(info)
        return tally.result(key)

    def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        """Remove this backend's own leftovers (temp files of killed atomic writers) below ``prefix``.

        Backends that publish through temp files (local, SFTP) name them recognisably and
        override this; the default has nothing to collect.

        Args:
            prefix: Folder key to sweep (``""`` = the backend root), recursively.
            older_than: Only remove leftovers whose modification time is more than this many
                seconds in the past (a live writer's temp file is younger).

        Returns:
            How many leftovers were removed.
        """
        return 0

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """Map a native exception to a `remote_store.errors` class, or return None.

        Called by `Store` for every non-remote-store exception raised by this backend,
        including from streams and iterators it returned. Return None to fall back to the
        portable mapping (``OSError`` errno, ``ConnectionError``, ``TimeoutError``).
        Never put credentials in the message.
        """
        return None

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _rebuild_backend(cls: type[BackendIdentity], options: dict[str, Any]) -> Any:
    return cls(**options)


# ---------------------------------------------------------------------- portable helpers
_ERRNO_MAP: dict[int, type[RemoteStoreError]] = {
    errno.ENOENT: NotFound,
    errno.EEXIST: AlreadyExists,
    errno.EACCES: PermissionDenied,
    errno.EPERM: PermissionDenied,
    errno.EROFS: PermissionDenied,
    errno.ENOTEMPTY: DirectoryNotEmpty,
    errno.EISDIR: InvalidPath,
    errno.ENOTDIR: InvalidPath,
    errno.ENAMETOOLONG: InvalidPath,
    errno.EINVAL: InvalidPath,
    errno.ELOOP: InvalidPath,
    errno.ECONNREFUSED: BackendUnavailable,
    errno.ECONNRESET: BackendUnavailable,
    errno.ETIMEDOUT: BackendUnavailable,
    errno.EHOSTUNREACH: BackendUnavailable,
    errno.ENETUNREACH: BackendUnavailable,
}


class FolderTally:
    """Sums the files of a depth-limited ````folder_info`` / ``get_folder_info```` as they are listed."""

    __slots__ = ("count", "newest", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self.newest: datetime | None = None

    def add(self, fi: FileInfo) -> None:
        """Count ``fi``: one more file, its size, and its time if it is the newest."""
        self.count += 1
        self.total += fi.size
        if fi.modified_at is not None and (self.newest is None or fi.modified_at > self.newest):
            self.newest = fi.modified_at

    def result(self, key: str) -> FolderInfo:
        """The backend-keyed `FolderInfo` of folder ``key``."""
        return FolderInfo(path=key, file_count=self.count, total_size=self.total, modified_at=self.newest)


def default_translate(exc: Exception, key: str | None, backend: str | None) -> RemoteStoreError:
    """The portable mapping: ``OSError`` errno, connection/timeout errors, else `RemoteStoreError`."""
    name = type(exc).__name__
    if isinstance(exc, RemoteStoreError):
        return exc
    # socket.timeout is TimeoutError; socket.gaierror can only exist once socket is imported.
    sock = sys.modules.get("socket")
    if isinstance(exc, (ConnectionError, TimeoutError)) or (sock is not None and isinstance(exc, sock.gaierror)):
        return BackendUnavailable(f"backend unreachable: {name}: {exc}", path=key, backend=backend)
    if isinstance(exc, OSError) and exc.errno in _ERRNO_MAP:
        cls = _ERRNO_MAP[exc.errno]
        text = exc.strerror or name
        return cls(text, path=key, backend=backend)
    if isinstance(exc, OSError):
        return RemoteStoreError(f"{name}: {exc.strerror or exc}", path=key, backend=backend)
    return RemoteStoreError(f"unexpected backend error: {name}: {exc}", path=key, backend=backend)


def glob_base(pattern: str) -> str:
    """The literal folder prefix of a glob pattern (``"a/b"`` for ``"a/b/*.txt"``)."""
    parts = [s for s in pattern.strip("/").split("/") if s not in ("", ".")]
    literal: list[str] = []
    for part in parts[:-1]:
        if any(ch in part for ch in "*?["):
            break
        literal.append(part)
    return "/".join(literal)


def _segment_regex(seg: str) -> str:
    out: list[str] = []
    i, n = 0, len(seg)
    while i < n:
        ch = seg[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            j = i + 1
            if j < n and seg[j] in "!^":
                j += 1
            if j < n and seg[j] == "]":
                j += 1
            while j < n and seg[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(ch))
            else:
                body = seg[i + 1 : j]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("[", "\\[")
                out.append(("[^/" if negate else "[") + body + "]")
                i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile a glob to a regex over whole keys: ``*`` and ``?`` stay inside one segment,
    ``**`` spans any number of segments (including none), ``[abc]`` / ``[!abc]`` classes."""
    out: list[str] = []
    segments = [s for s in pattern.strip("/").split("/") if s not in ("", ".")]
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(_segment_regex(seg))
        if not last:
            out.append("/")
    return re.compile("".join(out), re.DOTALL)


def match_name(name: str, pattern: str | None) -> bool:
    """fnmatch ``name`` (a basename) against ``pattern``, case-sensitively; None matches all."""
    return pattern is None or fnmatch.fnmatchcase(name, pattern)


def read_stream_fully(stream: IO[bytes]) -> bytes:
    """Read a stream to its end in 1 MiB chunks (helper for backends holding bytes in memory)."""
    import shutil

    buf = io.BytesIO()
    shutil.copyfileobj(stream, buf, 1024 * 1024)
    return buf.getvalue()
