"""sql-query: real queries on SQLite and PostgreSQL rendered as Parquet / CSV / Arrow IPC and
read back with pyarrow; read-only guarantees, capability gates and namespace behaviour."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from remote_store import Capability, CapabilitySet, Store
from remote_store.errors import CapabilityNotSupported, ConfigError, InvalidPath, NotFound, RemoteStoreError
from remote_store_sql import SQLQueryBackend
from testing.servers.sql import unique_prefix

ROWS = 2500


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``(url, table)`` of a database holding a ``ROWS``-row table; the table is dropped afterwards."""
    url = f"sqlite:///{tmp_path / 'q.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    table = f"{unique_prefix()}sales"
    engine = sa.create_engine(url)
    md = sa.MetaData()
    t = sa.Table(
        table,
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("region", sa.String(20)),
        sa.Column("amount", sa.Float),
        sa.Column("day", sa.Date),
        sa.Column("note", sa.Text, nullable=True),
    )
    md.create_all(engine)
    regions = ["north", "south", "east", "west"]
    with engine.begin() as conn:
        conn.execute(
            t.insert(),
            [
                {
                    "id": i,
                    "region": regions[i % 4],
                    "amount": i * 1.5,
                    "day": dt.date(2024, 1, 1) + dt.timedelta(days=i % 365),
                    "note": None if i % 7 else f'n,{i}"q"',
                }
                for i in range(ROWS)
            ],
        )
    yield url, table
    md.drop_all(engine)
    engine.dispose()


def _queries(table: str) -> dict[str, str]:
    return {
        "reports/all.parquet": f"SELECT id, region, amount, day, note FROM {table} ORDER BY id",
        "reports/all.csv": f"SELECT id, region, amount FROM {table} ORDER BY id",
        "reports/all.arrow": f"SELECT id, region, amount FROM {table} ORDER BY id",
        "reports/all.arrows": f"SELECT id, region FROM {table} ORDER BY id",
        "reports/by_region.parquet": (
            f"SELECT region, count(*) AS n, sum(amount) AS total FROM {table} GROUP BY region ORDER BY region"
        ),
        "empty.csv": f"SELECT id, region FROM {table} WHERE id < 0",
        "top.feather": f"SELECT id FROM {table} WHERE id < 3 ORDER BY id",
    }


@pytest.fixture
def store(db: tuple[str, str]) -> Iterator[Store]:
    url, table = db
    backend = SQLQueryBackend(url, queries=_queries(table), batch_size=1000)
    yield Store(backend)
    backend.close()


def test_parquet_round_trip_in_batches(store: Store) -> None:
    with store.read("reports/all.parquet") as f:
        table = pq.read_table(f)
    assert table.num_rows == ROWS
    assert table.column_names == ["id", "region", "amount", "day", "note"]
    assert table.column("id").to_pylist() == list(range(ROWS))
    assert table.column("amount").to_pylist()[10] == 15.0
    sqlite = store.unwrap(SQLQueryBackend).options["url"].startswith("sqlite")
    # SQLite stores dates as text (the driver returns str); PostgreSQL returns datetime.date.
    assert table.column("day").to_pylist()[0] == ("2024-01-01" if sqlite else dt.date(2024, 1, 1))
    assert table.column("note").to_pylist()[7] == 'n,7"q"'
    assert table.column("note").to_pylist()[8] is None
    # batch_size=1000 → the writer received three record batches → three row groups.
    with store.read("reports/all.parquet") as f:
        assert pq.ParquetFile(f).num_row_groups == 3


def test_csv_round_trip(store: Store) -> None:
    data = store.read_bytes("reports/all.csv")
    assert data.splitlines()[0] == b'"id","region","amount"'
    table = pacsv.read_csv(io.BytesIO(data))
    assert table.num_rows == ROWS
    assert table.column("region").to_pylist()[:5] == ["north", "south", "east", "west", "north"]
    assert table.column("amount").to_pylist()[-1] == (ROWS - 1) * 1.5


def test_arrow_ipc_file_and_stream(store: Store) -> None:
    with store.read("reports/all.arrow") as f:
        reader = ipc.open_file(f)
        table = reader.read_all()
        assert reader.num_record_batches == 3
    assert table.num_rows == ROWS
    assert table.column("id").to_pylist() == list(range(ROWS))
    stream_table = ipc.open_stream(store.read_bytes("reports/all.arrows")).read_all()
    assert stream_table.column("region").to_pylist()[:2] == ["north", "south"]
    assert ipc.open_file(store.read_bytes("top.feather")).read_all().column("id").to_pylist() == [0, 1, 2]


def test_aggregates(store: Store) -> None:
    table = pq.read_table(io.BytesIO(store.read_bytes("reports/by_region.parquet")))
    rows = {r["region"]: (r["n"], r["total"]) for r in table.to_pylist()}
    assert rows["north"][0] == ROWS // 4
    expected_total = sum(i * 1.5 for i in range(ROWS) if i % 4 == 0)
    assert float(rows["north"][1]) == pytest.approx(expected_total)


def test_empty_result_has_the_header(store: Store) -> None:
    assert store.read_bytes("empty.csv").strip() == b'"id","region"'


def test_metadata_size_matches_the_bytes_read(store: Store) -> None:
    for key in ("reports/all.csv", "reports/all.parquet", "top.feather"):
        info = store.get_file_info(key)
        data = store.read_bytes(key)
        assert info.size == len(data), key
        assert info.etag is not None
    csv_info = store.get_file_info("reports/all.csv")
    assert csv_info.content_type == "text/csv"
    assert store.get_file_info("reports/all.csv").etag == csv_info.etag  # deterministic output


def test_read_is_seekable(store: Store) -> None:
    assert Capability.SEEKABLE_READ in store.capabilities
    with store.read("reports/all.csv") as f:
        f.seek(0, io.SEEK_END)
        end = f.tell()
        f.seek(0)
        assert len(f.read()) == end


def test_listing_and_glob(store: Store) -> None:
    assert sorted(store.list_folders("")) == ["reports"]
    top = sorted(i.path for i in store.list_files(""))
    assert top == ["empty.csv", "top.feather"]
    assert sorted(i.path for i in store.glob("reports/*.parquet")) == [
        "reports/all.parquet",
        "reports/by_region.parquet",
    ]
    assert store.exists("reports/all.csv")
    assert not store.exists("reports")
    assert store.is_folder("reports")


def test_only_declared_queries_run(store: Store) -> None:
    with pytest.raises(NotFound):
        store.read_bytes("reports/other.csv")
    with pytest.raises(NotFound):
        store.get_file_info("SELECT 1.csv")
    with pytest.raises(InvalidPath):
        store.read_bytes("reports")


def test_capabilities_and_gates(store: Store) -> None:
    assert store.capabilities == CapabilitySet(
        {Capability.READ, Capability.LIST, Capability.GLOB, Capability.METADATA, Capability.SEEKABLE_READ}
    )
    for call in (
        lambda: store.write("x.csv", b"1"),
        lambda: store.write_atomic("x.csv", b"1"),
        lambda: store.delete("reports/all.csv"),
        lambda: store.delete_folder("reports", recursive=True),
        lambda: store.move("reports/all.csv", "b.csv"),
        lambda: store.copy("reports/all.csv", "b.csv"),
    ):
        with pytest.raises(CapabilityNotSupported):
            call()


def test_sessions_are_read_only(db: tuple[str, str]) -> None:
    url, table = db
    backend = SQLQueryBackend(url, queries={"evil.csv": f"DELETE FROM {table}"})
    with pytest.raises(RemoteStoreError):
        Store(backend).read_bytes("evil.csv")
    backend.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == ROWS
    engine.dispose()


def test_type_drift_after_the_first_batch_is_reported(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1), (2), ('text')")
    engine.dispose()
    backend = SQLQueryBackend(url, queries={"t.parquet": "SELECT v FROM t ORDER BY rowid"}, batch_size=2)
    with pytest.raises(RemoteStoreError, match="column types"):
        Store(backend).read_bytes("t.parquet")
    backend.close()


def test_results_are_fetched_in_batches(db: tuple[str, str]) -> None:
    url, table = db
    backend = SQLQueryBackend(url, queries={"a.arrows": f"SELECT id FROM {table} ORDER BY id"}, batch_size=300)
    reader = ipc.open_stream(Store(backend).read_bytes("a.arrows"))
    sizes = [b.num_rows for b in reader]
    assert sizes == [300] * (ROWS // 300) + [ROWS % 300]
    backend.close()


@pytest.mark.parametrize(
    "queries",
    [
        {"x.txt": "SELECT 1"},
        {"x.csv": "   "},
        {"../x.csv": "SELECT 1"},
        {"a.csv": "SELECT 1", "a.csv/b.csv": "SELECT 2"},
    ],
)
def test_invalid_queries_raise_config_error(queries: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        SQLQueryBackend("sqlite://", queries=queries)


def test_pickles_by_options(tmp_path: Path) -> None:
    backend = SQLQueryBackend(f"sqlite:///{tmp_path / 'p.db'}", queries={"one.csv": "SELECT 1 AS one"}, batch_size=5)
    clone = pickle.loads(pickle.dumps(backend))
    assert clone.options == backend.options
    assert pacsv.read_csv(io.BytesIO(Store(clone).read_bytes("one.csv"))).to_pylist() == [{"one": 1}]
    clone.close()
    backend.close()


def test_decimal_and_timestamp_columns_on_postgres(postgres_url: str) -> None:
    backend = SQLQueryBackend(
        postgres_url,
        queries={
            "types.parquet": (
                "SELECT 12.50::numeric(10,2) AS price, TIMESTAMP '2024-05-06 07:08:09' AS ts, 'x'::text AS s"
            )
        },
    )
    table = pq.read_table(io.BytesIO(Store(backend).read_bytes("types.parquet")))
    row = table.to_pylist()[0]
    assert row["price"] == decimal.Decimal("12.50")
    assert row["ts"] == dt.datetime(2024, 5, 6, 7, 8, 9)
    assert pa.types.is_timestamp(table.schema.field("ts").type)
    backend.close()
