"""Listing of the sql-blob store: keyset-paginated range scans on the primary key.

``key >= 'a/' AND key < 'a0'`` with the key compared byte-wise; no connection or cursor
is held between pages, and sub-folders beyond the wanted depth are skipped with one index
seek each. A store with nothing written yet lists nothing (and creates nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from remote_store import FileInfo, FolderInfo
from remote_store.errors import NotFound
from remote_store.kit import compile_glob
from remote_store_sql._db import Db, run_query
from remote_store_sql._keys import folder_upper, glob_literal, next_string
from remote_store_sql._reads import dt, info

#: Rows per listing page: the first page is small (fast first result), later pages grow.
FIRST_PAGE = 1000
MAX_PAGE = 10000


def scan(
    db: Db, base: str, lo: str, hi: str | None, depth: int | None, columns: list[Any]
) -> Iterator[tuple[str | None, Any]]:
    """Keyset-paginated range scan over ``[lo, hi)`` in key order.

    Yields ``(None, row)`` for rows within ``depth`` segments below ``base`` (``base``
    ends with ``/`` or is ``""``), and ``(folder, None)`` once per sub-folder at that depth,
    whose rows are then skipped with one index seek.
    """
    k = db.t.files.c.key
    inclusive = True
    page = FIRST_PAGE
    cut = len(base)
    while True:
        stmt = sa.select(*columns).where(k >= lo if inclusive else k > lo)
        if hi is not None:
            stmt = stmt.where(k < hi)
        stmt = stmt.order_by(k).limit(page)
        rows = run_query(db, _fetch_all(stmt), lambda: None)
        if rows is None:
            return
        jumped = False
        for row in rows:
            key = row[0]  # the key is the first column of every scan
            if depth is not None:
                parts = key[cut:].split("/", depth)
                if len(parts) > depth:
                    folder = base + "/".join(parts[:depth])
                    yield folder, None
                    lo, inclusive, jumped = folder_upper(folder), True, True
                    break
            yield None, row
            lo, inclusive = key, False
        if not jumped and len(rows) < page:
            return
        page = min(page * 2, MAX_PAGE)


def _fetch_all(stmt: Any) -> Callable[[Connection], list[Any] | None]:
    def fetch(conn: Connection) -> list[Any] | None:
        return list(conn.execute(stmt).all())

    return fetch


def iter_files(db: Db, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
    """Files below ``prefix`` in key order (sub-folders past the depth skipped by index seek)."""
    base = prefix + "/" if prefix else ""
    hi = folder_upper(prefix) if prefix else None
    depth = None if recursive and max_depth is None else (1 if not recursive else max_depth)
    for _, row in scan(db, base, base, hi, depth, db.q.info_columns):
        if row is not None:
            yield info(row)


def iter_folders(db: Db, prefix: str) -> Iterator[str]:
    """Direct sub-folders of ``prefix`` (derived from keys; one index seek per folder)."""
    base = prefix + "/" if prefix else ""
    hi = folder_upper(prefix) if prefix else None
    for folder, _ in scan(db, base, base, hi, 1, [db.t.files.c.key]):
        if folder is not None:
            yield folder


def glob(db: Db, pattern: str) -> Iterator[FileInfo]:
    """Keys matching ``pattern``, scanning only the range of its literal leading text."""
    regex = compile_glob(pattern)
    norm = "/".join(s for s in pattern.strip("/").split("/") if s not in ("", "."))
    literal = glob_literal(norm)
    depth = None if "**" in norm else norm.count("/") + 1
    hi = next_string(literal) if literal else None
    for _, row in scan(db, "", literal, hi, depth, db.q.info_columns):
        if row is not None and regex.fullmatch(row.key):
            yield info(row)


def folder_info(db: Db, key: str) -> FolderInfo:
    """``SELECT count(*), sum(size), max(modified_us)`` over the folder's key range."""
    f = db.t.files
    stmt = sa.select(sa.func.count(), sa.func.sum(f.c.size), sa.func.max(f.c.modified_us))
    if key:
        stmt = stmt.where(f.c.key >= key + "/", f.c.key < folder_upper(key))
    count, total, newest = run_query(db, lambda conn: tuple(conn.execute(stmt).one()), lambda: (0, None, None))
    if key and not count:
        raise NotFound("folder not found", path=key)
    return FolderInfo(
        path=key,
        file_count=int(count),
        total_size=int(total or 0),
        modified_at=dt(newest) if newest is not None else None,
    )
