"""Polars and DuckDB read/write round trips through ``rs://`` on S3 (moto) and SFTP (sshd).

The stores are named in a config file (``$REMOTE_STORE_CONFIG``) and opened by the ``rs``
fsspec protocol, the way a data team would use them.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import fsspec
import polars as pl
import pytest

from remote_store import open_store
from testing.servers.s3 import MotoS3Server
from testing.servers.sftp import SFTPServer


@pytest.fixture
def named(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: MotoS3Server,
    s3_bucket: str,
    sftp_server_session: SFTPServer,
    sftp_base: str,
) -> dict[str, str]:
    """Store names (unique per test) for one S3 and one SFTP store in a config file."""
    s3_name, sftp_name = f"s3{uuid.uuid4().hex[:8]}", f"sftp{uuid.uuid4().hex[:8]}"
    srv = sftp_server_session
    cfg = tmp_path / "remote-store.toml"
    cfg.write_text(
        f'[backends.obj]\ntype = "s3"\noptions.bucket = "{s3_bucket}"\n'
        f'options.endpoint_url = "{s3_server.endpoint_url}"\noptions.region = "{s3_server.region}"\n'
        f'options.access_key_id = "{s3_server.access_key_id}"\n'
        f'options.secret_access_key = "{s3_server.secret_access_key}"\n'
        f'[backends.ssh]\ntype = "sftp"\noptions.host = "{srv.host}"\noptions.port = {srv.port}\n'
        f'options.username = "{srv.username}"\noptions.private_key = "{srv.client_key}"\n'
        f'options.known_hosts = "{srv.known_hosts}"\noptions.base_path = "{sftp_base}"\n'
        f'[stores.{s3_name}]\nbackend = "obj"\nroot_path = "lake"\n'
        f'[stores.{sftp_name}]\nbackend = "ssh"\n'
    )
    monkeypatch.setenv("REMOTE_STORE_CONFIG", str(cfg))
    return {"s3": s3_name, "sftp": sftp_name}


KINDS = ["s3", "sftp"]


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"id": list(range(100)), "city": [f"c{i % 7}" for i in range(100)], "v": [i * 0.5 for i in range(100)]}
    )


@pytest.mark.parametrize("kind", KINDS)
def test_polars_parquet_and_csv_round_trip(named: dict[str, str], kind: str) -> None:
    name = named[kind]
    df = _frame()
    with fsspec.open(f"rs://{name}/polars/df.parquet", "wb") as f:
        df.write_parquet(f)
    with fsspec.open(f"rs://{name}/polars/df.csv", "wb") as f:
        df.write_csv(f)
    with fsspec.open(f"rs://{name}/polars/df.parquet", "rb") as f:
        back = pl.read_parquet(f)
    with fsspec.open(f"rs://{name}/polars/df.csv", "rb") as f:
        back_csv = pl.read_csv(f)
    assert back.equals(df) and back_csv.equals(df)
    # The bytes really are in the named store (read back through the Store API).
    store = open_store(name)
    assert sorted(i.path for i in store.list_files("polars")) == ["polars/df.csv", "polars/df.parquet"]
    assert store.read_bytes("polars/df.csv").startswith(b"id,city,v\n0,c0,0.0\n")
    store.close()


@pytest.mark.parametrize("kind", KINDS)
def test_duckdb_copy_to_and_read_parquet(named: dict[str, str], kind: str) -> None:
    name = named[kind]
    con = duckdb.connect()
    try:
        con.register_filesystem(fsspec.filesystem("rs"))
        con.sql(
            f"COPY (SELECT i AS id, i % 3 AS grp, i * 2 AS v FROM range(60) t(i)) "
            f"TO 'rs://{name}/duck/t.parquet' (FORMAT parquet)"
        )
        rows = con.sql(
            f"SELECT grp, count(*), sum(v) FROM read_parquet('rs://{name}/duck/t.parquet') GROUP BY grp ORDER BY grp"
        ).fetchall()
        assert rows == [
            (0, 20, sum(i * 2 for i in range(60) if i % 3 == 0)),
            (1, 20, sum(i * 2 for i in range(60) if i % 3 == 1)),
            (2, 20, sum(i * 2 for i in range(60) if i % 3 == 2)),
        ]
        # DuckDB reads what Polars wrote, through the same protocol.
        with fsspec.open(f"rs://{name}/duck/from_polars.parquet", "wb") as f:
            _frame().write_parquet(f)
        n = con.sql(f"SELECT count(*), max(id) FROM 'rs://{name}/duck/from_polars.parquet'").fetchall()
        assert n == [(100, 99)]
    finally:
        con.close()
    store = open_store(name)
    assert store.get_file_info("duck/t.parquet").size > 0
    store.close()
