"""Table definitions of the ``sql-blob`` store (SQLAlchemy Core).

Two tables per store, named ``<table_prefix>files`` and ``<table_prefix>chunks``:

``files`` — one row per file:

=================  ===============================================================
``key``            the file's key; primary key, compared byte-wise (``COLLATE "C"`` on
                   PostgreSQL, ``VARBINARY`` on MariaDB/MySQL, SQLite's BINARY), so prefix
                   range scans ``key >= 'a/' AND key < 'a0'`` are exact and indexed
``blob_id``        32 hex characters naming the file's chunk rows (a new id per write)
``size``           content length in bytes
``chunk_size``     bytes per chunk row of this file (every chunk but the last is full)
``modified_us``    modification time, microseconds since the Unix epoch (UTC)
``etag``           MD5 of the content, lower-case hex
``user_metadata``  user metadata as a JSON object, or NULL when empty
=================  ===============================================================

``chunks`` — the content, ``(blob_id, seq)`` primary key, ``data`` up to ``chunk_size``
bytes (``LONGBLOB`` on MariaDB/MySQL, ``BYTEA`` on PostgreSQL, ``BLOB`` on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from remote_store_sql._keys import MAX_KEY_BYTES

_MYSQL = ("mysql", "mariadb")


class _MySQLKey(sa.types.TypeDecorator[str]):
    """``VARBINARY(1024)`` holding UTF-8 keys (MariaDB/MySQL text collations ignore case and trailing spaces)."""

    impl = mysql.VARBINARY(MAX_KEY_BYTES)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        return value.encode("utf-8") if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode("utf-8")
        return value  # type: ignore[no-any-return]


def key_type() -> TypeEngine[str]:
    """The file key column type: compared byte-wise on every dialect, no per-row conversion but on MySQL.

    PostgreSQL: ``TEXT COLLATE "C"``; MariaDB/MySQL: ``VARBINARY(1024)`` with UTF-8
    encoding in Python; SQLite and others: ``TEXT`` (SQLite compares with ``memcmp``).
    """
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql").with_variant(_MySQLKey(), *_MYSQL)


def _blob_type() -> TypeEngine[bytes]:
    return sa.LargeBinary().with_variant(mysql.LONGBLOB(), *_MYSQL)


@dataclass(frozen=True, slots=True)
class Tables:
    """The two tables of one ``sql-blob`` store.

    Attributes:
        metadata: The `sqlalchemy.MetaData` holding both tables (``create_all`` / ``drop_all``).
        files: The file-row table.
        chunks: The content-chunk table.
    """

    metadata: sa.MetaData
    files: sa.Table
    chunks: sa.Table


def make_tables(table_prefix: str, schema: str | None) -> Tables:
    """Build the table objects for ``table_prefix`` in ``schema`` (no I/O)."""
    md = sa.MetaData(schema=schema)
    files = sa.Table(
        f"{table_prefix}files",
        md,
        sa.Column("key", key_type(), primary_key=True),
        sa.Column("blob_id", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("chunk_size", sa.Integer, nullable=False),
        sa.Column("modified_us", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(64), nullable=True),
        sa.Column("user_metadata", sa.Text, nullable=True),
    )
    chunks = sa.Table(
        f"{table_prefix}chunks",
        md,
        sa.Column("blob_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("data", _blob_type(), nullable=False),
    )
    return Tables(md, files, chunks)
