"""sql-blob behaviour the conformance suite cannot express: schema, chunking, SQL-level
guarantees, dialect quirks, concurrency across processes, configuration and URLs."""

from __future__ import annotations

import hashlib
import io
import math
import pickle
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from remote_store import Secret, Store, open_url
from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    InvalidPath,
    RemoteStoreError,
)
from remote_store_sql import SQLBlobBackend
from testing.servers._common import free_port

DIALECTS = ["sql_blob_sqlite", "sql_blob_memory", "sql_blob_postgres", "sql_blob_mysql"]
SERVER_DIALECTS = ["sql_blob_postgres", "sql_blob_mysql"]


@pytest.fixture(params=DIALECTS)
def make(request: pytest.FixtureRequest) -> Callable[..., SQLBlobBackend]:
    """Factory of fresh backends on each dialect (tables dropped after the test)."""
    factory: Callable[..., SQLBlobBackend] = request.getfixturevalue(request.param)
    return factory


@pytest.fixture(params=SERVER_DIALECTS)
def make_server(request: pytest.FixtureRequest) -> Callable[..., SQLBlobBackend]:
    """Factory on the client/server databases only (real concurrent transactions)."""
    factory: Callable[..., SQLBlobBackend] = request.getfixturevalue(request.param)
    return factory


def _rows(backend: SQLBlobBackend, table: sa.Table) -> list[Any]:
    with backend.engine.connect() as conn:
        return list(conn.execute(sa.select(table)).all())


def _assert_no_orphan_chunks(backend: SQLBlobBackend) -> None:
    """Every chunk row belongs to a file row, and each file has exactly ceil(size/chunk_size) chunks."""
    files = {r.blob_id: r for r in _rows(backend, backend.tables.files)}
    counts: dict[str, int] = {}
    for chunk in _rows(backend, backend.tables.chunks):
        assert chunk.blob_id in files, f"orphan chunk rows of blob {chunk.blob_id}"
        counts[chunk.blob_id] = counts.get(chunk.blob_id, 0) + 1
    for blob_id, row in files.items():
        assert counts.get(blob_id, 0) == math.ceil(row.size / row.chunk_size), row.key


class _StatementLog:
    """Records the SQL statements (and parameters) an engine executes."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements: list[tuple[str, Any]] = []

    def _on(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        self.statements.append((statement, parameters))

    def __enter__(self) -> _StatementLog:
        sa.event.listen(self.engine, "after_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "after_cursor_execute", self._on)

    def selects(self, table: str) -> list[tuple[str, Any]]:
        return [(s, p) for s, p in self.statements if s.lstrip().upper().startswith("SELECT") and table in s]


# ---------------------------------------------------------------------- schema and chunking
def test_content_is_split_into_chunk_rows(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make(chunk_size=1000)
    data = bytes(range(256)) * 10  # 2,560 bytes → 3 chunks
    result = Store(backend).write("a/b.bin", data)
    assert result.etag == hashlib.md5(data).hexdigest()
    (row,) = _rows(backend, backend.tables.files)
    assert (row.key, row.size, row.chunk_size, row.etag) == ("a/b.bin", len(data), 1000, result.etag)
    chunks = sorted(_rows(backend, backend.tables.chunks), key=lambda r: r.seq)
    assert [c.seq for c in chunks] == [0, 1, 2]
    assert [len(c.data) for c in chunks] == [1000, 1000, 560]
    assert b"".join(bytes(c.data) for c in chunks) == data
    assert all(c.blob_id == row.blob_id for c in chunks)


def test_files_keep_their_chunk_size_when_the_option_changes(sqlite_url: str, sql_table_prefix: str) -> None:
    first = SQLBlobBackend(sqlite_url, table_prefix=sql_table_prefix, chunk_size=100)
    data = bytes(range(250)) * 3
    Store(first).write("f.bin", data)
    second = SQLBlobBackend(sqlite_url, table_prefix=sql_table_prefix, chunk_size=64)
    with Store(second).read("f.bin") as f:
        f.seek(333)
        assert f.read(200) == data[333:533]
    assert Store(second).read_bytes("f.bin") == data
    first.close()
    second.close()


def test_read_fetches_only_the_chunks_it_touches(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make(chunk_size=1024)
    data = hashlib.sha256(b"x").digest() * 320  # 10,240 bytes → 10 chunks
    store = Store(backend)
    store.write("big.bin", data)
    chunks_table = backend.tables.chunks.name
    with _StatementLog(backend.engine) as log:
        with store.read("big.bin") as f:
            assert f.seekable()
            f.seek(5000)
            assert f.read(100) == data[5000:5100]
            f.seek(-10, io.SEEK_END)
            assert f.read() == data[-10:]
    chunk_queries = log.selects(chunks_table)
    # Open: file row + chunk 0 (MariaDB: once outside, once inside the snapshot); then chunk 4, chunk 9.
    opens = 2 if backend.engine.dialect.name in ("mysql", "mariadb") else 1
    assert len(chunk_queries) == opens + 2, chunk_queries
    range_params = [p for _, p in chunk_queries[opens:]]
    flat = [sorted(v for v in (p.values() if isinstance(p, dict) else p) if isinstance(v, int)) for p in range_params]
    assert flat == [[4, 4], [9, 9]]


def test_an_open_reader_keeps_its_version_when_the_file_is_replaced_or_deleted(
    make: Callable[..., SQLBlobBackend],
) -> None:
    backend = make(chunk_size=1024)
    store = Store(backend)
    store.write("f.bin", b"a" * 5000)
    store.write("g.bin", b"c" * 5000)
    with store.read("f.bin") as f, store.read("g.bin") as g:
        assert f.read(1024) == b"a" * 1024
        assert g.read(10) == b"c" * 10
        store.write("f.bin", b"b" * 7000, overwrite=True)
        store.delete("g.bin")
        assert f.read() == b"a" * 3976
        f.seek(0)
        assert f.read() == b"a" * 5000
        assert g.read() == b"c" * 4990
    assert store.read_bytes("f.bin") == b"b" * 7000
    assert not store.exists("g.bin")
    store.write("later", b"x")  # in-memory SQLite deletes chunk sets released by readers on the next write
    _assert_no_orphan_chunks(backend)


def test_in_memory_readers_pin_their_chunk_set_through_folder_deletes(
    sql_blob_memory: Callable[..., SQLBlobBackend],
) -> None:
    backend = sql_blob_memory(chunk_size=100)
    store = Store(backend)
    store.write("d/a", b"a" * 1000)
    store.write("d/b", b"b" * 1000)
    f = store.read("d/a")
    assert f.read(10) == b"a" * 10
    store.delete_folder("d", recursive=True)
    store.write("d/a", b"new" * 500)
    assert f.read() == b"a" * 990  # the old chunk rows outlived their file row
    assert len(_rows(backend, backend.tables.chunks)) > 15  # old set (10) still there + the new one
    f.close()
    store.write("x", b"1")
    _assert_no_orphan_chunks(backend)


def test_small_files_are_read_with_one_query(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make()
    store = Store(backend)
    store.write("s.txt", b"small")
    with _StatementLog(backend.engine) as log:
        assert store.read_bytes("s.txt") == b"small"
        with store.read("s.txt") as f:
            assert f.read() == b"small"
    selects = [s for s, _ in log.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2


# ---------------------------------------------------------------------- transactions
def test_overwrite_and_deletes_leave_no_orphan_chunks(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make(chunk_size=512)
    store = Store(backend)
    store.write("a/one.bin", b"1" * 2000)
    store.write("a/one.bin", b"2" * 700, overwrite=True)
    store.write("a/two.bin", b"3" * 1500)
    store.copy("a/two.bin", "b/two.bin")
    store.copy("a/one.bin", "b/two.bin", overwrite=True)
    store.write("c/three.bin", b"4" * 1025)
    store.move("c/three.bin", "b/two.bin", overwrite=True)
    _assert_no_orphan_chunks(backend)
    assert store.read_bytes("b/two.bin") == b"4" * 1025
    store.delete("a/one.bin")
    store.delete_folder("b", recursive=True)
    _assert_no_orphan_chunks(backend)
    assert [i.path for i in store.list_files("", recursive=True)] == ["a/two.bin"]
    assert len(_rows(backend, backend.tables.chunks)) == 3


def test_a_failing_stream_keeps_the_previous_version(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make(chunk_size=1024)
    store = Store(backend)
    store.write("f.bin", b"old" * 1000)

    def chunks() -> Iterator[bytes]:
        yield b"n" * 3000
        yield b"e" * 3000
        raise OSError("source broke")

    # The caller's own error comes back unchanged (Store does not translate content errors).
    with pytest.raises(OSError, match="source broke"):
        store.write("f.bin", chunks(), overwrite=True)
    with pytest.raises(OSError, match="source broke"):
        store.write("g.bin", chunks())
    assert store.read_bytes("f.bin") == b"old" * 1000
    assert not store.exists("g.bin")
    _assert_no_orphan_chunks(backend)


@pytest.mark.parametrize("overwrite", [False, True])
def test_refused_placements_leave_no_rows(make: Callable[..., SQLBlobBackend], overwrite: bool) -> None:
    backend = make(chunk_size=100)
    store = Store(backend)
    store.write("a/b", b"x")
    for key, data in [("a", b"1"), ("a", b"2" * 450), ("a/b/c", b"3"), ("a/b/c/d", b"4" * 450)]:
        with pytest.raises(InvalidPath):
            store.write(key, data, overwrite=overwrite)
        with pytest.raises(InvalidPath):
            store.copy("a/b", key, overwrite=overwrite)
    assert [r.key for r in _rows(backend, backend.tables.files)] == ["a/b"]
    _assert_no_orphan_chunks(backend)


def test_move_renames_the_row_without_copying_content(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make(chunk_size=100)
    store = Store(backend)
    store.write("x/src.bin", b"z" * 1000)
    (before,) = _rows(backend, backend.tables.files)
    chunk_rows = _rows(backend, backend.tables.chunks)
    store.move("x/src.bin", "y/dst.bin")
    (after,) = _rows(backend, backend.tables.files)
    assert after.key == "y/dst.bin"
    assert after.blob_id == before.blob_id
    assert sorted(_rows(backend, backend.tables.chunks)) == sorted(chunk_rows)


def test_copy_duplicates_chunk_rows_on_the_server(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make(chunk_size=100)
    store = Store(backend)
    store.write("src.bin", bytes(range(250)), metadata={"k": "v"})
    with _StatementLog(backend.engine) as log:
        store.copy("src.bin", "dst.bin")
    chunk_data = f"{backend.tables.chunks.name}.data"
    chunk_reads = [s for s, _ in log.statements if s.lstrip().upper().startswith("SELECT") and chunk_data in s]
    assert chunk_reads == [], "copy must not fetch content to the client"
    assert any(s.lstrip().upper().startswith("INSERT") and "SELECT" in s.upper() for s, _ in log.statements)
    assert store.read_bytes("dst.bin") == bytes(range(250))
    assert dict(store.get_file_info("dst.bin").metadata) == {"k": "v"}
    _assert_no_orphan_chunks(backend)


def test_exclusive_create_race_has_one_winner(make_server: Callable[..., SQLBlobBackend]) -> None:
    backend = make_server(chunk_size=1024)
    store = Store(backend)
    store.write("warm", b"")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait()
        try:
            store.write("race.bin", bytes([i]) * 3000, overwrite=False)
            outcome = f"won:{i}"
        except AlreadyExists:
            outcome = "exists"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1 and outcomes.count("exists") == 7, outcomes
    winner = int(winners[0].split(":")[1])
    assert store.read_bytes("race.bin") == bytes([winner]) * 3000
    _assert_no_orphan_chunks(backend)


def test_concurrent_overwrites_all_succeed(make_server: Callable[..., SQLBlobBackend]) -> None:
    backend = make_server(chunk_size=1024)
    store = Store(backend)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            for _ in range(3):
                store.write("hot.bin", bytes([i]) * 2500, overwrite=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    data = store.read_bytes("hot.bin")
    assert len(data) == 2500 and len(set(data)) == 1
    _assert_no_orphan_chunks(backend)


def test_threads_share_an_in_memory_database(sql_blob_memory: Callable[..., SQLBlobBackend]) -> None:
    backend = sql_blob_memory(chunk_size=256)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        store = Store(backend)
        try:
            for j in range(20):
                store.write(f"t{i}/f{j}.bin", bytes([i, j]) * 300)
                assert store.read_bytes(f"t{i}/f{j}.bin") == bytes([i, j]) * 300
                list(store.list_files(f"t{i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(1 for _ in Store(backend).list_files("", recursive=True)) == 160


# ---------------------------------------------------------------------- keys verbatim
INJECTION_KEYS = [
    "'; DROP TABLE files; --.txt",
    'q/"quoted" name.txt',
    "pct/100%.txt",
    "pct/1000.txt",
    "under/a_b.txt",
    "under/axb.txt",
    "back\\slash/x.txt",
    "semi;colon/OR 1=1.txt",
    "unicode/naïve ☃ 日本.txt",
    "Case/File.txt",
    "case/file.txt",
    "space/x ",
    "space/x",
    "%/_",
    "$1/:name/?.txt",
]


def test_injection_looking_keys_are_stored_verbatim(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make()
    store = Store(backend)
    for i, key in enumerate(INJECTION_KEYS):
        store.write(key, f"{i}:{key}".encode())
    for i, key in enumerate(INJECTION_KEYS):
        assert store.read_bytes(key) == f"{i}:{key}".encode(), key
        assert store.get_file_info(key).path == key
    stored = sorted(r.key for r in _rows(backend, backend.tables.files))
    assert stored == sorted(INJECTION_KEYS)
    listed = sorted(i.path for i in store.list_files("", recursive=True))
    assert listed == sorted(INJECTION_KEYS)
    # LIKE wildcards in a prefix match only themselves.
    assert [i.path for i in store.list_files("pct")] == ["pct/100%.txt", "pct/1000.txt"]
    assert [i.path for i in store.list_files("%")] == ["%/_"]
    assert [i.path for i in store.glob("under/a_b.txt")] == ["under/a_b.txt"]
    assert [i.path for i in store.glob("pct/100%*")] == ["pct/100%.txt"]
    # Keys compare byte-wise: case and trailing spaces matter on every dialect.
    assert store.read_bytes("Case/File.txt") != store.read_bytes("case/file.txt")
    assert store.read_bytes("space/x ") != store.read_bytes("space/x")
    store.delete("space/x ")
    assert store.exists("space/x") and not store.exists("space/x ")
    # The tables are intact after all of it.
    assert len(_rows(backend, backend.tables.files)) == len(INJECTION_KEYS) - 1


def test_keys_longer_than_1024_bytes_are_refused(make: Callable[..., SQLBlobBackend]) -> None:
    store = Store(make())
    ok = "d/" + "k" * 1022
    store.write(ok, b"fits")
    assert store.read_bytes(ok) == b"fits"
    with pytest.raises(InvalidPath):
        store.write("d/" + "k" * 1023, b"too long")
    with pytest.raises(InvalidPath):
        store.move(ok, "é" * 513)


# ---------------------------------------------------------------------- listing
def test_listing_skips_sub_folders_with_index_seeks(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make()
    store = Store(backend)
    for i in range(600):
        store.write(f"big/sub/f{i:04d}", b"")
    store.write("big/a.txt", b"a")
    store.write("big/z.txt", b"z")
    store.write("big/other/x", b"")
    files_table = backend.tables.files.name
    with _StatementLog(backend.engine) as log:
        assert [i.path for i in store.list_files("big")] == ["big/a.txt", "big/z.txt"]
        assert list(store.list_folders("big")) == ["big/other", "big/sub"]
        assert [i.path for i in store.glob("big/*.txt")] == ["big/a.txt", "big/z.txt"]
    # Each call: a first page, then one seek past each of the two sub-folders.
    assert len(log.selects(files_table)) <= 9, log.statements
    with _StatementLog(backend.engine) as log:
        assert len(list(store.list_files("big", recursive=True))) == 603
    assert len(log.selects(files_table)) <= 4


def test_folder_info_is_one_aggregate_query(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make()
    store = Store(backend)
    store.write("f/a", b"12345")
    store.write("f/b/c", b"123")
    store.write("fa", b"not inside")
    with _StatementLog(backend.engine) as log:
        info = store.get_folder_info("f")
    assert (info.file_count, info.total_size) == (2, 8)
    assert len(log.selects(backend.tables.files.name)) == 1


# ---------------------------------------------------------------------- SQLite specifics
def test_sqlite_connections_use_wal_and_a_busy_timeout(sql_blob_sqlite: Callable[..., SQLBlobBackend]) -> None:
    backend = sql_blob_sqlite(busy_timeout=12.5)
    Store(backend).write("x", b"x")
    with backend.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 12500


def test_relative_sqlite_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    backend = SQLBlobBackend("sqlite:///rel.db")
    assert backend.options["url"] == f"sqlite:///{tmp_path / 'rel.db'}"
    Store(backend).write("x", b"1")
    assert (tmp_path / "rel.db").is_file()
    backend.close()


# ---------------------------------------------------------------------- limits and config
def test_max_file_size_is_enforced_and_leaves_nothing(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make(chunk_size=100, max_file_size=1000)
    store = Store(backend)
    store.write("ok.bin", b"x" * 1000)
    with pytest.raises(RemoteStoreError, match="max_file_size"):
        store.write("big.bin", io.BytesIO(b"x" * 1001))
    with pytest.raises(RemoteStoreError, match="max_file_size"):
        store.write("ok.bin", b"y" * 5000, overwrite=True)
    assert not store.exists("big.bin")
    assert store.read_bytes("ok.bin") == b"x" * 1000
    _assert_no_orphan_chunks(backend)


@pytest.mark.parametrize(
    "options",
    [
        {"table_prefix": "bad-prefix"},
        {"table_prefix": "1abc"},
        {"table_prefix": "x; DROP TABLE y"},
        {"chunk_size": 0},
        {"chunk_size": "1MiB"},
        {"max_file_size": -1},
    ],
)
def test_invalid_options_raise_config_error(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        SQLBlobBackend("sqlite://", **options)


def test_url_or_engine_is_required() -> None:
    with pytest.raises(ConfigError):
        SQLBlobBackend()
    with pytest.raises(ConfigError):
        SQLBlobBackend("sqlite://", engine=sa.create_engine("sqlite://"))
    with pytest.raises(ConfigError):
        SQLBlobBackend("not a url")


def test_missing_driver_names_the_extra() -> None:
    with pytest.raises(ConfigError, match="remote-store-sql"):
        SQLBlobBackend("postgresql+nosuchdriver://u@127.0.0.1/db")


def test_password_in_url_becomes_a_secret_and_pickles() -> None:
    backend = SQLBlobBackend("postgresql+psycopg://user:s3cr3t@127.0.0.1:1/db", table_prefix="p_")
    url = backend.options["url"]
    assert isinstance(url, Secret)
    assert "s3cr3t" not in repr(backend)
    assert "s3cr3t" not in backend.native_path("a/b")
    assert "s3cr3t" not in str(Store(backend).resolve("a/b"))
    clone = pickle.loads(pickle.dumps(backend))
    assert isinstance(clone, SQLBlobBackend)
    assert clone.options == backend.options


def test_backend_from_an_engine_is_not_picklable_and_close_keeps_the_engine(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'e.db'}")
    backend = SQLBlobBackend(engine=engine, table_prefix="e_")
    store = Store(backend)
    store.write("a", b"1")
    with pytest.raises(TypeError, match="url="):
        pickle.dumps(backend)
    backend.close()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM e_files")).scalar() == 1
    assert store.read_bytes("a") == b"1"
    engine.dispose()


def test_unreachable_server_is_backend_unavailable() -> None:
    port = free_port()
    backend = SQLBlobBackend(
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/test", engine_options={"connect_args": {"connect_timeout": 2}}
    )
    store = Store(backend)
    with pytest.raises(BackendUnavailable):
        store.ping()
    with pytest.raises(BackendUnavailable):
        store.exists("x")
    with pytest.raises(BackendUnavailable):
        store.write("x", b"1")


def test_missing_tables_without_create_tables_is_backend_unavailable(sqlite_url: str) -> None:
    backend = SQLBlobBackend(sqlite_url, create_tables=False)
    with pytest.raises(BackendUnavailable, match="create_tables"):
        Store(backend).exists("x")
    backend.create_tables()
    Store(backend).write("x", b"1")
    assert Store(backend).read_bytes("x") == b"1"
    backend.drop_tables()
    backend.close()


def test_schema_option_puts_tables_in_that_schema(postgres_url: str, sql_table_prefix: str) -> None:
    schema = f"s_{sql_table_prefix.rstrip('_')}"
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        backend = SQLBlobBackend(postgres_url, schema=schema, table_prefix="rs_")
        Store(backend).write("a/b", b"in schema")
        with engine.connect() as conn:
            count = conn.exec_driver_sql(f'SELECT count(*) FROM "{schema}".rs_files').scalar()
        assert count == 1
        assert Store(backend).read_bytes("a/b") == b"in schema"
        backend.close()
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


# ---------------------------------------------------------------------- URLs and plugin
def test_open_url_sqlite_with_options_and_root(tmp_path: Path) -> None:
    db = tmp_path / "u.db"
    store = open_url(f"sqlite:///{db}?table_prefix=u_&chunk_size=10&root=base/dir")
    backend = store.unwrap(SQLBlobBackend)
    assert backend.options["table_prefix"] == "u_"
    assert backend.options["chunk_size"] == 10
    assert store.root_path == "base/dir"
    store.write("f.txt", b"0123456789abc")
    assert [r.key for r in _rows(backend, backend.tables.files)] == ["base/dir/f.txt"]
    assert len(_rows(backend, backend.tables.chunks)) == 2
    backend.close()


def test_open_url_sets_the_timeouts_and_refuses_bad_values(tmp_path: Path) -> None:
    store = open_url(f"sqlite:///{tmp_path / 't.db'}?timeout=2.5&connect_timeout=4&busy_timeout=1")
    options = store.unwrap(SQLBlobBackend).options
    assert (options["read_timeout"], options["connect_timeout"], options["busy_timeout"]) == (2.5, 4.0, 1.0)
    with pytest.raises(ConfigError, match="timeout"):
        open_url(f"sqlite:///{tmp_path / 't.db'}?timeout=soon")
    with pytest.raises(ConfigError, match="timeout"):
        open_url(f"sqlite:///{tmp_path / 't.db'}?timeout=-1")


def test_open_url_sql_plus_server_url(postgres_url: str, sql_table_prefix: str) -> None:
    store = open_url(f"sql+{postgres_url}?table_prefix={sql_table_prefix}")
    backend = store.unwrap(SQLBlobBackend)
    try:
        assert backend.engine.dialect.name == "postgresql"
        store.write("x.txt", b"via url")
        assert store.read_bytes("x.txt") == b"via url"
    finally:
        backend.drop_tables()
        backend.close()


def test_open_url_in_memory() -> None:
    store = open_url("sqlite://")
    store.write("m.txt", b"memory")
    assert store.read_bytes("m.txt") == b"memory"


def test_plugin_registers_both_backend_types() -> None:
    from remote_store import get_plugin_host

    types = get_plugin_host().backend_types()
    assert types["sql-blob"].target == "remote_store_sql._backend:SQLBlobBackend"
    assert types["sql-query"].target == "remote_store_sql._query:SQLQueryBackend"
    assert "sqlite" in types["sql-blob"].schemes
