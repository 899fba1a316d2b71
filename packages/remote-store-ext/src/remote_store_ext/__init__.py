"""remote-store-ext: composable extensions on top of the public `remote_store` API.

Each module is importable as ``remote_store_ext.<name>`` and, through the alias that
``remote_store.ext`` installs, as ``remote_store.ext.<name>`` (the same module object):

- `arrow` — any Store as a ``pyarrow.fs`` filesystem (extra ``arrow``);
- `batch` — copy/delete/exists over many paths with partial-failure reporting;
- `cache` — read-through caching (`CachedStore`, `MemoryCache`, `DiskCache`);
- `dagster` — Dagster IO manager, store resource and compute log manager (extra ``dagster``);
- `datastore` — `DataStore`: ``ds["sales"] = df`` over any Store, with pluggable format codecs
  (JSON, JSON Lines, text, bytes, YAML, NumPy, Parquet/CSV for pandas, Polars and PyArrow);
- `fsspec` — any Store as an fsspec filesystem, protocol ``rs://STORE/path`` (extra ``fsspec``);
- `fsspec_backend` — ``type = "fsspec"``: any fsspec file system as a backend (extra ``fsspec``);
- `glob` — portable glob for backends without ``Capability.GLOB``;
- `integrity` — client-side checksums and verification;
- `middleware` — ``cache`` / ``observe`` / ``otel`` as config middleware
  (``[stores.x] middleware = ["cache", "observe"]``);
- `observe` — structured events for every store operation;
- `otel` — OpenTelemetry spans and metrics per operation (extra ``otel``);
- `parquet` — Parquet datasets committed by manifest and ``_SUCCESS`` (extra ``arrow``);
- `partition` — Hive-style ``key=value`` partition paths;
- `path` — `StorePath`, a ``pathlib``-style path over a Store (``StorePath("reports:2026/x.csv")``);
- `streams` — progress and checksum stream wrappers;
- `transfer` — upload / download / store-to-store copy with progress;
- `write` — writes that always return a client-side digest;
- `yaml` — ``remote-store.yaml`` config files (extra ``yaml``).

Extensions never close a store they did not open. Importing this package imports no
extension module (each is loaded on first import).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
