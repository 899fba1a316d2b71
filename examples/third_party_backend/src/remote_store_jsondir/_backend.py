"""`JsonDirBackend`: every file is one JSON document in a single local folder."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import secrets
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from remote_store import (
    AlreadyExists,
    Backend,
    Capability,
    CapabilitySet,
    ContentDigest,
    FileInfo,
    InvalidPath,
    NotFound,
    RemoteStoreError,
    WriteResult,
    WriteSource,
)
from remote_store.errors import ConfigError
from remote_store.kit import REQUIRED, Option, OptionTable, to_str


def _folder(name: str, value: Any) -> str:
    text = to_str(name, value)
    if not text:
        raise ConfigError(f"option '{name}': needs a non-empty folder path", path=name)
    return text


#: Option validation from the public kit: unknown options and bad values raise ConfigError.
OPTIONS = OptionTable("jsondir", [Option("root", _folder, REQUIRED, ("path",), doc="folder holding the documents")])

_SUFFIX = ".json"
_TMP_PREFIX = ".tmp-"
_CHUNK = 1024 * 1024


def _doc_name(key: str) -> str:
    return urllib.parse.quote(key, safe="") + _SUFFIX


def _key_of(name: str) -> str | None:
    if name.startswith(_TMP_PREFIX) or not name.endswith(_SUFFIX):
        return None
    return urllib.parse.unquote(name[: -len(_SUFFIX)])


class JsonDirBackend(Backend):
    """Files stored as JSON documents (content base64-encoded) in one flat folder.

    Folders are implicit, as on an object store: a folder exists while a key lies below it.
    Writes go to a temp document and are published with ``os.link`` (create, fails if the
    document exists) or ``os.replace`` (overwrite), so every write is atomic. Content is
    held in memory while it is encoded: this backend is for small files.

    Args:
        root: Folder holding the documents; created on first write.

    Raises:
        ConfigError: ``root`` is empty or not a path (validated by the `OPTIONS` table;
            `ConfigError` is a ``ValueError``).
    """

    TYPE = "jsondir"
    CAPABILITIES = CapabilitySet(
        {
            Capability.READ,
            Capability.WRITE,
            Capability.DELETE,
            Capability.LIST,
            Capability.GLOB,
            Capability.MOVE,
            Capability.COPY,
            Capability.ATOMIC_WRITE,
            Capability.METADATA,
            Capability.USER_METADATA,
            Capability.SEEKABLE_READ,
            Capability.HIERARCHICAL,
        }
    )

    def __init__(self, root: str | os.PathLike[str]) -> None:
        values = OPTIONS.parse({"root": os.fspath(root) if isinstance(root, os.PathLike) else root})
        self._root = os.path.abspath(values["root"])

    @property
    def options(self) -> dict[str, Any]:
        """``{"root": <absolute folder>}``."""
        return {"root": self._root}

    def native_path(self, key: str) -> str:
        """The document file holding ``key``."""
        return os.path.join(self._root, _doc_name(key)) if key else self._root

    def to_key(self, native: str) -> str:
        """Inverse of `native_path`.

        Raises:
            InvalidPath: ``native`` is not a document of this folder.
        """
        folder, name = os.path.split(os.path.abspath(native))
        key = _key_of(name)
        if folder != self._root or key is None:
            raise InvalidPath("not a document of this jsondir backend", path=native)
        return key

    # ------------------------------------------------------------------ helpers
    def _keys(self) -> Iterator[str]:
        try:
            entries = os.scandir(self._root)
        except FileNotFoundError:
            return
        with entries:
            for entry in entries:
                key = _key_of(entry.name)
                if key is not None:
                    yield key

    def _load(self, key: str) -> dict[str, Any]:
        try:
            with open(self.native_path(key), "rb") as f:
                doc: dict[str, Any] = json.load(f)
                return doc
        except FileNotFoundError:
            if self.is_folder(key):
                raise InvalidPath("is a folder, not a file", path=key) from None
            raise NotFound("file not found", path=key) from None

    def _info(self, key: str, doc: Mapping[str, Any]) -> FileInfo:
        return FileInfo(
            path=key,
            name=key.rsplit("/", 1)[-1],
            size=int(doc["size"]),
            modified_at=datetime.fromisoformat(doc["modified"]),
            etag=doc["sha256"],
            metadata=doc.get("metadata", {}),
        )

    # ------------------------------------------------------------------ contract
    def exists(self, key: str) -> bool:
        """Whether a document exists for ``key``."""
        return os.path.isfile(self.native_path(key))

    def is_folder(self, key: str) -> bool:
        """Whether some key lies below ``key`` (the root always is a folder)."""
        if not key:
            return True
        prefix = key + "/"
        return any(k.startswith(prefix) for k in self._keys())

    def open_read(self, key: str) -> IO[bytes]:
        """Decode the document into a seekable in-memory stream.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        return io.BytesIO(self.read_bytes(key))

    def read_bytes(self, key: str) -> bytes:
        """Return the decoded content. Raises as `open_read`."""
        return base64.b64decode(self._load(key)["data"])

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Encode everything readable from ``stream`` and publish it atomically.

        Raises:
            AlreadyExists: ``overwrite`` is False and ``key`` exists.
            InvalidPath: ``key`` is a folder or lies below a file.
        """
        if self.is_folder(key):
            raise InvalidPath("is a folder", path=key)
        parts = key.split("/")
        for i in range(1, len(parts)):
            if self.exists("/".join(parts[:i])):
                raise InvalidPath("a parent of the path is a file", path=key)
        if not overwrite and self.exists(key):
            raise AlreadyExists("file exists", path=key)
        buf = bytearray()
        while chunk := stream.read(_CHUNK):
            buf += chunk
        data = bytes(buf)
        now = datetime.now(UTC)
        digest = hashlib.sha256(data).hexdigest()
        doc = {
            "key": key,
            "size": len(data),
            "modified": now.isoformat(),
            "sha256": digest,
            "metadata": dict(metadata),
            "data": base64.b64encode(data).decode("ascii"),
        }
        os.makedirs(self._root, exist_ok=True)
        tmp = os.path.join(self._root, f"{_TMP_PREFIX}{secrets.token_hex(8)}")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(doc, f)
            if overwrite:
                os.replace(tmp, self.native_path(key))
            else:
                try:
                    os.link(tmp, self.native_path(key))
                except FileExistsError:
                    raise AlreadyExists("file exists", path=key) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return WriteResult(
            path=key,
            size=len(data),
            source=WriteSource.BASIC,
            digest=ContentDigest("sha256", digest),
            etag=digest,
            last_modified=now,
            metadata=dict(metadata),
        )

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """`write` is already atomic (temp document + link/replace)."""
        return self.write(key, stream, overwrite=overwrite, metadata=metadata)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Remove the document.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        try:
            os.unlink(self.native_path(key))
        except FileNotFoundError:
            if self.is_folder(key):
                raise InvalidPath("is a folder, not a file", path=key) from None
            raise NotFound("file not found", path=key) from None

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Scan the folder and yield files below ``prefix`` (direct children unless ``recursive``)."""
        start = prefix + "/" if prefix else ""
        for key in self._keys():
            if not key.startswith(start):
                continue
            if not recursive and "/" in key[len(start) :]:
                continue
            try:
                yield self._info(key, self._load(key))
            except NotFound:
                continue  # deleted while listing

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Yield the direct subfolders of ``prefix``, derived from the keys below it."""
        start = prefix + "/" if prefix else ""
        seen: set[str] = set()
        for key in self._keys():
            rest = key[len(start) :] if key.startswith(start) else None
            if rest and "/" in rest:
                folder = start + rest.split("/", 1)[0]
                if folder not in seen:
                    seen.add(folder)
                    yield folder

    def stat(self, key: str) -> FileInfo:
        """Return the document's size, time, sha256 etag and user metadata.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        return self._info(key, self._load(key))

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """A document that is not valid JSON/base64 becomes a `RemoteStoreError` naming the key."""
        if isinstance(exc, (json.JSONDecodeError, binascii.Error, KeyError)):
            return RemoteStoreError(f"corrupt jsondir document: {type(exc).__name__}", path=key)
        return None
