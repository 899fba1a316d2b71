"""``ParquetDatasetStore``: parts + manifest + ``_SUCCESS`` last; readers never see half a dataset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from remote_store import Store
from remote_store.backends import LocalBackend, MemoryBackend
from remote_store.errors import AlreadyExists, ConfigError, ContentChanged, NotFound
from remote_store_ext import parquet
from remote_store_ext.arrow import pyarrow_fs
from remote_store_ext.parquet import DatasetManifest, ParquetDatasetStore


@pytest.fixture(params=["memory", "local", "s3"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return Store(MemoryBackend())
    if request.param == "local":
        return Store(LocalBackend(tmp_path / "store"))
    return request.getfixturevalue("s3_store")  # type: ignore[no-any-return]


SCHEMA = pa.schema([("id", pa.int64()), ("region", pa.string()), ("value", pa.float64())])


def _table(start: int, n: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(start, start + n), pa.int64()),
            "region": [("eu", "us", "ap")[i % 3] for i in range(start, start + n)],
            "value": [float(i) for i in range(start, start + n)],
        },
        schema=SCHEMA,
    )


def test_exports() -> None:
    assert sorted(parquet.__all__) == ["DatasetManifest", "ParquetDatasetStore"]
    for name in parquet.__all__:
        assert getattr(parquet, name).__doc__


def test_append_and_overwrite(any_store: Store) -> None:
    dset = ParquetDatasetStore(any_store, "sales")
    assert dset.manifest() is None
    with pytest.raises(NotFound):
        dset.read()
    m1 = dset.write(_table(0, 30), partition_cols=["region"])
    assert m1.generation == 1 and m1.num_rows == 30 and len(m1.parts) == 3
    assert all(p.startswith("region=") for p in m1.parts)
    m2 = dset.write(_table(30, 30), partition_cols=["region"])
    assert m2.generation == 2 and m2.num_rows == 60 and set(m1.parts) < set(m2.parts)
    table = dset.read()
    assert sorted(table.column("id").to_pylist()) == list(range(60))
    assert table.schema.field("region").type == pa.string()
    eu = dset.read(columns=["id"], filter=ds.field("region") == "eu")
    assert sorted(eu.column("id").to_pylist()) == [i for i in range(60) if i % 3 == 0]
    m3 = dset.write(_table(100, 5), mode="overwrite", partition_cols=["region"])
    assert m3.generation == 3 and m3.num_rows == 5
    assert sorted(dset.read().column("id").to_pylist()) == list(range(100, 105))
    # Old parts are still on storage until vacuum (running readers of generation 2 finish) ...
    assert all(any_store.exists(f"sales/{p}") for p in m2.parts)
    assert dset.vacuum() == len(m2.parts) + 2  # old parts + manifests 1 and 2
    assert not any(any_store.exists(f"sales/{p}") for p in m2.parts)
    assert sorted(dset.read().column("id").to_pylist()) == list(range(100, 105))
    assert dset.manifest() == m3


def test_reader_reads_only_listed_parts(any_store: Store) -> None:
    dset = ParquetDatasetStore(any_store, "d")
    dset.write(_table(0, 10))
    # A stray part (an uncommitted writer's leftover) is on storage but not in the manifest.
    pq.write_table(_table(1000, 7), "d/part-9999999999-stray-0.parquet", filesystem=pyarrow_fs(any_store))
    assert sorted(dset.read().column("id").to_pylist()) == list(range(10))
    assert dset.vacuum() == 1
    assert not any_store.exists("d/part-9999999999-stray-0.parquet")


def test_bad_input(any_store: Store) -> None:
    dset = ParquetDatasetStore(any_store, "x")
    with pytest.raises(ConfigError):
        dset.write(_table(0, 1), mode="replace")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        dset.write(iter([_table(0, 1).to_batches()[0]]))
    dset.write(_table(0, 3), partition_cols=["region"])
    with pytest.raises(ConfigError):
        dset.write(_table(0, 3))  # other partition columns
    with pytest.raises(ConfigError):
        dset.write(pa.table({"other": [1]}), partition_cols=["region"])
    any_store.write("x/_SUCCESS", b"not json", overwrite=True)
    with pytest.raises(ContentChanged):
        dset.manifest()
    with pytest.raises(ContentChanged):
        DatasetManifest.from_json('{"format_version": 99}')


def test_manifest_json_round_trip() -> None:
    m = DatasetManifest(generation=4, parts=("a=1/p.parquet",), schema=SCHEMA, partition_cols=("a",), num_rows=9)
    assert DatasetManifest.from_json(m.to_json()) == m


def _batches_then_fail(n_batches: int) -> Iterator[pa.RecordBatch]:
    for i in range(n_batches):
        yield _table(10_000 + i * 10, 10).to_batches()[0]
    raise RuntimeError("writer crashed mid-write")


def test_exception_mid_write_keeps_previous_dataset(any_store: Store) -> None:
    dset = ParquetDatasetStore(any_store, "d")
    before = dset.write(_table(0, 12), partition_cols=["region"])
    with pytest.raises(RuntimeError, match="mid-write"):
        dset.write(_batches_then_fail(6), schema=SCHEMA, partition_cols=["region"], max_rows_per_file=10)
    assert dset.manifest() == before
    assert sorted(dset.read().column("id").to_pylist()) == list(range(12))
    # The next write still succeeds on top of the committed generation.
    after = dset.write(_table(12, 3), partition_cols=["region"])
    assert after.num_rows == 15
    assert sorted(dset.read().column("id").to_pylist()) == list(range(15))


def test_same_generation_race_second_writer_fails(tmp_path: Path) -> None:
    store = Store(LocalBackend(tmp_path / "s"))
    dset = ParquetDatasetStore(store, "d")
    dset.write(_table(0, 3))
    # Another writer already claimed generation 2's manifest (and has not committed yet).
    store.write("d/_manifests/0000000002.json", b"{}")
    m = dset.write(_table(3, 3))  # skips to generation 3 based on the committed generation 1
    assert m.generation == 3 and m.num_rows == 6
    with pytest.raises(AlreadyExists):
        store.write_atomic("d/_manifests/0000000003.json", b"{}")


def test_concurrent_readers_never_see_half_a_dataset(any_store: Store) -> None:
    dset = ParquetDatasetStore(any_store, "live")
    dset.write(_table(0, 30), partition_cols=["region"])
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                ids = dset.read(columns=["id"]).column("id").to_pylist()
                n = len(ids)
                # Each write appends exactly 30 consecutive ids: a reader must see whole writes only.
                assert n % 30 == 0 and sorted(ids) == list(range(n)), n
                seen.append(n)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for g in range(1, 6):
        dset.write(_table(g * 30, 30), partition_cols=["region"], max_rows_per_file=10)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert seen and max(seen) <= 180
    assert dset.read().num_rows == 180


_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import pyarrow as pa
    from remote_store import Store
    from remote_store.backends import LocalBackend
    from remote_store_ext.parquet import ParquetDatasetStore

    schema = pa.schema([("id", pa.int64()), ("region", pa.string()), ("value", pa.float64())])

    def batches():
        i = 0
        while True:
            yield pa.record_batch([pa.array(range(i, i + 10), pa.int64()), pa.array(["eu"] * 10),
                                   pa.array([0.0] * 10)], schema=schema)
            i += 10
            if i == 50:
                print("parts-written", flush=True)
            time.sleep(0.01)

    ParquetDatasetStore(Store(LocalBackend(sys.argv[1])), "d").write(
        batches(), schema=schema, partition_cols=["region"], max_rows_per_file=10)
    """
)


def test_sigkilled_writer_leaves_previous_dataset(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = Store(LocalBackend(root))
    dset = ParquetDatasetStore(store, "d")
    before = dset.write(_table(0, 9), partition_cols=["region"])
    script = tmp_path / "writer.py"
    script.write_text(_KILLED_WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "parts-written"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = [i for i in store.list_files("d", recursive=True) if i.name.startswith("part-0000000002")]
            if len(parts) >= 2:
                break
            time.sleep(0.02)
        assert len(parts) >= 2, "the writer should have published some parts before being killed"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert dset.manifest() == before
    assert sorted(dset.read().column("id").to_pylist()) == list(range(9))
    assert dset.vacuum() >= 2  # the killed writer's parts
    assert sorted(dset.read().column("id").to_pylist()) == list(range(9))
