"""The Dask job: a ``LocalCluster`` (2 worker processes) reads a Hive-partitioned Parquet
dataset from S3 (moto) through the ``rs`` file system, aggregates, and writes the result to
SFTP (sshd). The stores reach the workers pickled by configuration; no credential appears
in the task graph's repr. Bounded: one small dataset, one cluster, well under 60 s.
"""

from __future__ import annotations

import os
import pickle
import uuid
from collections.abc import Iterator
from typing import Any

import dask.dataframe as dd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from remote_store import Store
from remote_store_ext.arrow import pyarrow_fs
from remote_store_ext.fsspec import RemoteStoreFileSystem
from testing.servers.s3 import MotoS3Server
from testing.servers.sftp import SFTPServer


@pytest.fixture
def s3_lake(s3_server: MotoS3Server, s3_bucket: str) -> Iterator[tuple[Store, str]]:
    """An S3 store signed with a unique canary secret (moto accepts any key pair)."""
    from remote_store_s3 import S3Backend

    canary = f"canary-{uuid.uuid4().hex}"
    backend = S3Backend(**s3_server.backend_options(s3_bucket, secret_access_key=canary))
    yield Store(backend, "lake"), canary
    backend.close()


@pytest.fixture
def sftp_out(sftp_server_session: SFTPServer, sftp_base: str) -> Iterator[Store]:
    from remote_store_sftp import SFTPBackend

    srv = sftp_server_session
    backend = SFTPBackend(
        host=srv.host,
        port=srv.port,
        username=srv.username,
        private_key=srv.client_key,
        known_hosts=srv.known_hosts,
        base_path=sftp_base,
        operation_timeout=30.0,
    )
    yield Store(backend)
    backend.close()


def _graph_repr(collection: Any) -> str:
    graph = collection.__dask_graph__()
    return repr(dict(graph)) + repr(graph)


def test_local_cluster_s3_hive_parquet_to_sftp(s3_lake: tuple[Store, str], sftp_out: Store) -> None:
    from distributed import Client, LocalCluster

    lake, canary = s3_lake
    years = [2022, 2023, 2024]
    table = pa.table(
        {
            "year": [years[i % 3] for i in range(300)],
            "region": [f"r{i % 4}" for i in range(300)],
            "amount": [float(i) for i in range(300)],
        }
    )
    pq.write_to_dataset(table, "sales", partition_cols=["year"], filesystem=pyarrow_fs(lake))
    parts = sorted(i.path for i in lake.list_files("sales", recursive=True))
    assert [p.split("/")[1] for p in parts] == ["year=2022", "year=2023", "year=2024"]

    fs_in = RemoteStoreFileSystem(store=lake)
    fs_out = RemoteStoreFileSystem(store=sftp_out)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        worker_pids = set(client.run(os.getpid).values())
        assert len(worker_pids) == 2 and os.getpid() not in worker_pids

        ddf = dd.read_parquet("sales", filesystem=fs_in)
        assert "year" in ddf.columns  # the Hive partition key became a column
        agg = ddf.groupby("year").amount.agg(["sum", "count"]).reset_index()
        shown = _graph_repr(agg)
        assert canary not in shown  # the graph names no credential …
        # … although the store it carries is the real one: it travels pickled by config.
        assert canary.encode() in pickle.dumps(fs_in)
        assert canary not in repr(fs_in) + repr(lake)
        agg.to_parquet("result", filesystem=fs_out, write_index=False)

        # The work ran in the worker processes: each opened the stores from their pickled config.
        def pid_of_task(_: Any) -> int:
            return os.getpid()

        ran_on = set(client.gather(client.map(pid_of_task, range(8))))
        assert ran_on <= worker_pids

    result = pq.read_table("result", filesystem=pyarrow_fs(sftp_out)).to_pandas().sort_values("year")
    assert [int(y) for y in result["year"]] == years
    expected = {y: sum(float(i) for i in range(300) if years[i % 3] == y) for y in years}
    assert dict(zip((int(y) for y in result["year"]), result["sum"], strict=True)) == expected
    assert list(result["count"]) == [100, 100, 100]
    assert all(i.path.startswith("result/") for i in sftp_out.list_files("result"))
