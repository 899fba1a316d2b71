"""`DataStore`: codec round trips on memory, local, S3 (moto) and sql-blob (SQLite), key look-up,
pickle gating, missing libraries and the mapping protocol."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from remote_store import Capability, CapabilitySet, Store
from remote_store.backends import MemoryBackend
from remote_store.errors import ConfigError, InvalidPath, NotFound
from remote_store_ext.datastore import (
    AmbiguousKey,
    CodecError,
    DataStore,
    KeyNotFound,
    NoCodec,
    PickleNotAllowed,
)


class _Thing:
    """A plain object only pickle can store."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Thing) and other.n == self.n

    __hash__ = None  # type: ignore[assignment]


def _pd() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "ü"], "x": [0.5, 1.5, -2.0]})


def _same_frame(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, pl.DataFrame):
        assert a.equals(b)
    else:
        assert a.equals(b)


def _eq(a: Any, b: Any) -> None:
    assert type(a) is type(b) and a == b


def _arr(a: Any, b: Any) -> None:
    assert isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)


def _npz(a: Any, b: Any) -> None:
    assert isinstance(b, dict) and sorted(a) == sorted(b)
    for k in a:
        _arr(a[k], b[k])


# (key written, value, file expected, checker, reader options)
CASES: list[tuple[str, Callable[[], Any], str, Callable[[Any, Any], None], dict[str, Any]]] = [
    ("doc", lambda: {"a": 1, "b": [1, 2.5, None, True], "ü": "ß"}, "doc.json", _eq, {}),
    ("nums", lambda: [1, 2, 3], "nums.json", _eq, {}),
    ("events", lambda: [{"e": "start", "t": 1}, {"e": "stop", "t": 2}], "events.jsonl", _eq, {}),
    ("note", lambda: "héllo\nworld\n", "note.txt", _eq, {}),
    ("readme.md", lambda: "# Title\n", "readme.md", _eq, {}),
    ("blob", lambda: bytes(range(256)), "blob.bin", _eq, {}),
    ("cfg.yaml", lambda: {"name": "x", "list": [1, 2], "nested": {"k": None}}, "cfg.yaml", _eq, {}),
    ("arr", lambda: np.arange(12, dtype=np.int32).reshape(3, 4), "arr.npy", _arr, {}),
    ("arrs", lambda: {"w": np.ones((2, 2)), "b": np.array([1.5, 2.5])}, "arrs.npz", _npz, {}),
    ("sales", _pd, "sales.parquet", _same_frame, {}),
    ("pl", lambda: pl.DataFrame({"a": [1, 2], "s": ["x", "y"]}), "pl.parquet", _same_frame, {}),
    ("tbl", lambda: pa.table({"a": [1, 2], "s": ["x", "y"]}), "tbl.parquet", _same_frame, {}),
    ("sales.csv", _pd, "sales.csv", _same_frame, {}),
    ("pl.csv", lambda: pl.DataFrame({"a": [1, 2], "s": ["x", "y"]}), "pl.csv", _same_frame, {"frame": "polars"}),
    ("tbl.csv", lambda: pa.table({"a": [1, 2], "s": ["x", "y"]}), "tbl.csv", _same_frame, {"frame": "arrow"}),
]


@pytest.mark.parametrize(("key", "make", "expected", "check", "options"), CASES, ids=[c[0] for c in CASES])
def test_every_codec_round_trips_on_every_store(
    store: Store,
    key: str,
    make: Callable[[], Any],
    expected: str,
    check: Callable[[Any, Any], None],
    options: dict[str, Any],
) -> None:
    ds = DataStore(store, frame=options.get("frame"))
    value = make()
    ds[key] = value
    assert [f.path for f in store.list_files("", recursive=True)] == [expected]
    check(value, ds[key])
    stem = expected.rpartition(".")[0]
    check(value, ds[stem])  # found by stem
    check(value, ds[expected])  # and by full name
    assert list(ds) == [stem] and len(ds) == 1 and stem in ds and expected in ds


def test_pickle_round_trips_on_every_store_when_enabled(store: Store) -> None:
    ds = DataStore(store, allow_pickle=True)
    ds["obj"] = _Thing(7)
    assert store.exists("obj.pkl")
    assert ds["obj"] == _Thing(7)


def test_keys_in_folders_and_lazy_items(store: Store) -> None:
    ds = DataStore(store)
    ds["a"] = {"v": 1}
    ds["sub/b"] = "text"
    ds["sub/deeper/c"] = [1]
    assert list(ds) == ["a", "sub/b", "sub/deeper/c"]
    assert ds["sub/deeper/c"] == [1]
    store.write("sub/z.json", b"{not json", overwrite=True)
    items = iter(ds.items())
    assert next(items) == ("a", {"v": 1})  # decoded one at a time: the bad file is not read yet
    assert next(items) == ("sub/b", "text")
    assert next(items) == ("sub/deeper/c", [1])
    with pytest.raises(CodecError, match="invalid JSON") as info:
        next(items)
    assert info.value.path == "sub/z.json"


# ---------------------------------------------------------------------- look-up
def test_ambiguous_stem_names_the_candidates_and_is_not_hidden_by_get() -> None:
    store = Store(MemoryBackend())
    ds = DataStore(store)
    ds["sales.csv"] = _pd()
    ds["sales.json"] = {"a": 1}
    with pytest.raises(AmbiguousKey) as info:
        ds["sales"]
    assert info.value.candidates == ("sales.csv", "sales.json")
    assert "sales.csv" in str(info.value) and "sales.json" in str(info.value)
    assert isinstance(info.value, InvalidPath) and not isinstance(info.value, KeyError)
    with pytest.raises(AmbiguousKey):
        ds.get("sales")
    assert "sales" in ds
    assert list(ds) == ["sales.csv", "sales.json"]  # each yielded key is readable
    assert ds["sales.json"] == {"a": 1}


def test_missing_key_is_keyerror_and_notfound() -> None:
    ds = DataStore(Store(MemoryBackend()))
    with pytest.raises(KeyNotFound) as info:
        ds["nope"]
    assert isinstance(info.value, KeyError) and isinstance(info.value, NotFound)
    assert ds.get("nope", 5) == 5
    assert "nope" not in ds and 3 not in ds
    with pytest.raises(KeyError):
        del ds["nope"]
    assert ds.pop("nope", None) is None


def test_stem_match_is_exact_not_a_prefix() -> None:
    store = Store(MemoryBackend())
    store.write("sales2.json", b"{}")
    store.write("sales.backup.json", b"{}")
    ds = DataStore(store)
    with pytest.raises(KeyNotFound):
        ds["sales"]
    assert ds["sales.backup"] == {}


def test_bare_assignment_replaces_other_files_of_the_stem_explicit_does_not() -> None:
    store = Store(MemoryBackend())
    ds = DataStore(store)
    ds["x"] = {"a": 1}
    ds["x"] = "now text"
    assert [f.path for f in store.list_files("")] == ["x.txt"]
    assert ds["x"] == "now text"
    ds["x.json"] = {"b": 2}
    assert sorted(f.path for f in store.list_files("")) == ["x.json", "x.txt"]


def test_del_bare_key_removes_every_file_of_the_stem() -> None:
    store = Store(MemoryBackend())
    ds = DataStore(store)
    ds["k.json"] = {}
    ds["k.txt"] = "t"
    ds["other"] = 1
    del ds["k"]
    assert list(ds) == ["other"]
    del ds["other.json"]
    assert len(ds) == 0


@pytest.mark.parametrize("key", ["", "/", "dir/", 3, None])
def test_bad_keys_raise_invalid_path(key: Any) -> None:
    ds = DataStore(Store(MemoryBackend()))
    with pytest.raises(InvalidPath):
        ds[key] = 1
    if isinstance(key, str) and key.endswith("/"):
        with pytest.raises(KeyNotFound):  # a folder key reads a dataset: there is none
            ds[key]
    else:
        with pytest.raises(InvalidPath):
            ds[key]


def test_folder_of_parts_reads_as_one_dataset(store: Store) -> None:
    import pyarrow.dataset as pads

    ds = DataStore(store)
    ds["sales/year=2024/a.parquet"] = pl.DataFrame({"amount": [1, 2]})
    ds["sales/year=2025/b.parquet"] = pl.DataFrame({"amount": [3]})
    ds["sales/notes.txt"] = "ignored: not a part"
    data = ds["sales/"]
    assert isinstance(data, pads.Dataset)
    table = data.to_table().sort_by("amount")
    assert table.column("amount").to_pylist() == [1, 2, 3]
    assert table.column("year").to_pylist() == [2024, 2024, 2025]
    lazy = ds.dataset("sales", kind="polars")
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.select(pl.col("amount").sum()).collect().item() == 6
    assert isinstance(DataStore(store, dataset="polars")["sales/"], pl.LazyFrame)


def test_csv_parts_and_mixed_folders() -> None:
    store = Store(MemoryBackend())
    ds = DataStore(store)
    ds["logs/a.csv"] = pd.DataFrame({"n": [1]})
    ds["logs/b.csv"] = pd.DataFrame({"n": [2]})
    assert sorted(ds["logs/"].to_table().column("n").to_pylist()) == [1, 2]
    ds["logs/c.parquet"] = pd.DataFrame({"n": [3]})
    with pytest.raises(InvalidPath, match="mixes"):
        ds["logs/"]
    with pytest.raises(ConfigError):
        ds.dataset("logs", kind="dask")
    with pytest.raises(ConfigError):
        DataStore(store, dataset="dask")


def test_key_cannot_escape_the_store_root() -> None:
    ds = DataStore(Store(MemoryBackend()).child("inner"))
    with pytest.raises(InvalidPath):
        ds["../outside"] = {"a": 1}


def test_unknown_extension_reads_as_bytes() -> None:
    store = Store(MemoryBackend())
    store.write("data.weird", b"\x01\x02")
    assert DataStore(store)["data"] == b"\x01\x02"


# ---------------------------------------------------------------------- codec errors
def test_value_without_codec_is_refused() -> None:
    ds = DataStore(Store(MemoryBackend()))
    with pytest.raises(NoCodec):
        ds["x.csv"] = {"not": "a frame"}
    with pytest.raises(NoCodec, match="JSON"):
        ds["y.json"] = {"when": {1, 2}}
    with pytest.raises(NoCodec):
        ds["z.npy"] = np.array([object()], dtype=object)


def test_failed_encode_leaves_the_old_file() -> None:
    store = Store(MemoryBackend())
    ds = DataStore(store)
    ds["x"] = {"old": True}
    with pytest.raises(NoCodec):
        ds["x.json"] = {"bad": object()}
    assert ds["x"] == {"old": True}


def test_store_without_atomic_write_uses_plain_write() -> None:
    class NoAtomic(MemoryBackend):
        @property
        def capabilities(self) -> CapabilitySet:
            return super().capabilities - {Capability.ATOMIC_WRITE}

    store = Store(NoAtomic())
    assert not store.supports(Capability.ATOMIC_WRITE)
    ds = DataStore(store)
    ds["a"] = {"v": 1}
    ds["a"] = {"v": 2}
    assert ds["a"] == {"v": 2}


def test_frame_option_chooses_the_library() -> None:
    ds = DataStore(Store(MemoryBackend()))
    ds["t"] = _pd()
    assert isinstance(ds.load("t", frame="polars"), pl.DataFrame)
    assert isinstance(ds.load("t", frame="arrow"), pa.Table)
    assert isinstance(DataStore(ds.store, frame="arrow")["t"], pa.Table)
    with pytest.raises(ConfigError):
        DataStore(ds.store, frame="excel")
    with pytest.raises(ConfigError):
        ds.load("t", frame="excel")


def test_foreign_parquet_reads_as_arrow() -> None:
    import pyarrow.parquet as pq

    store = Store(MemoryBackend())
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"a": [1]}), sink)
    store.write("ext.parquet", sink.getvalue().to_pybytes())
    assert DataStore(store)["ext"].equals(pa.table({"a": [1]}))


@pytest.mark.parametrize(
    ("module", "extra", "key", "make"),
    [
        ("pyarrow.parquet", "arrow", "t", _pd),
        ("yaml", "yaml", "c.yaml", lambda: {"a": 1}),
        ("numpy", "numpy", "n", lambda: np.zeros(2)),
    ],
)
def test_missing_library_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, extra: str, key: str, make: Callable[[], Any]
) -> None:
    value = make()
    store = Store(MemoryBackend())
    ds = DataStore(store)
    ds[key] = value
    monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
    with pytest.raises(CodecError, match=rf"remote-store-ext\[{extra}\]"):
        ds[key]
    if module != "numpy":  # without numpy no value can be an ndarray: only reading can need it
        with pytest.raises(CodecError, match=rf"remote-store-ext\[{extra}\]"):
            ds[key] = value


def test_corrupt_files_raise_codec_error() -> None:
    store = Store(MemoryBackend())
    for name, data in [
        ("a.parquet", b"PAR1 no"),
        ("b.npy", b"nope"),
        ("c.yaml", b"a: [1"),
        ("d.jsonl", b'{"a": 1}\n{bad\n'),
    ]:
        store.write(name, data)
    ds = DataStore(store)
    for key in ("a", "b", "c", "d"):
        with pytest.raises(CodecError) as info:
            ds[key]
        assert info.value.path is not None and info.value.path.startswith(key + ".")


# ---------------------------------------------------------------------- pickle
def test_pickle_is_refused_unless_enabled() -> None:
    store = Store(MemoryBackend())
    ds = DataStore(store)
    with pytest.raises(PickleNotAllowed, match="allow_pickle=True") as info:
        ds["obj"] = _Thing(1)
    assert isinstance(info.value, TypeError)  # a NoCodec, hence a TypeError
    with pytest.raises(PickleNotAllowed):
        ds["obj.pkl"] = {"even": "a dict"}
    assert not list(store.list_files(""))
    DataStore(store, allow_pickle=True)["obj"] = _Thing(2)
    with pytest.raises(PickleNotAllowed):
        ds["obj"]  # an existing pickle is not loaded either
    with pytest.raises(PickleNotAllowed):
        ds.load("obj.pkl")
    assert DataStore(store, allow_pickle=True)["obj"] == _Thing(2)


def test_pickle_is_only_a_fallback_when_enabled() -> None:
    store = Store(MemoryBackend())
    ds = DataStore(store, allow_pickle=True)
    ds["d"] = {"a": 1}
    assert store.exists("d.json")  # a safe codec still wins
    with pytest.raises(NoCodec):
        ds["lock"] = __import__("threading").Lock()


def test_alias_module_is_the_same() -> None:
    import remote_store.ext.datastore as alias
    import remote_store.ext.path as path_alias
    import remote_store_ext.datastore as real
    import remote_store_ext.path as path_real

    assert alias is real and path_alias is path_real
    assert (
        real.__all__
        == sorted(real.__all__)
        == [
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
    )
    assert all(getattr(real, n).__doc__ for n in real.__all__ if callable(getattr(real, n)))
    assert path_real.__all__ == ["StorePath", "StoreStat"]


def test_read_cache_serves_repeats_and_revalidates_by_etag(store: Store) -> None:
    import time

    from remote_store_ext.cache import CachedStore, MemoryCache

    ds = DataStore(store, cache=MemoryCache(), cache_ttl=0.05)
    assert isinstance(ds.store, CachedStore)
    ds["cfg"] = {"v": 1}
    assert ds["cfg"] == {"v": 1}
    assert ds["cfg"] == {"v": 1}
    stats = ds.store.stats  # type: ignore[attr-defined]
    assert stats.hits >= 1
    store.write("cfg.json", b'{"v": 2, "pad": "changes the size"}', overwrite=True)  # another client
    time.sleep(0.1)
    assert ds["cfg"] == {"v": 2, "pad": "changes the size"}  # stale entry revalidated, refetched
    ds["cfg"] = {"v": 3}  # a write through the DataStore invalidates at once
    assert ds["cfg"] == {"v": 3}
    assert DataStore(store, cache=True)["cfg"] == {"v": 3}
