"""`StorePath`: a `pathlib`-style path over any Store.

::

    from remote_store_ext.path import StorePath

    p = StorePath(store, "reports") / "2026" / "x.csv"
    p.write_text("a,b\\n1,2\\n")
    p.suffix, p.stem, p.parent          # ".csv", "x", StorePath(store, 'reports/2026')
    [c.name for c in p.parent.iterdir()]
    df = p.load()                        # through the DataStore codecs
    StorePath("reports:2026/x.csv")      # a store name from config (remote_store.open_store)
    StorePath("s3://bucket/2026/x.csv")  # or a URL

Paths are store-relative, ``/``-separated and never leave the store root (``..`` raises
`InvalidPath`). Folders exist when a file lies below them (object stores) or on disk (local).
Errors are `remote_store.errors` classes: `NotFound` where ``pathlib`` raises
``FileNotFoundError``, `InvalidPath` (a ``ValueError``) for a bad path or the wrong kind of node.
Available as ``remote_store.ext.path``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from remote_store import FileInfo, Store
from remote_store.errors import InvalidPath, NotFound
from remote_store_ext._codecs import CodecRegistry
from remote_store_ext._globmatch import compile_pattern, segments
from remote_store_ext._pathdirs import make_folder, remove_folder
from remote_store_ext._pathio import StoreWriter, TextWriter, join_parts, open_spec, prefix_ends
from remote_store_ext.datastore import load_value, save_value, write_bytes

__all__ = ["StorePath", "StoreStat"]


@dataclass(frozen=True, slots=True)
class StoreStat:
    """What `StorePath.stat` returns: the ``os.stat_result`` fields a store can give.

    Attributes:
        st_size: Size in bytes (0 for a folder).
        st_mtime: Modification time in seconds since the epoch, or None if the store keeps none.
        is_dir: Whether the path is a folder.
        etag: The file's entity tag where the store gives one.
        info: The file's full `FileInfo` (None for a folder).
    """

    st_size: int
    st_mtime: float | None
    is_dir: bool = False
    etag: str | None = None
    info: FileInfo | None = None


class StorePath:
    """A path in a `Store`, with the `pathlib.Path` operations that make sense there.

    Args:
        target: A `Store`; a `StorePath` (its store, joined with ``parts``); or a string:
            ``"name:path"`` opens store ``name`` from the config sources and a URL
            (``"s3://bucket/a/x.csv"``) opens the URL's folder, both with
            `remote_store.open_store`. A store opened from a string belongs to the caller:
            close it with ``p.store.close()``.
        *parts: Path segments below the store root, joined with ``/``.

    Raises:
        InvalidPath: A segment is ``..``, holds NUL, or is not a str.
        ConfigKeyError: ``"name:path"`` names no configured store.
        ConfigError: The URL's scheme has no installed backend.
    """

    __slots__ = ("_label", "_path", "_store")
    _store: Store
    _path: str
    _label: str

    def __init__(self, target: Store | StorePath | str, *parts: str) -> None:
        if isinstance(target, StorePath):
            store, base, label = target._store, target._path, target._label
        elif isinstance(target, Store):
            store, base, label = target, "", ""
        elif isinstance(target, str):
            store, base, label = open_spec(target)
        else:
            raise InvalidPath(f"StorePath needs a Store, StorePath or str, got {type(target).__name__}")
        self._store = store
        self._path = join_parts(base, *parts)
        self._label = label

    def _new(self, path: str) -> StorePath:
        new = object.__new__(StorePath)
        new._store, new._path, new._label = self._store, path, self._label
        return new

    # ------------------------------------------------------------------ pure path
    @property
    def store(self) -> Store:
        """The store the path lives in."""
        return self._store

    @property
    def path(self) -> str:
        """The store-relative path (``""`` for the store root)."""
        return self._path

    @property
    def parts(self) -> tuple[str, ...]:
        """The path's segments."""
        return tuple(self._path.split("/")) if self._path else ()

    @property
    def name(self) -> str:
        """The final segment (``""`` for the root)."""
        return self._path.rpartition("/")[2]

    @property
    def suffix(self) -> str:
        """The final segment's last extension with its dot (``".gz"``), or ``""``; as pathlib."""
        name = self.name
        i = name.rfind(".")
        return name[i:] if 0 < i < len(name) - 1 else ""

    @property
    def suffixes(self) -> list[str]:
        """All extensions of the final segment (``[".tar", ".gz"]``); as pathlib."""
        name = self.name
        if name.endswith("."):
            return []
        name = name.lstrip(".")
        return ["." + s for s in name.split(".")[1:]]

    @property
    def stem(self) -> str:
        """The final segment without its `suffix`."""
        suffix = self.suffix
        return self.name[: len(self.name) - len(suffix)] if suffix else self.name

    @property
    def parent(self) -> StorePath:
        """The containing folder (the root is its own parent)."""
        return self._new(self._path.rpartition("/")[0])

    @property
    def parents(self) -> tuple[StorePath, ...]:
        """Every ancestor, nearest first, ending with the root."""
        out: list[StorePath] = []
        path = self._path
        while path:
            path = path.rpartition("/")[0]
            out.append(self._new(path))
        return tuple(out)

    def joinpath(self, *parts: str) -> StorePath:
        """This path joined with ``parts`` (a segment starting with ``/`` restarts at the store root).

        Raises:
            InvalidPath: A segment is ``..`` or holds NUL.
        """
        return self._new(join_parts(self._path, *parts))

    def __truediv__(self, other: str) -> StorePath:
        """``p / "child"``; see `joinpath`."""
        if not isinstance(other, str):
            return NotImplemented
        return self.joinpath(other)

    def with_name(self, name: str) -> StorePath:
        """The path with its final segment replaced.

        Raises:
            InvalidPath: This is the root, or ``name`` is empty, ``.``/``..`` or contains ``/``.
        """
        if not self._path:
            raise InvalidPath("the store root has no name to replace", path="")
        if not name or "/" in name or name in (".", ".."):
            raise InvalidPath(f"invalid name {name!r}", path=self._path)
        return self.parent / name

    def with_stem(self, stem: str) -> StorePath:
        """The path with its `stem` replaced (the suffix kept). Raises as `with_name`."""
        return self.with_name(stem + self.suffix)

    def with_suffix(self, suffix: str) -> StorePath:
        """The path with its `suffix` replaced (``""`` removes it), as pathlib.

        Raises:
            InvalidPath: ``suffix`` is not ``""`` and does not start with ``.`` (or is just
                ``.``, or contains ``/``), or this is the root.
        """
        if suffix and (not suffix.startswith(".") or suffix == "." or "/" in suffix):
            raise InvalidPath(f"invalid suffix {suffix!r}", path=self._path)
        if not self._path:
            raise InvalidPath("the store root has no name", path="")
        return self.with_name(self.stem + suffix)

    def relative_to(self, other: StorePath | str) -> str:
        """This path relative to ``other`` (a `StorePath` in the same store or a store-relative str).

        Raises:
            InvalidPath: This path is not below ``other``.
        """
        base = other._path if isinstance(other, StorePath) else join_parts(other)
        if not base:
            return self._path
        if self._path == base:
            return ""
        if not self._path.startswith(base + "/"):
            raise InvalidPath(f"{self._path!r} is not below {base!r}", path=self._path)
        return self._path[len(base) + 1 :]

    def as_posix(self) -> str:
        """The store-relative path as a str (same as `path`)."""
        return self._path

    def __str__(self) -> str:
        if self._label.endswith(":"):
            return self._label + self._path
        if self._label:
            return f"{self._label}/{self._path}" if self._path else self._label
        return self._path

    def __repr__(self) -> str:
        return f"StorePath({self._store!r}, {self._path!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StorePath) and other._store == self._store and other._path == self._path

    def __hash__(self) -> int:
        return hash((self._store, self._path))

    def __lt__(self, other: StorePath) -> bool:
        if not isinstance(other, StorePath):
            return NotImplemented
        return self.parts < other.parts

    # ------------------------------------------------------------------ queries
    def exists(self) -> bool:
        """Whether a file or folder is at this path (the root always exists).

        Raises:
            BackendUnavailable: The service cannot be reached.
        """
        return not self._path or self._store.is_file(self._path) or self._store.is_folder(self._path)

    def is_file(self) -> bool:
        """Whether this path is a file (`Store.is_file`)."""
        return bool(self._path) and self._store.is_file(self._path)

    def is_dir(self) -> bool:
        """Whether this path is a folder (`Store.is_folder`; True for the root)."""
        return self._store.is_folder(self._path)

    def stat(self) -> StoreStat:
        """Size and modification time (`Store.get_file_info`; for a folder, ``st_size=0``).

        Raises:
            NotFound: Nothing is at this path.
            CapabilityNotSupported: The store has no METADATA.
        """
        if not self._path:
            return StoreStat(0, None, is_dir=True)
        try:
            info = self._store.get_file_info(self._path)
        except InvalidPath:
            if self._store.is_folder(self._path):
                return StoreStat(0, None, is_dir=True)
            raise
        mtime = info.modified_at.timestamp() if info.modified_at is not None else None
        return StoreStat(info.size, mtime, etag=info.etag, info=info)

    def iterdir(self) -> Iterator[StorePath]:
        """Yield the direct children (files and folders), as `Store.iter_children` lists them.

        Raises:
            NotFound: Nothing is at this path.
            InvalidPath: This path is a file.
        """
        if not self.is_dir():
            if self.is_file():
                raise InvalidPath("not a folder", path=self._path, backend=self._store.backend.type_name)
            raise NotFound("folder not found", path=self._path, backend=self._store.backend.type_name)
        for entry in self._store.iter_children(self._path):
            yield self._new(entry.path)

    def glob(self, pattern: str) -> Iterator[StorePath]:
        """Yield files and folders below this path matching ``pattern`` (relative to it).

        ``*`` matches within a segment, ``?`` one character, ``[abc]`` a class, ``**`` any
        number of folders; a pattern ending in ``**`` yields folders only (this one included),
        as pathlib does on Python 3.11 and 3.12. One recursive file listing plus one folder listing (LIST).

        Raises:
            InvalidPath: ``pattern`` is empty, absolute, or has ``..`` / a malformed class.
            CapabilityNotSupported: The store has no LIST.
        """
        if not isinstance(pattern, str) or not segments(pattern) or pattern.startswith("/"):
            raise InvalidPath(f"invalid glob pattern {pattern!r}", path=str(pattern))
        parts = segments(pattern)
        if ".." in parts:
            raise InvalidPath("glob patterns may not contain '..'", path=pattern)
        folders_only = parts[-1] == "**"
        regex = compile_pattern("/".join(parts[:-1]) if folders_only else pattern)
        base = self._path
        cut = len(base) + 1 if base else 0
        if folders_only:
            if regex.pattern == "" or regex.fullmatch(""):
                yield self
            for folder in self._store.list_folders(base, recursive=True):
                rel = folder[cut:]
                if regex.pattern == "" or any(regex.fullmatch(rel[:i]) for i in prefix_ends(rel)):
                    yield self._new(folder)
            return
        for folder in self._store.list_folders(base, recursive=True):
            if regex.fullmatch(folder[cut:]):
                yield self._new(folder)
        for info in self._store.list_files(base, recursive=True):
            if regex.fullmatch(info.path[cut:]):
                yield self._new(info.path)

    def rglob(self, pattern: str) -> Iterator[StorePath]:
        """``glob("**/" + pattern)``: matches at any depth below this path. Raises as `glob`."""
        return self.glob("**/" + pattern)

    # ------------------------------------------------------------------ I/O
    def read_bytes(self) -> bytes:
        """The whole file (`Store.read_bytes`). Raises `NotFound` / `InvalidPath` as it does."""
        return self._store.read_bytes(self._path)

    def read_text(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The whole file decoded (`Store.read_text`). Raises as `read_bytes` and ``UnicodeDecodeError``."""
        return self._store.read_text(self._path, encoding=encoding, errors=errors)

    def write_bytes(self, data: bytes | bytearray | memoryview) -> int:
        """Replace the file with ``data`` (atomically where the store has ATOMIC_WRITE).

        Returns:
            The number of bytes written.

        Raises:
            InvalidPath: This is the root or a folder. Otherwise as `Store.write`.
        """
        payload = bytes(data)
        write_bytes(self._store, self._path, payload)
        return len(payload)

    def write_text(self, data: str, encoding: str = "utf-8", errors: str = "strict") -> int:
        """Replace the file with ``data`` encoded; returns the number of characters, as pathlib.

        Raises:
            TypeError: ``data`` is not a str. Otherwise as `write_bytes`.
        """
        if not isinstance(data, str):
            raise TypeError(f"data must be str, not {type(data).__name__}")
        self.write_bytes(data.encode(encoding, errors))
        return len(data)

    def open(
        self, mode: str = "r", encoding: str | None = None, errors: str | None = None, newline: str | None = None
    ) -> IO[Any]:
        """Open the file: ``"r"``/``"rb"`` read (`Store.read`), ``"w"``/``"wb"`` write.

        A written file appears when the handle is closed (streamed through
        `Store.open_atomic` where the store has ATOMIC_WRITE); leaving a ``with`` block by
        an exception discards it, so the previous file stays intact.

        Raises:
            InvalidPath: ``mode`` is not one of ``r``, ``rt``, ``rb``, ``w``, ``wt``, ``wb``;
                or this path is the root or a folder.
            NotFound: Reading a missing file.
        """
        binary = "b" in mode
        kind = mode.replace("b", "").replace("t", "")
        if kind not in ("r", "w") or ("b" in mode and "t" in mode) or len(mode) > 2:
            raise InvalidPath(f"unsupported open mode {mode!r}", path=self._path)
        if binary and (encoding is not None or errors is not None or newline is not None):
            raise InvalidPath("binary mode takes no encoding, errors or newline", path=self._path)
        if kind == "r":
            raw = self._store.read(self._path)
            if binary:
                return raw
            return io.TextIOWrapper(raw, encoding=encoding or "utf-8", errors=errors, newline=newline)  # type: ignore[arg-type]
        writer = StoreWriter(self._store, self._path)
        if binary:
            return writer  # type: ignore[return-value]
        return TextWriter(io.BufferedWriter(writer), encoding=encoding or "utf-8", errors=errors, newline=newline)

    def unlink(self, missing_ok: bool = False) -> None:
        """Delete the file (`Store.delete`).

        Raises:
            NotFound: It does not exist and ``missing_ok`` is False.
            InvalidPath: It is a folder.
        """
        self._store.delete(self._path, missing_ok=missing_ok)

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        """Create this folder, with `pathlib.Path.mkdir`'s rules and typed errors.

        Where the store keeps no empty folders (object stores, sql-blob) the folder exists
        only once a file is written below it (see `remote_store_ext._pathdirs`).
        Args:
            mode: Ignored (stores set no permissions). parents: Create missing parents too.
            exist_ok: Accept a folder already here.

        Raises:
            AlreadyExists: A file, or a folder without ``exist_ok`` (``FileExistsError``).
            NotFound: The parent is missing and ``parents`` is False (``FileNotFoundError``).
            InvalidPath: The parent or an ancestor is a file (``NotADirectoryError``).
        """
        make_folder(self._store, self._path, parents=parents, exist_ok=exist_ok)

    def rmdir(self) -> None:
        """Remove this empty folder (`Store.delete_folder`), with `pathlib.Path.rmdir`'s rules.

        Raises:
            DirectoryNotEmpty: The folder has entries (``OSError`` ``ENOTEMPTY``).
            NotFound: No folder here (``FileNotFoundError``).
            InvalidPath: This is a file (``NotADirectoryError``) or the store root.
        """
        remove_folder(self._store, self._path)

    def rename(self, target: StorePath | str) -> StorePath:
        """Move the file to ``target``, replacing a file there (POSIX ``rename``; `Store.move`).

        Args:
            target: A `StorePath` in the same store, or a store-relative path (the store
                root plays the part of pathlib's current directory).

        Returns:
            The new path.

        Raises:
            InvalidPath: ``target`` is in another store, or a path is a folder or malformed.
            NotFound: This file does not exist.
        """
        if isinstance(target, StorePath):
            if target._store != self._store:
                raise InvalidPath("rename() target must be in the same store", path=target._path)
            dest = target._path
        else:
            dest = join_parts(target)
        self._store.move(self._path, dest, overwrite=True)
        return self._new(dest)

    def replace(self, target: StorePath | str) -> StorePath:
        """Same as `rename` (which already replaces an existing target)."""
        return self.rename(target)

    # ------------------------------------------------------------------ codecs
    def load(
        self,
        *,
        codec: str | None = None,
        allow_pickle: bool = False,
        codecs: CodecRegistry | None = None,
        **options: Any,
    ) -> Any:
        """Read the file and decode it with the codec of its extension (see `remote_store_ext.datastore`).

        Args:
            codec: Decode with this codec whatever the extension (``"parquet"``).
            allow_pickle: Permit ``.pkl`` files (unpickling runs code).
            codecs: Codec registry (default: the process-wide one).
            **options: Reader options (``frame="polars"``).

        Raises:
            PickleNotAllowed, CodecError, NoCodec: As `load_value`. NotFound: No such file.
        """
        return load_value(
            self._store, self._path, registry=codecs, allow_pickle=allow_pickle, options=options, codec=codec
        )

    def save(
        self,
        obj: Any,
        *,
        codec: str | None = None,
        allow_pickle: bool = False,
        codecs: CodecRegistry | None = None,
    ) -> StorePath:
        """Encode ``obj`` and write it here, atomically where the store can.

        The codec is the one of this path's extension; without one, the codec chosen by
        ``obj``'s type, whose extension is appended (``StorePath(s, "x").save({})`` writes ``x.json``).

        Returns:
            The path written.

        Raises:
            NoCodec, PickleNotAllowed, CodecError: As `save_value`. InvalidPath: This is the root.
        """
        if not self._path:
            raise InvalidPath("cannot save to the store root", path="")
        written = save_value(self._store, self._path, obj, registry=codecs, allow_pickle=allow_pickle, codec=codec)
        return self._new(written)
