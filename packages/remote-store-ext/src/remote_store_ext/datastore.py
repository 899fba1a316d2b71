"""`DataStore`: a ``dict``-like view of a Store that saves and loads Python values through codecs.

::

    from remote_store_ext.datastore import DataStore

    ds = DataStore(store)
    ds["sales"] = df               # pandas DataFrame → sales.parquet (atomically)
    ds["config"] = {"k": 1}        # → config.json
    ds["events"] = [{"a": 1}]      # → events.jsonl
    ds["report.csv"] = df          # the extension picks the codec
    df = ds["sales"]               # found by stem, decoded by its extension

Codecs are chosen by the value's type for a bare key and by the extension for a key that
has one. Built in: bytes (``.bin``), text (``.txt``/``.md``/``.html``), JSON, JSON Lines,
YAML (extra ``yaml``), NumPy ``.npy``/``.npz`` (extra ``numpy``), Parquet and CSV for pandas
DataFrames, PyArrow tables and Polars DataFrames (extras ``arrow``, ``pandas``, ``polars``),
and pickle (``.pkl``), used only by ``DataStore(store, allow_pickle=True)``.

Third-party codecs: subclass `Codec` and call `register_codec`, or publish it under the
entry-point group ``remote_store.codecs`` (see `remote_store_ext._codecs` for why an
entry-point group and not a core hook). Available as ``remote_store.ext.datastore``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from posixpath import splitext
from typing import TYPE_CHECKING, Any

from remote_store import Capability, Store
from remote_store.errors import ConfigError, InvalidPath
from remote_store_ext._codecerrors import AmbiguousKey, CodecError, KeyNotFound, NoCodec, PickleNotAllowed
from remote_store_ext._codecs import ENTRY_POINT_GROUP, Codec, CodecRegistry, default_registry, register_codec, require
from remote_store_ext._frame_codecs import FRAMES

if TYPE_CHECKING:
    from remote_store_ext.cache import CacheBackend

#: What a folder key can be read as (`DataStore.dataset`).
DATASETS = ("arrow", "polars")
#: File extensions of the parts a folder dataset is made of, with their PyArrow format name.
DATASET_FORMATS = {".parquet": "parquet", ".csv": "csv"}

__all__ = [
    "AmbiguousKey",
    "Codec",
    "CodecError",
    "CodecRegistry",
    "DATASETS",
    "DATASET_FORMATS",
    "DataStore",
    "ENTRY_POINT_GROUP",
    "FRAMES",
    "KeyNotFound",
    "NoCodec",
    "PickleNotAllowed",
    "default_registry",
    "load_value",
    "register_codec",
    "save_value",
]


def _suffix(path: str) -> str:
    """The last extension of the path's final segment, lower case (``""`` for none or a dotfile)."""
    return splitext(path.rpartition("/")[2])[1].lower()


def write_bytes(store: Store, path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``: `Store.write_atomic` where the store has ATOMIC_WRITE, else `Store.write`."""
    if store.supports(Capability.ATOMIC_WRITE):
        store.write_atomic(path, data, overwrite=True)
    else:
        store.write(path, data, overwrite=True)


def save_value(
    store: Store,
    path: str,
    value: Any,
    *,
    registry: CodecRegistry | None = None,
    allow_pickle: bool = False,
    codec: str | None = None,
) -> str:
    """Encode ``value`` and write it to ``path`` (atomically where the store can).

    Args:
        store: Destination store.
        path: Store-relative path. If its extension belongs to a codec, that codec is used;
            otherwise the codec is chosen by the value's type and its extension is appended.
        value: The value to store.
        registry: Codecs to use (default `default_registry`).
        allow_pickle: Permit the pickle codec.
        codec: Name of the codec to use whatever the extension (``"csv"``); ``path`` is
            then written as given.

    Returns:
        The path written (``path`` or ``path + extension``).

    Raises:
        NoCodec: No codec stores the value, or the extension's codec cannot encode it.
        PickleNotAllowed: Pickle would be needed (or ``.pkl`` was named) and ``allow_pickle`` is False.
        CodecError: The codec's library is missing.
        InvalidPath: ``path`` is malformed, a folder, or the root. Otherwise as `Store.write`.
    """
    reg = registry or default_registry()
    if codec is not None:
        chosen, target = _check_pickle(reg.get(codec), path, allow_pickle), path
    else:
        chosen, target = _codec_for_write(path, value, reg, allow_pickle)
    write_bytes(store, target, chosen.encode(value))
    return target


def load_value(
    store: Store,
    path: str,
    *,
    registry: CodecRegistry | None = None,
    allow_pickle: bool = False,
    options: Mapping[str, Any] | None = None,
    codec: str | None = None,
) -> Any:
    """Read ``path`` and decode it with the codec of its extension (no codec: the raw ``bytes``).

    Args:
        store: Source store.
        path: Store-relative path of an existing file.
        registry: Codecs to use (default `default_registry`).
        allow_pickle: Permit decoding ``.pkl`` files.
        options: Reader options passed to `Codec.decode` (``frame="polars"`` …).
        codec: Name of the codec to decode with, whatever the extension.

    Raises:
        NoCodec: ``codec`` names no registered codec.
        PickleNotAllowed: The file is a pickle and ``allow_pickle`` is False (nothing is read).
        CodecError: The bytes are invalid for the format, or the library is missing.
        NotFound: No such file. Otherwise as `Store.read_bytes`.
    """
    reg = registry or default_registry()
    chosen = reg.get(codec) if codec is not None else reg.for_extension(_suffix(path))
    if chosen is not None:
        _check_pickle(chosen, path, allow_pickle)
    data = store.read_bytes(path)
    if chosen is None:
        return data
    try:
        return chosen.decode(data, dict(options or {}))
    except CodecError as exc:
        if exc.path is None:
            exc.path = path
        raise


def _check_pickle(codec: Codec, path: str, allow_pickle: bool) -> Codec:
    if codec.unsafe and not allow_pickle:
        raise PickleNotAllowed(
            f"{path!r} needs the {codec.name} codec, and loading a pickle runs code from the file: "
            f"pass allow_pickle=True (DataStore(store, allow_pickle=True)) only for data you trust",
            path=path,
        )
    return codec


def _codec_for_write(path: str, value: Any, registry: CodecRegistry, allow_pickle: bool) -> tuple[Codec, str]:
    codec = registry.for_extension(_suffix(path))
    if codec is None:
        chosen = registry.for_value(value, allow_unsafe=allow_pickle)
        return chosen, path + chosen.extensions[0]
    return _check_pickle(codec, path, allow_pickle), path


class DataStore(MutableMapping[str, Any]):
    """A ``MutableMapping[str, Any]`` over any `Store`: keys are file paths without (or with)
    their extension, values are decoded file contents.

    - ``ds[key] = value``: a bare key (``"sales"``, ``"2026/q1"``) takes the codec chosen by
      the value's type and writes ``key.<ext>``, then deletes any other file of the same stem
      (``sales.csv`` when ``sales.parquet`` was written), so the key names one file again. A
      key with a codec's extension (``"sales.csv"``) uses that codec and touches no other
      file. Writes are atomic where the store has ``ATOMIC_WRITE`` (`Store.write_atomic`),
      else `Store.write` with ``overwrite=True``; a failed encode or write leaves the old file.
    - ``ds[key]``: a file named exactly ``key`` wins; otherwise the single file in ``key``'s
      folder whose name is ``key``'s name plus one extension. Files whose extension no codec
      claims are returned as ``bytes``.
    - Iteration (`keys`) yields the stem of every file below the store root, recursively;
      when a stem has several files, their full names instead (each is a valid key).
      ``len`` counts those keys; ``items()`` / ``values()`` decode lazily, one file per step.

    The DataStore never closes the store.

    Args:
        store: Any store (needs READ; WRITE for assignment, DELETE for ``del``, LIST for
            bare-key look-ups and iteration).
        allow_pickle: Let the pickle codec read and write (``.pkl``). Off by default:
            unpickling runs code chosen by whoever wrote the file.
        codecs: The codec registry (default `default_registry`: built-ins + entry points).
        frame: Library to return Parquet/CSV data as: ``"pandas"``, ``"polars"``,
            ``"arrow"``; None = as recorded in the Parquet file, pandas for CSV.
        dataset: What ``ds["folder/"]`` (a key ending in ``/``) returns, see `dataset`:
            ``"arrow"`` (a ``pyarrow.dataset.Dataset``) or ``"polars"`` (a ``polars.LazyFrame``).
        cache: Serve repeated reads from a local cache (`remote_store_ext.cache.CachedStore`):
            True for a new ``MemoryCache``, or a ``CacheBackend`` (``DiskCache(...)``).
            Writes and deletes through this DataStore invalidate their entries.
        cache_ttl: Seconds after which a cached file is revalidated by ETag and size (one
            metadata call; a changed file is fetched again); 0 = never revalidate, as in
            `remote_store_ext.cache.cache`.

    Raises:
        ConfigError: ``frame`` is not one of `FRAMES`, or ``dataset`` not one of `DATASETS`.

    Errors of the mapping operations: ``KeyError`` for a missing key is `KeyNotFound` (also a
    `NotFound`); an ambiguous bare key raises `AmbiguousKey` (an `InvalidPath`, not a
    ``KeyError``, so ``ds.get(key)`` never hides it); a key that is not a non-empty str, or
    is malformed, raises `InvalidPath`; codec failures raise `CodecError` subclasses.
    """

    def __init__(
        self,
        store: Store,
        *,
        allow_pickle: bool = False,
        codecs: CodecRegistry | None = None,
        frame: str | None = None,
        dataset: str = "arrow",
        cache: bool | CacheBackend = False,
        cache_ttl: float = 0.0,
    ) -> None:
        if frame is not None and frame not in FRAMES:
            raise ConfigError(f"frame must be one of {', '.join(FRAMES)}, got {frame!r}")
        if dataset not in DATASETS:
            raise ConfigError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
        self._dataset = dataset
        if cache is not False:
            from remote_store_ext.cache import CachedStore, MemoryCache

            store = CachedStore(store, MemoryCache() if cache is True else cache, ttl=cache_ttl)
        self._store = store
        self._allow_pickle = allow_pickle
        self._codecs = codecs
        self._options: dict[str, Any] = {"frame": frame} if frame else {}

    @property
    def store(self) -> Store:
        """The store read and written (the `CachedStore` wrapping the given one when ``cache`` is on)."""
        return self._store

    @property
    def codecs(self) -> CodecRegistry:
        """The codec registry in use."""
        return self._codecs or default_registry()

    @property
    def allow_pickle(self) -> bool:
        """Whether pickle files may be read and written."""
        return self._allow_pickle

    # ------------------------------------------------------------------ look-up
    def _check(self, key: object) -> str:
        if not isinstance(key, str) or not key.strip("/"):
            raise InvalidPath(f"DataStore keys are non-empty str paths, got {key!r}", path=repr(key))
        if key.endswith("/"):
            raise InvalidPath("a DataStore key names a file, not a folder", path=key)
        return key.lstrip("/")

    def _candidates(self, key: str) -> list[str]:
        folder, _, name = key.rpartition("/")
        prefix = name + "."
        found = []
        for info in self._store.list_files(folder):
            fname = info.path.rpartition("/")[2]
            if fname == name or (fname.startswith(prefix) and _suffix(fname) == fname[len(name) :].lower()):
                found.append(info.path)
        return sorted(found)

    def resolve(self, key: str) -> str:
        """The store-relative path of the file ``key`` names (see the class docstring).

        Args:
            key: A bare key (``"sales"``) or a file name (``"sales.csv"``).

        Raises:
            KeyNotFound: No file matches (also a ``KeyError`` and a `NotFound`).
            AmbiguousKey: Several files share the stem; ``.candidates`` lists them.
            InvalidPath: ``key`` is malformed.
            CapabilityNotSupported: A bare key needs LIST and the store has none.
        """
        key = self._check(key)
        if self.codecs.for_extension(_suffix(key)) is not None and self._store.is_file(key):
            return key
        found = self._candidates(key)
        if key in found:
            return key
        if not found:
            raise KeyNotFound(f"no file for key {key!r}", path=key, backend=self._store.backend.type_name)
        if len(found) > 1:
            raise AmbiguousKey(
                f"key {key!r} matches {len(found)} files: {', '.join(found)}; use the full name",
                path=key,
                backend=self._store.backend.type_name,
                candidates=tuple(found),
            )
        return found[0]

    # ------------------------------------------------------------------ datasets
    def dataset(self, folder: str, *, kind: str | None = None) -> Any:
        """The Parquet or CSV parts below ``folder`` (recursively) as one lazy dataset.

        Hive-style ``key=value`` folders become partition columns. Files are read through
        `remote_store_ext.arrow.pyarrow_fs` (ranged reads where the store can), only when
        the dataset is scanned. ``ds["folder/"]`` is ``ds.dataset("folder")``.

        Args:
            folder: Store-relative folder (``""`` = the root).
            kind: ``"arrow"`` → ``pyarrow.dataset.Dataset``; ``"polars"`` →
                ``polars.LazyFrame`` (``polars.scan_pyarrow_dataset``); None = the
                DataStore's ``dataset`` option.

        Raises:
            KeyNotFound: No ``.parquet`` or ``.csv`` file is below ``folder``.
            InvalidPath: The folder mixes Parquet and CSV parts (the message names both).
            ConfigError: ``kind`` is not one of `DATASETS`.
            CodecError: PyArrow (or Polars) is not installed.
        """
        kind = kind or self._dataset
        if kind not in DATASETS:
            raise ConfigError(f"dataset kind must be one of {', '.join(DATASETS)}, got {kind!r}")
        base = folder.strip("/")
        parts = sorted(
            info.path for info in self._store.list_files(base, recursive=True) if _suffix(info.path) in DATASET_FORMATS
        )
        if not parts:
            raise KeyNotFound(f"no Parquet or CSV files below {base!r}", path=base or "/")
        formats = {DATASET_FORMATS[_suffix(p)] for p in parts}
        if len(formats) > 1:
            raise InvalidPath(f"folder {base!r} mixes Parquet and CSV parts; read them separately", path=base)
        pads = require("pyarrow.dataset", "arrow", "dataset")
        from remote_store_ext.arrow import pyarrow_fs

        data = pads.dataset(
            parts,
            filesystem=pyarrow_fs(self._store),
            format=formats.pop(),
            partitioning="hive",
            partition_base_dir=base,
        )
        if kind == "polars":
            pl = require("polars", "polars", "dataset")
            return pl.scan_pyarrow_dataset(data)
        return data

    # ------------------------------------------------------------------ mapping
    def __getitem__(self, key: str) -> Any:
        """Load and decode the file ``key`` names; a key ending in ``/`` reads the folder as
        one dataset (`dataset`). Raises as `resolve`, `load_value` and `dataset`."""
        if isinstance(key, str) and key.endswith("/"):
            return self.dataset(key)
        return self.load(key)

    def load(self, key: str, **options: Any) -> Any:
        """Like ``ds[key]``, with reader options for this call (``frame="polars"``).

        Raises:
            KeyNotFound: No file for ``key``.
            AmbiguousKey: As `resolve` and `load_value`.
            PickleNotAllowed: As `resolve` and `load_value`.
            CodecError: As `resolve` and `load_value`.
        """
        path = self.resolve(key)
        return load_value(
            self._store,
            path,
            registry=self.codecs,
            allow_pickle=self._allow_pickle,
            options={**self._options, **options},
        )

    def __setitem__(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (see the class docstring). Raises as `save`."""
        self.save(key, value)

    def save(self, key: str, value: Any) -> str:
        """``ds[key] = value``, returning the store-relative path written.

        Raises:
            NoCodec: No codec stores ``value`` (or the key's extension's codec cannot).
            PickleNotAllowed: Only pickle could, or ``.pkl`` was named, without ``allow_pickle``.
            CodecError: The codec's library is missing.
            InvalidPath: ``key`` is malformed, a folder or below a file. Otherwise as `Store.write`.
        """
        key = self._check(key)
        bare = self.codecs.for_extension(_suffix(key)) is None
        path = save_value(self._store, key, value, registry=self.codecs, allow_pickle=self._allow_pickle)
        if bare and self._store.supports(Capability.LIST) and self._store.supports(Capability.DELETE):
            for other in self._candidates(key):
                if other != path:
                    self._store.delete(other, missing_ok=True)
        return path

    def __delitem__(self, key: str) -> None:
        """Delete the file ``key`` names; a bare key deletes every file of that stem.

        Raises:
            KeyNotFound: No file for ``key``. InvalidPath: ``key`` is malformed.
        """
        key = self._check(key)
        if self._store.is_file(key):
            self._store.delete(key)
            return
        found = self._candidates(key)
        if not found:
            raise KeyNotFound(f"no file for key {key!r}", path=key, backend=self._store.backend.type_name)
        for path in found:
            self._store.delete(path, missing_ok=True)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` names at least one file (False for non-str keys)."""
        if not isinstance(key, str):
            return False
        try:
            self.resolve(key)
        except KeyNotFound:
            return False
        except AmbiguousKey:
            return True
        return True

    def __iter__(self) -> Iterator[str]:
        """Yield every key, sorted: stems, or full names where a stem has several files (one listing)."""
        paths = sorted(info.path for info in self._store.list_files("", recursive=True))
        stems: dict[str, list[str]] = {}
        for path in paths:
            suffix = _suffix(path)
            stems.setdefault(path[: len(path) - len(suffix)] if suffix else path, []).append(path)
        for stem in sorted(stems):
            files = stems[stem]
            if len(files) == 1:
                yield stem
            else:
                yield from files

    def __len__(self) -> int:
        """The number of keys iteration yields (one listing)."""
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"DataStore({self._store!r}, allow_pickle={self._allow_pickle})"
