"""Dagster: assets materialized in process through the IO manager, the store resource and
the compute log manager, on memory, local disk, S3 (moto) and sql-blob (SQLite).

No ``from __future__ import annotations``: Dagster reads the asset functions' annotations.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

dg = pytest.importorskip("dagster")

from remote_store import Store  # noqa: E402
from remote_store.backends import LocalBackend, MemoryBackend  # noqa: E402
from remote_store.errors import ConfigError, InvalidPath, NotFound  # noqa: E402
from remote_store_ext.dagster import (  # noqa: E402
    DagsterStoreResource,
    RemoteStoreComputeLogManager,
    RemoteStoreIOManager,
    StoreIOManager,
    dagster_io_manager,
)
from remote_store_ext.datastore import PickleNotAllowed  # noqa: E402
from testing.servers.s3 import MotoS3Server  # noqa: E402

REGIONS = dg.StaticPartitionsDefinition(["north", "south"])


@dg.asset
def sales() -> dict[str, int]:
    return {"north": 3, "south": 5}


@dg.asset
def total(sales: dict[str, int]) -> int:
    return sum(sales.values())


@dg.asset(partitions_def=REGIONS)
def units(context: dg.AssetExecutionContext) -> list[dict[str, Any]]:
    return [{"region": context.partition_key, "units": {"north": 3, "south": 5}[context.partition_key]}]


@dg.asset
def all_units(units: dict[str, list[dict[str, Any]]]) -> int:
    return sum(row["units"] for rows in units.values() for row in rows)


@dg.asset(partitions_def=REGIONS)
def doubled(context: dg.AssetExecutionContext, units: list[dict[str, Any]]) -> str:
    (row,) = units
    return f"{row['region']}={row['units'] * 2}"


@dg.asset
def report(context: dg.AssetExecutionContext) -> str:
    print("report: stdout line")
    import sys

    print("report: stderr line", file=sys.stderr)
    return "ok"


@pytest.fixture
def backend_table(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], tuple[dict[str, Any], Store]]:
    """``make(kind)`` → (a backend table for config, a Store on the same data to check it)."""
    opened: list[Store] = []

    def make(kind: str) -> tuple[dict[str, Any], Store]:
        if kind == "local":
            root = str(tmp_path / "store")
            table: dict[str, Any] = {"type": "local", "options": {"root": root}}
            store = Store(LocalBackend(root))
        elif kind == "s3":
            server: MotoS3Server = request.getfixturevalue("s3_server")
            bucket: str = request.getfixturevalue("s3_bucket")
            options = server.backend_options(bucket)
            table = {"type": "s3", "options": options}
            from remote_store_s3 import S3Backend

            store = Store(S3Backend(**options))
        elif kind == "sqlite":
            url = f"sqlite:///{tmp_path / 'blobs.db'}"
            table = {"type": "sql-blob", "options": {"url": url}}
            from remote_store import open_store

            store = open_store("x", config={"backends": {"b": table}, "stores": {"x": {"backend": "b"}}})
        else:
            raise AssertionError(kind)
        opened.append(store)
        return table, store

    yield make  # type: ignore[misc]
    for store in opened:
        store.close()


def _materialize(assets: list[Any], io_manager: Any, **kwargs: Any) -> Any:
    result = dg.materialize(assets, resources={"io_manager": io_manager}, **kwargs)
    assert result.success
    return result


def _run_all(io_manager: Callable[[], Any]) -> None:
    """Materialize every asset (plain, partitioned, downstream of both) and check the values."""
    everything = [sales, total, units, all_units, doubled]
    result = _materialize([sales, total], io_manager())
    assert result.output_for_node("total") == 8
    for region in ("north", "south"):
        _materialize(everything, io_manager(), partition_key=region, selection=[units, doubled])
    result = _materialize(everything, io_manager(), selection=[all_units])
    assert result.output_for_node("all_units") == 8
    result = _materialize(everything, io_manager(), partition_key="south", selection=[doubled])
    assert result.output_for_node("doubled") == "south=10"


def test_io_manager_on_memory_store() -> None:
    store = Store(MemoryBackend())
    _run_all(lambda: dagster_io_manager(store))
    files = sorted(info.path for info in store.list_files("dagster", recursive=True))
    assert files == [
        "dagster/all_units.json",
        "dagster/doubled/north.txt",
        "dagster/doubled/south.txt",
        "dagster/sales.json",
        "dagster/total.json",
        "dagster/units/north.jsonl",
        "dagster/units/south.jsonl",
    ]
    assert store.read_text("dagster/doubled/north.txt") == "north=6"


@pytest.mark.parametrize("kind", ["local", "s3", "sqlite"])
def test_configured_io_manager(kind: str, backend_table: Callable[[str], tuple[dict[str, Any], Store]]) -> None:
    """Two runs per store kind: a plain asset and its downstream, then one partition and its downstream."""
    table, check = backend_table(kind)
    manager = RemoteStoreIOManager(store=DagsterStoreResource(backend=table))
    result = _materialize([sales, total], manager)
    assert result.output_for_node("total") == 8
    result = _materialize([units, doubled], manager, partition_key="south")
    assert result.output_for_node("doubled") == "south=10"
    files = sorted(info.path for info in check.list_files("dagster", recursive=True))
    assert files == [
        "dagster/doubled/south.txt",
        "dagster/sales.json",
        "dagster/total.json",
        "dagster/units/south.jsonl",
    ]
    assert check.read_text("dagster/units/south.jsonl") == '{"region": "south", "units": 5}\n'
    assert check.read_text("dagster/total.json") == "8"


def test_output_metadata_names_the_native_path(tmp_path: Path) -> None:
    store = Store(LocalBackend(tmp_path))
    result = _materialize([sales], dagster_io_manager(store, prefix="assets"))
    (materialization,) = result.asset_materializations_for_node("sales")
    assert materialization.metadata["path"].value == str(tmp_path / "assets" / "sales.json")


def test_resource_by_store_name_with_root_path(tmp_path: Path) -> None:
    config = tmp_path / "remote-store.toml"
    config.write_text(
        f'[backends.disk]\ntype = "local"\noptions.root = "{tmp_path / "data"}"\n'
        '[stores.warehouse]\nbackend = "disk"\nroot_path = "lake"\n',
        encoding="utf-8",
    )
    resource = DagsterStoreResource(store="warehouse", root_path="dagster-runs", config_file=str(config))
    _materialize([sales, total], RemoteStoreIOManager(store=resource, prefix=""))
    assert (tmp_path / "data" / "lake" / "dagster-runs" / "total.json").read_text() == "8"


def test_resource_in_an_asset_and_by_url(tmp_path: Path) -> None:
    @dg.asset
    def written(files: DagsterStoreResource) -> None:
        files.get_store().write_text("hello.txt", "hi", overwrite=True)

    result = dg.materialize([written], resources={"files": DagsterStoreResource(store=(tmp_path / "out").as_uri())})
    assert result.success
    assert (tmp_path / "out" / "hello.txt").read_text() == "hi"


def test_resource_config_errors() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        DagsterStoreResource().open()
    with pytest.raises(ConfigError, match="exactly one"):
        DagsterStoreResource(store="memory://", backend={"type": "memory"}).open()
    with pytest.raises(ConfigError, match="'type' string"):
        DagsterStoreResource(backend={"options": {}}).open()
    with pytest.raises(ConfigError, match="nosuchtype"):
        DagsterStoreResource(backend={"type": "nosuchtype"}).open()


def test_missing_input_is_typed_not_found() -> None:
    store = Store(MemoryBackend())
    with pytest.raises(NotFound):
        dg.materialize([sales, total], resources={"io_manager": dagster_io_manager(store)}, selection=[total])


class Point:
    """A value no safe codec stores (module level, so pickle can find it)."""

    def __init__(self, x: int) -> None:
        self.x = x


def test_pickle_only_when_allowed() -> None:
    @dg.asset
    def point() -> Any:
        return Point(3)

    store = Store(MemoryBackend())
    with pytest.raises(PickleNotAllowed):
        dg.materialize([point], resources={"io_manager": dagster_io_manager(store)})
    assert not store.exists("dagster/point.pkl")
    manager = StoreIOManager(store, allow_pickle=True)
    _materialize([point], manager)
    assert store.exists("dagster/point.pkl")
    assert manager.data.load("point").x == 3


def test_op_outputs_are_keyed_by_run_and_step() -> None:
    @dg.op
    def make() -> dict[str, int]:
        return {"a": 1}

    @dg.op
    def use(value: dict[str, int]) -> int:
        return value["a"] + 1

    @dg.job
    def pipeline() -> None:
        use(make())

    store = Store(MemoryBackend())
    result = pipeline.execute_in_process(resources={"io_manager": dagster_io_manager(store)})
    assert result.success and result.output_for_node("use") == 2
    run = result.run_id
    assert store.read_text(f"dagster/{run}/make/result.json") == '{"a": 1}'
    assert store.read_text(f"dagster/{run}/use/result.json") == "2"


# ---------------------------------------------------------------------- compute logs
def _logs_of(instance: Any, result: Any) -> tuple[RemoteStoreComputeLogManager, list[str]]:
    manager = instance.compute_log_manager
    assert isinstance(manager, RemoteStoreComputeLogManager)
    (event,) = [
        e
        for e in instance.all_logs(result.run_id)
        if e.dagster_event is not None and e.dagster_event.event_type_value == "LOGS_CAPTURED"
    ]
    file_key = event.dagster_event.logs_captured_data.file_key
    return manager, list(manager.build_log_key_for_run(result.run_id, file_key))


def test_compute_logs_in_s3(backend_table: Callable[[str], tuple[dict[str, Any], Store]], tmp_path: Path) -> None:
    table, check = backend_table("s3")
    overrides = {
        "compute_logs": {
            "module": "remote_store_ext.dagster",
            "class": "RemoteStoreComputeLogManager",
            "config": {"backend": table, "prefix": "logs", "local_dir": str(tmp_path / "capture")},
        }
    }
    with dg.instance_for_test(overrides=overrides) as instance:
        result = dg.materialize([report], instance=instance)
        assert result.success
        manager, log_key = _logs_of(instance, result)
        assert manager.is_capture_complete(log_key)
        data = manager.get_log_data(log_key)
        assert b"report: stdout line" in (data.stdout or b"")
        assert b"report: stderr line" in (data.stderr or b"")
        assert b"report: stderr line" not in (data.stdout or b"")
        # The files are in the store (not only in the local capture folder, which is emptied).
        out_path = "logs/" + "/".join(log_key) + ".out"
        assert b"report: stdout line" in check.read_bytes(out_path)
        assert not list((tmp_path / "capture").rglob("*.out"))
        meta = manager.get_log_metadata(log_key)
        assert meta.stdout_location == check.native_path(out_path)
        # Ranged reads with a cursor: the rest of stdout after the first 8 bytes.
        whole = check.read_bytes(out_path)
        chunk, offset = manager.get_log_data_for_type(log_key, dg_io("STDOUT"), 8, 5)
        assert chunk == whole[8:13] and offset == 13
        keys = manager.get_log_keys_for_log_key_prefix(log_key[:-1], dg_io("STDOUT"))
        assert keys == [log_key]
        manager.delete_logs(log_key=log_key)
        assert not check.exists(out_path)
        assert manager.get_log_data_for_type(log_key, dg_io("STDOUT"), 0, None) == (None, 0)


def dg_io(name: str) -> Any:
    from dagster._core.storage.compute_log_manager import ComputeIOType

    return ComputeIOType[name]


def test_compute_log_manager_on_a_memory_store(capfd: pytest.CaptureFixture[str]) -> None:
    store = Store(MemoryBackend())
    manager = RemoteStoreComputeLogManager(store, prefix="cl")
    key = ["run-1", "compute_logs", "step"]
    assert not manager.is_capture_complete(key)
    with manager.capture_logs(key):
        print("captured out", flush=True)
    assert manager.is_capture_complete(key)
    assert b"captured out" in store.read_bytes("cl/run-1/compute_logs/step.out")
    assert store.read_bytes("cl/run-1/compute_logs/step.err") == b""
    with manager.open_log_stream(["sensor", "tick"], dg_io("STDERR")) as stream:
        assert stream is not None
        stream.write("from a stream\n")
    assert store.read_text("cl/sensor/tick.err") == "from a stream\n"
    manager.delete_logs(prefix=["sensor"])
    assert not store.exists("cl/sensor/tick.err")
    manager.dispose()
    assert store.exists("cl/run-1/compute_logs/step.out")  # a Store passed in stays open


def test_compute_log_manager_config_errors() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        RemoteStoreComputeLogManager()
    with pytest.raises(ConfigError):
        RemoteStoreComputeLogManager(Store(MemoryBackend()), backend={"type": "memory"})


def test_alias_import_path() -> None:
    import remote_store.ext.dagster as alias
    import remote_store_ext.dagster as real

    assert alias is real
    assert sorted(real.__all__) == real.__all__
    public = {name for name in vars(real) if not name.startswith("_")} - {"annotations"}
    assert public == set(real.__all__)


@pytest.fixture(autouse=True)
def _no_dagster_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    yield


@dg.asset(partitions_def=REGIONS, backfill_policy=dg.BackfillPolicy.single_run())
def ranged(context: dg.AssetExecutionContext) -> dict[str, int]:
    return {key: len(key) for key in context.partition_keys}


def test_one_run_over_several_partitions_writes_each() -> None:
    store = Store(MemoryBackend())
    tags = {"dagster/asset_partition_range_start": "north", "dagster/asset_partition_range_end": "south"}
    _materialize([ranged], dagster_io_manager(store), tags=tags)
    assert store.read_text("dagster/ranged/north.json") == "5"
    assert store.read_text("dagster/ranged/south.json") == "5"

    @dg.asset(partitions_def=REGIONS, backfill_policy=dg.BackfillPolicy.single_run())
    def not_a_dict(context: dg.AssetExecutionContext) -> int:
        return 1

    with pytest.raises(InvalidPath, match="dict of partition key"):
        dg.materialize([not_a_dict], resources={"io_manager": dagster_io_manager(store)}, tags=tags)
