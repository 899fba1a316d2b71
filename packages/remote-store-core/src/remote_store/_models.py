"""Frozen value objects returned by `Store` methods."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

#: The one read-only empty mapping shared by every model without metadata (most of them).
_EMPTY: Mapping[str, str] = MappingProxyType({})


def _frozen_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if not value:
        return _EMPTY
    return MappingProxyType(dict(value))


class WriteSource(enum.Enum):
    """Where the rich fields of a `WriteResult` came from.

    NATIVE: the service's own write response (etag, version id, checksum).
    BASIC: a stat/head made after the write, or values the client computed itself.
    SIDECAR: an extension (e.g. a client-side hash helper) filled them in.
    """

    NATIVE = "native"
    BASIC = "basic"
    SIDECAR = "sidecar"


@dataclass(frozen=True, slots=True)
class ContentDigest:
    """A content checksum.

    Attributes:
        algorithm: Lower-case algorithm name: ``"md5"``, ``"sha256"``, ``"crc32"``, ``"crc32c"``.
        value: The digest as lower-case hex.
    """

    algorithm: str
    value: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write (or ``head()``) learned about the stored file.

    Attributes:
        path: Store-relative key of the file.
        size: Size in bytes.
        source: Where the optional fields came from (see `WriteSource`).
        digest: Content checksum, when the backend reports one.
        etag: Entity tag as the service returns it (quotes stripped), or None.
        version_id: Object version (S3 versioning, Azure blob versions), or None.
        last_modified: Modification time (timezone-aware UTC), or None.
        metadata: User metadata stored with the file (read-only mapping).
    """

    path: str
    size: int
    source: WriteSource = WriteSource.BASIC
    digest: ContentDigest | None = None
    etag: str | None = None
    version_id: str | None = None
    last_modified: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", _frozen_map(self.metadata))

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_write_result,
            (
                self.path,
                self.size,
                self.source,
                self.digest,
                self.etag,
                self.version_id,
                self.last_modified,
                dict(self.metadata),
            ),
        )


def _rebuild_write_result(*args: Any) -> WriteResult:
    return WriteResult(*args)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """Metadata of one file, as listings and ``get_file_info()`` return it.

    Attributes:
        path: Store-relative key; pass it straight back to any `Store` method.
        name: Last path segment (``"c.txt"`` for ``"a/b/c.txt"``).
        size: Size in bytes.
        modified_at: Last modification time (timezone-aware UTC), or None if unknown.
        etag: Entity tag when the listing or service gives one, else None.
        version_id: Object version id where the service has versions, else None.
        content_type: MIME type where the service stores one, else None.
        metadata: User metadata (read-only mapping; empty when the listing omits it).
    """

    path: str
    name: str
    size: int
    modified_at: datetime | None = None
    etag: str | None = None
    version_id: str | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", _frozen_map(self.metadata))

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_file_info,
            (
                self.path,
                self.name,
                self.size,
                self.modified_at,
                self.etag,
                self.version_id,
                self.content_type,
                dict(self.metadata),
            ),
        )


def _rebuild_file_info(*args: Any) -> FileInfo:
    return FileInfo(*args)


@dataclass(frozen=True, slots=True)
class FolderEntry:
    """A folder seen in a listing (no aggregate numbers; cheap to produce).

    Attributes:
        path: Store-relative folder path without a trailing slash.
        name: Last path segment.
    """

    path: str
    name: str


@dataclass(frozen=True, slots=True)
class FolderInfo:
    """Aggregate metadata of a folder, from ``get_folder_info()``.

    Attributes:
        path: Store-relative folder path ("" for the store root).
        file_count: Number of files below the folder, recursively.
        total_size: Sum of their sizes in bytes.
        modified_at: Latest modification time among those files, or None.
    """

    path: str
    file_count: int
    total_size: int
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ResolutionPlan:
    """How a store key maps onto its backend, from ``Store.resolve()``.

    Attributes:
        backend_type: Registered type name of the backend (``"local"``, ``"s3"`` …).
        store_root: The store's root path inside the backend ("" for the backend root).
        key: The key relative to the backend (store root joined with the path).
        native_path: What the backend itself calls it (a filesystem path, ``s3://bucket/key`` …).
        options: The backend's options with every secret masked.
    """

    backend_type: str
    store_root: str
    key: str
    native_path: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_plan, (self.backend_type, self.store_root, self.key, self.native_path, dict(self.options)))


def _rebuild_plan(*args: Any) -> ResolutionPlan:
    return ResolutionPlan(*args)
