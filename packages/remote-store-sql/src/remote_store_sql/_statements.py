"""The sql-blob statements, built once per backend with named bind parameters (compiled once, cached).

Placement checks compare the key with its ancestors through one expanding ``IN`` list
(``key IN (:parents)``), never a chain of ``OR`` terms: a key of 500 segments stays one
flat list instead of an expression tree SQLite refuses ("Expression tree is too large").
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remote_store_sql._schema import Tables

#: File-row columns in the order `info_columns` / `FileInfo` rows use.
INFO_COLUMNS = ("key", "size", "modified_us", "etag", "user_metadata")
_ROW_COLUMNS = ["key", "blob_id", "size", "chunk_size", "modified_us", "etag", "user_metadata"]


class Statements:
    """Every statement the blob backend runs, as attributes (see each attribute's SQL)."""

    def __init__(self, t: Tables) -> None:
        f, ch = t.files, t.chunks
        k = f.c.key
        self.info_columns: list[Any] = [f.c[name] for name in INFO_COLUMNS]
        self.exists = sa.select(sa.literal(1)).select_from(f).where(k == sa.bindparam("key"))
        self.has_below = (
            sa.select(sa.literal(1)).select_from(f).where(k >= sa.bindparam("lo"), k < sa.bindparam("hi")).limit(1)
        )
        self.stat = sa.select(*self.info_columns).where(k == sa.bindparam("key"))
        self.lock_blob_id = sa.select(f.c.blob_id).where(k == sa.bindparam("key")).with_for_update()
        self.update_file = f.update().where(k == sa.bindparam("b_key"))
        self.insert_chunk = ch.insert()
        self.delete_chunks = ch.delete().where(ch.c.blob_id == sa.bindparam("blob_id"))
        self.chunk_range = (
            sa.select(ch.c.seq, ch.c.data)
            .where(
                ch.c.blob_id == sa.bindparam("blob_id"),
                ch.c.seq >= sa.bindparam("first"),
                ch.c.seq <= sa.bindparam("last"),
            )
            .order_by(ch.c.seq)
        )
        self.open_read = (
            sa.select(f.c.blob_id, f.c.size, f.c.chunk_size, ch.c.data)
            .select_from(f.outerjoin(ch, sa.and_(ch.c.blob_id == f.c.blob_id, ch.c.seq == 0)))
            .where(k == sa.bindparam("key"))
        )
        # An inner join: MariaDB sorts an outer join's rows in a temporary table.
        self.read_all = (
            sa.select(f.c.size, ch.c.data)
            .select_from(f.join(ch, ch.c.blob_id == f.c.blob_id))
            .where(k == sa.bindparam("key"))
            .order_by(ch.c.seq)
        )
        # SELECT key … WHERE key IN (:parents) OR (key >= :lo AND key < :hi) LIMIT 1
        self.placement = sa.select(k).where(self._conflict(k)).limit(1)
        # INSERT INTO files … SELECT :values WHERE NOT EXISTS (placement conflict) [RETURNING key]
        other = f.alias("other")
        conflict = sa.select(sa.literal(1)).select_from(other).where(self._conflict(other.c.key))
        values = sa.select(*(sa.bindparam(name, type_=f.c[name].type) for name in _ROW_COLUMNS)).where(
            ~sa.exists(conflict)
        )
        self.insert_checked = f.insert().from_select(_ROW_COLUMNS, values)
        self.insert_checked_returning = self.insert_checked.returning(f.c.key)

    @staticmethod
    def _conflict(k: Any) -> Any:
        parents = k.in_(sa.bindparam("parents", expanding=True))
        return sa.or_(parents, sa.and_(k >= sa.bindparam("lo"), k < sa.bindparam("hi")))
