"""Hook implementations registering ``sql-blob`` and ``sql-query`` (imports no SQLAlchemy)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from remote_store import BackendSpec, UrlResolution, hookimpl
from remote_store.errors import ConfigError

#: Query parameters of a store URL that configure the backend (removed from the database URL).
URL_OPTIONS = {
    "table_prefix": str,
    "schema": str,
    "chunk_size": int,
    "max_file_size": int,
    "create_tables": bool,
    "connect_timeout": float,
    "timeout": float,
    "busy_timeout": float,
}


@hookimpl
def remote_store_register_backends(register: Callable[[BackendSpec], None]) -> None:
    register(
        BackendSpec(
            "sql-blob",
            "remote_store_sql._backend:SQLBlobBackend",
            "remote-store-sql",
            ("sqlite", "sql+sqlite", "sql+postgresql", "sql+mysql", "sql+mariadb"),
            "remote_store_sql._plugin:blob_from_url",
            "Files in SQL tables (SQLite, PostgreSQL, MariaDB/MySQL) via SQLAlchemy",
        )
    )
    register(
        BackendSpec(
            "sql-query",
            "remote_store_sql._query:SQLQueryBackend",
            "remote-store-sql",
            (),
            None,
            "Read-only named SQL queries rendered as Parquet / CSV / Arrow IPC (needs pyarrow)",
        )
    )


def _as_bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def parse_store_url(url: str) -> tuple[dict[str, object], str]:
    """Split a store URL into ``SQLBlobBackend`` options and a store root.

    ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite://`` (in-memory), and
    ``sql+<SQLAlchemy URL>`` (``sql+postgresql+psycopg://user:pw@host/db``,
    ``sql+mysql+pymysql://root@host/db``). Query parameters ``table_prefix``, ``schema``,
    ``chunk_size``, ``max_file_size``, ``create_tables``, ``connect_timeout``, ``timeout``
    (seconds) and ``busy_timeout`` set those options and ``root``
    sets the store's root folder; other parameters stay in the database URL.

    Returns:
        ``(options, root_path)``.

    Raises:
        ConfigError: A configuring parameter has a value of the wrong type (``timeout=abc``).
    """
    text = url[len("sql+") :] if url.startswith("sql+") else url
    base, _, query = text.partition("?")
    options: dict[str, object] = {}
    root = ""
    kept: list[tuple[str, str]] = []
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if name == "root":
            root = value
        elif name in URL_OPTIONS:
            kind = URL_OPTIONS[name]
            try:
                options[name] = _as_bool(value) if kind is bool else kind(value)
            except ValueError:
                raise ConfigError(f"URL parameter {name!r} must be a {kind.__name__}, got {value!r}") from None
        else:
            kept.append((name, value))
    options["url"] = base + ("?" + urllib.parse.urlencode(kept) if kept else "")
    return options, root


def blob_from_url(parts: urllib.parse.SplitResult) -> tuple[dict[str, object], str]:
    """``BackendSpec.from_url`` for the registered schemes (see `parse_store_url`)."""
    text = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if parts.query:
        text += f"?{parts.query}"
    return parse_store_url(text)


@hookimpl
def remote_store_resolve_url(url: str) -> UrlResolution | None:
    """Open ``sqlite://…`` and any ``sql+<dialect>[+<driver>]://…`` URL as an ``sql-blob`` store."""
    scheme = url.partition("://")[0].lower()
    if scheme != "sqlite" and not scheme.startswith("sql+"):
        return None
    options, root = parse_store_url(url)
    return UrlResolution("sql-blob", options, root)
