"""The store policy shared by `Store` and `remote_store.aio.AsyncStore`.

Everything portable that happens between a caller's path and a backend key lives here,
once: path normalisation and the root prefix, capability gates, ``metadata=`` checks,
``max_depth`` rules, listing filters, glob root escaping, store-relative results, and the
translation of any exception into `remote_store.errors` (with paths made store-relative
and never naming a key above the store root). The functions take the backend (sync or
async — only its ``type_name``, ``capabilities`` and ``translate_error`` are used, all
synchronous) and the store's normalised root, and do no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from remote_store import _path
from remote_store._backend import default_translate, match_name
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._models import FileInfo, FolderEntry, FolderInfo, ResolutionPlan, WriteResult
from remote_store._secret import mask_secrets, mask_url
from remote_store.errors import CapabilityNotSupported, InvalidPath, NotFound, RemoteStoreError

B = TypeVar("B")
S = TypeVar("S")


class PolicyBackend(Protocol):
    """The synchronous surface of a backend the policy needs (`Backend` and `AsyncBackend` both have it)."""

    @property
    def type_name(self) -> str: ...

    @property
    def capabilities(self) -> CapabilitySet: ...

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None: ...


class NamingBackend(PolicyBackend, Protocol):
    """`PolicyBackend` plus the synchronous naming surface (``native_path``, ``options``)."""

    @property
    def options(self) -> dict[str, Any]: ...

    def native_path(self, key: str) -> str: ...


class PolicyStore:
    """The plumbing `Store` and `remote_store.aio.AsyncStore` share over ``_backend`` and ``_root``.

    Subclasses define the slots (``__slots__ = ("_backend", "_root")``) and narrow ``_backend``.
    """

    __slots__ = ()

    _backend: PolicyBackend
    _root: str

    @property
    def root_path(self) -> str:
        """The store's root folder inside the backend (normalised, ``""`` for the backend root)."""
        return self._root

    @property
    def strict_keys(self) -> bool:
        """Whether non-canonical paths are refused (`InvalidPath`) rather than normalised."""
        return isinstance(self._root, StrictRoot)

    @property
    def capabilities(self) -> CapabilitySet:
        """The backend's declared capabilities."""
        return self._backend.capabilities

    def supports(self, capability: Capability) -> bool:
        """Whether the backend declares ``capability``."""
        return capability in self._backend.capabilities

    def _key(self, path: str, *, allow_root: bool = False) -> str:
        return folder_key(self._root, path) if allow_root else file_key(self._root, path)

    def _require(self, cap: Capability, path: str | None = None) -> None:
        require(self._backend, cap, path)


class StrictRoot(str):
    """A store root whose stores refuse non-canonical paths (``strict_keys=True``).

    The flag travels with the root string through every key helper of this module, so
    `Store` and `AsyncStore` check paths the same way without passing it around.
    """

    __slots__ = ()


def store_root(root_path: str, strict_keys: bool) -> str:
    """The normalised root of a store; a `StrictRoot` when ``strict_keys``.

    Raises:
        InvalidPath: ``root_path`` contains ``..`` or NUL.
    """
    root = _path.normalize_path(root_path)
    return StrictRoot(root) if strict_keys else root


def rebuild_store(cls: Callable[..., S], backend: Any, root_path: str, strict_keys: bool) -> S:
    """Unpickle helper of `Store` / `AsyncStore`: ``cls(backend, root_path, strict_keys=...)``."""
    return cls(backend, root_path, strict_keys=strict_keys)


def norm(root: str, path: str, *, allow_root: bool = True, folder: bool | None = None) -> str:
    """``path`` normalised (or, for a strict root, checked canonical) for a store at ``root``.

    Raises:
        InvalidPath: ``path`` is malformed; under ``strict_keys`` also when it is not canonical.
    """
    if isinstance(root, StrictRoot):
        return _path.canonical_path(path, allow_root=allow_root, folder=folder)
    return _path.normalize_path(path, allow_root=allow_root)


def file_key(root: str, path: str) -> str:
    """Backend key of file ``path`` (the root is refused).

    Raises:
        InvalidPath: ``path`` is malformed or the store root.
    """
    return _path.join_key(root, norm(root, path, allow_root=False))


def folder_key(root: str, path: str) -> str:
    """Backend key of folder ``path`` (``""`` gives ``root``).

    Raises:
        InvalidPath: ``path`` is malformed.
    """
    return _path.join_key(root, norm(root, path))


def rel(root: str, key: str) -> str:
    """Store-relative path of backend ``key``.

    Raises:
        InvalidPath: ``key`` lies outside ``root``.
    """
    return _path.strip_root(root, key)


def require(backend: PolicyBackend, cap: Capability, path: str | None = None) -> None:
    """Refuse a call before any I/O when ``backend`` lacks ``cap``.

    Raises:
        CapabilityNotSupported: ``cap`` is not declared (``capability`` = its name).
    """
    if cap not in backend.capabilities:
        raise CapabilityNotSupported(
            f"backend '{backend.type_name}' does not support {cap.name}",
            path=path,
            backend=backend.type_name,
            capability=cap.name,
        )


def translate(backend: PolicyBackend, root: str, exc: Exception, path: str | None) -> RemoteStoreError:
    """Turn any exception from ``backend`` into a `remote_store.errors` instance for the caller.

    Native exceptions go through ``backend.translate_error`` and then the portable mapping;
    the result names the backend, and its path is the caller's store-relative ``path`` (a key
    naming an ancestor of the requested key is replaced so nothing above the root leaks).
    """
    name = backend.type_name
    if isinstance(exc, RemoteStoreError):
        err = exc
    else:
        mapped = None
        try:
            mapped = backend.translate_error(exc, path)
        except Exception:
            mapped = None
        err = mapped if mapped is not None else default_translate(exc, path, name)
    if err.backend is None:
        err.backend = name
    if path is not None and err.path is not None and err.path != path:
        # A backend naming an ancestor folder of the requested key (e.g. "folder not found"
        # for the missing parent of a file) would leak keys above the store root: report
        # the caller's path instead.
        try:
            full = _path.join_key(root, _path.normalize_path(path))
            named = _path.normalize_path(err.path)
            if named != full and _path.is_within(named, full):
                err.path = path
        except InvalidPath:
            pass
    if err.path is not None and err.path != path and _path.is_within(root, err.path) and root:
        try:
            err.path = rel(root, err.path)
        except InvalidPath:
            pass
    elif err.path is None:
        err.path = path
    return err


def check_metadata(backend: PolicyBackend, metadata: Mapping[str, str] | None, path: str) -> dict[str, str]:
    """Validate ``metadata=``; empty/None gives ``{}``.

    Raises:
        CapabilityNotSupported: Non-empty metadata without USER_METADATA.
        TypeError: A key or value is not a str.
    """
    if not metadata:
        return {}
    require(backend, Capability.USER_METADATA, path)
    out: dict[str, str] = {}
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError("metadata keys and values must be str")
        out[k] = v
    return out


def result(root: str, res: WriteResult, metadata: Mapping[str, str]) -> WriteResult:
    """The caller's `WriteResult`: store-relative path, metadata filled in from the request."""
    if not root and (res.metadata or not metadata):
        return res  # already store-relative and complete (frozen: safe to share)
    return WriteResult(
        path=rel(root, res.path),
        size=res.size,
        source=res.source,
        digest=res.digest,
        etag=res.etag,
        version_id=res.version_id,
        last_modified=res.last_modified,
        metadata=res.metadata or metadata,
    )


def info(root: str, fi: FileInfo) -> FileInfo:
    """The caller's `FileInfo`: store-relative path and a filled-in name."""
    if not root and fi.name:
        return fi  # already store-relative and complete (frozen: safe to share)
    relative = rel(root, fi.path)
    return FileInfo(
        path=relative,
        name=fi.name or _path.basename(relative),
        size=fi.size,
        modified_at=fi.modified_at,
        etag=fi.etag,
        version_id=fi.version_id,
        content_type=fi.content_type,
        metadata=fi.metadata,
    )


def folder_entry(root: str, entry: FolderEntry) -> FolderEntry:
    """The caller's `FolderEntry` (store-relative path)."""
    relative = rel(root, entry.path)
    return FolderEntry(path=relative, name=_path.basename(relative))


def folder_result(root: str, fi: FolderInfo) -> FolderInfo:
    """The caller's `FolderInfo` (store-relative path)."""
    return FolderInfo(
        path=rel(root, fi.path), file_count=fi.file_count, total_size=fi.total_size, modified_at=fi.modified_at
    )


def levels(max_depth: int | None, path: str) -> int | None:
    """Translate the public ``max_depth`` (0 = immediate children) into the backend's
    segment count below the prefix (1 = immediate children); None stays None.

    Raises:
        TypeError: ``max_depth`` is not an int.
        InvalidPath: ``max_depth`` is negative.
    """
    if max_depth is None:
        return None
    if isinstance(max_depth, bool) or not isinstance(max_depth, int):
        raise TypeError(f"max_depth must be an int or None, got {type(max_depth).__name__}")
    if max_depth < 0:
        raise InvalidPath(f"max_depth must be >= 0, got {max_depth}", path=path)
    return max_depth + 1


def keep_file(prefix: str, base_depth: int, limit: int | None, pattern: str | None, fi: FileInfo) -> bool:
    """Whether a listed file belongs in `list_files` output (depth limit, below prefix, name pattern)."""
    if limit is not None and _path.depth(fi.path) - base_depth > limit:
        return False
    if not _path.is_within(prefix, fi.path) or fi.path == prefix:
        return False
    return match_name(fi.name or _path.basename(fi.path), pattern)


def keep_folder(key: str, pattern: str | None) -> bool:
    """Whether a listed folder key matches the name ``pattern`` of `list_folders`."""
    return match_name(_path.basename(key), pattern)


def descend(recursive: bool, limit: int | None, level: int) -> bool:
    """Whether `list_folders` descends below a folder found at ``level`` (1 = immediate subfolders)."""
    return recursive and (limit is None or level < limit)


def glob_pattern(root: str, pattern: str) -> str:
    """The backend glob for store pattern ``pattern``: the root with glob characters escaped, joined.

    Raises:
        InvalidPath: ``pattern`` contains ``..`` or NUL.
    """
    escaped = "".join(f"[{c}]" if c in "*?[]" else c for c in root)
    relative = norm(root, pattern)
    return _path.join_key(escaped, relative) if relative else escaped


def keep_glob(root: str, fi: FileInfo) -> bool:
    """Whether a glob hit lies inside the store root."""
    return _path.is_within(root, fi.path) and fi.path != root


def child_root(root: str, subpath: str) -> str:
    """Root of `child` store ``subpath``.

    Raises:
        InvalidPath: ``subpath`` is malformed or the root itself.
    """
    relative = norm(root, subpath)
    if not relative:
        raise InvalidPath("child() needs a subfolder; '' is this store itself", path=subpath)
    joined = _path.join_key(root, relative)
    return StrictRoot(joined) if isinstance(root, StrictRoot) else joined


def older_than_seconds(older_than: object, path: str) -> float:
    """Validate ``collect_garbage(older_than=)``.

    Raises:
        InvalidPath: Not a number of seconds >= 0.
    """
    if isinstance(older_than, bool) or not isinstance(older_than, (int, float)) or not older_than >= 0:
        raise InvalidPath(f"older_than must be a number of seconds >= 0, got {older_than!r}", path=path)
    return float(older_than)


def root_delete_refused(backend: PolicyBackend, path: str) -> InvalidPath:
    """The error for ``delete_folder`` of the store root."""
    return InvalidPath("refusing to delete the store root", path=path, backend=backend.type_name)


def folder_not_file(backend: PolicyBackend, path: str) -> InvalidPath:
    """The error for a folder given where a file is needed."""
    return InvalidPath("is a folder, not a file", path=path, backend=backend.type_name)


def file_not_folder(backend: PolicyBackend, path: str) -> InvalidPath:
    """The error for a file given where a folder is needed."""
    return InvalidPath("is a file, not a folder", path=path, backend=backend.type_name)


def source_missing(backend: PolicyBackend, path: str) -> NotFound:
    """The error for a self move/copy of a missing file."""
    return NotFound("source not found", path=path, backend=backend.type_name)


def empty_folder_info() -> FolderInfo:
    """`get_folder_info` of an empty store root."""
    return FolderInfo(path="", file_count=0, total_size=0, modified_at=None)


def resolution_plan(backend: NamingBackend, root: str, path: str) -> ResolutionPlan:
    """`resolve` of ``path``: how it maps onto ``backend``, secrets masked. No I/O.

    Raises:
        InvalidPath: ``path`` is malformed.
    """
    key = folder_key(root, path)
    return ResolutionPlan(
        backend_type=backend.type_name,
        store_root=root,
        key=key,
        native_path=mask_url(backend.native_path(key)),
        options=mask_secrets(backend.options),
    )


def unwrap(backend: object, type_hint: type[B], type_name: str) -> B:
    """``backend`` if it is an instance of ``type_hint`` (`unwrap`).

    Raises:
        CapabilityNotSupported: It is of another type.
    """
    if isinstance(backend, type_hint):
        return backend
    raise CapabilityNotSupported(f"backend is {type(backend).__name__}, not {type_hint.__name__}", backend=type_name)


def probe_key(root: str, path: str) -> str | None:
    """Backend key for the ``exists``/``is_file``/``is_folder`` probes; None for the store root.

    Raises:
        InvalidPath: ``path`` is malformed.
    """
    relative = norm(root, path, folder=False)
    return _path.join_key(root, relative) if relative else None


def delete_folder_key(backend: PolicyBackend, root: str, path: str) -> str:
    """Backend key for ``delete_folder`` (DELETE gated, the store root refused).

    Raises:
        CapabilityNotSupported: No DELETE.
        InvalidPath: ``path`` is malformed or the store root.
    """
    require(backend, Capability.DELETE, path)
    relative = norm(root, path)
    if not relative:
        raise root_delete_refused(backend, path)
    return _path.join_key(root, relative)


def listing(
    backend: PolicyBackend, root: str, path: str, recursive: bool, max_depth: int | None
) -> tuple[str, bool, int | None]:
    """Checked arguments of ``list_files``/``list_folders``: ``(prefix, recursive, levels)``.

    Raises:
        CapabilityNotSupported: No LIST.
        InvalidPath: ``path`` is malformed, or ``max_depth`` is negative.
        TypeError: ``max_depth`` is not an int.
    """
    require(backend, Capability.LIST, path)
    limit = levels(max_depth, path)
    if limit is not None:
        recursive = True
    return folder_key(root, path), recursive, limit


def children_prefix(backend: PolicyBackend, root: str, path: str) -> str:
    """Backend prefix for ``iter_children`` (LIST gated).

    Raises:
        CapabilityNotSupported: No LIST.
        InvalidPath: ``path`` is malformed.
    """
    require(backend, Capability.LIST, path)
    return folder_key(root, path)


def head_result(fi: FileInfo) -> WriteResult:
    """``head``: the `WriteResult` view of a file's (store-relative) `FileInfo`."""
    return WriteResult(
        path=fi.path,
        size=fi.size,
        etag=fi.etag,
        version_id=fi.version_id,
        last_modified=fi.modified_at,
        metadata=fi.metadata,
    )


def folder_missing(backend: PolicyBackend, path: str) -> NotFound:
    """The error for a depth-limited ``get_folder_info`` of a missing folder."""
    return NotFound("folder not found", path=path, backend=backend.type_name)
