"""Dagster integration (extra ``dagster``): an IO manager, a store resource and a compute log manager.

::

    import dagster as dg
    from remote_store_ext.dagster import DagsterStoreResource, RemoteStoreIOManager

    @dg.asset
    def sales() -> dict[str, int]:
        return {"north": 3, "south": 5}          # kept as dagster/sales.json

    dg.materialize(
        [sales],
        resources={"io_manager": RemoteStoreIOManager(store=DagsterStoreResource(store="warehouse"))},
    )

- `RemoteStoreIOManager`: config-driven IO manager; assets (and each partition) are saved
  under a store prefix through the `remote_store_ext.datastore` codecs (Parquet for data
  frames, JSON for dicts …) and read back by the downstream assets.
- `dagster_io_manager` / `StoreIOManager`: the same over a `Store` you already hold.
- `DagsterStoreResource`: a resource that opens a Store from config (a store name, a URL, or
  a backend table), for assets that read and write files themselves.
- `RemoteStoreComputeLogManager`: the instance's compute logs (stdout / stderr) in a Store.

Available as ``remote_store.ext.dagster``.
"""

from __future__ import annotations

from remote_store_ext._dagster_io import DagsterStoreResource, RemoteStoreIOManager, StoreIOManager, dagster_io_manager
from remote_store_ext._dagster_logs import RemoteStoreComputeLogManager

__all__ = [
    "DagsterStoreResource",
    "RemoteStoreComputeLogManager",
    "RemoteStoreIOManager",
    "StoreIOManager",
    "dagster_io_manager",
]
