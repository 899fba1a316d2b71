"""remote-store backends on SQL databases, built on SQLAlchemy 2 Core.

* ``sql-blob`` (`SQLBlobBackend`): a read/write file store in two tables (file rows and
  content chunk rows) on SQLite, PostgreSQL or MariaDB/MySQL.
* ``sql-query`` (`SQLQueryBackend`): a read-only store whose files are named queries,
  rendered as Parquet, CSV or Arrow IPC on read (needs the ``query`` extra: pyarrow).

Importing this package imports neither SQLAlchemy nor pyarrow; the backend classes are
loaded on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remote_store_sql._backend import SQLBlobBackend
    from remote_store_sql._query import SQLQueryBackend

__all__ = ["SQLBlobBackend", "SQLQueryBackend"]

_LAZY = {
    "SQLBlobBackend": "remote_store_sql._backend",
    "SQLQueryBackend": "remote_store_sql._query",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'remote_store_sql' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
