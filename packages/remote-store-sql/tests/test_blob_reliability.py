"""sql-blob reliability against real PostgreSQL / MariaDB / SQLite: consistent reads under
concurrent writers, typed errors under contention, key limits, timeouts, pre-ping, and
queries that create nothing.

The concurrency soak runs a bounded sample by default; set ``REMOTE_STORE_SOAK_SECONDS``
for a longer run (each engine keeps going until that many seconds have passed).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from remote_store import Store
from remote_store.errors import AlreadyExists, BackendUnavailable, InvalidPath, NotFound
from remote_store_sql import SQLBlobBackend
from testing.servers.sql import StallingProxy, unique_prefix

ENGINES = ["sql_blob_sqlite", "sql_blob_memory", "sql_blob_postgres", "sql_blob_mysql"]
SOAK_SECONDS = float(os.environ.get("REMOTE_STORE_SOAK_SECONDS", "0"))
THREADS = 16
OPS_PER_THREAD = 64  # 16 x 64 = 1,024 operations per engine at least
CHUNK = 64 * 1024


@pytest.fixture(params=ENGINES)
def make(request: pytest.FixtureRequest) -> Callable[..., SQLBlobBackend]:
    factory: Callable[..., SQLBlobBackend] = request.getfixturevalue(request.param)
    return factory


# ---------------------------------------------------------------------- consistent reads
def _content(tag: int) -> bytes:
    """Version ``tag``: 1 to 4 chunks of 64 KiB plus a tail, every 8 bytes naming the tag."""
    size = CHUNK * (1 + tag % 4) + tag % 997
    return (tag.to_bytes(8, "big") * (size // 8 + 1))[:size]


def _whole(data: bytes) -> bool:
    """Whether ``data`` is exactly one version written by the soak."""
    return len(data) >= 8 and data == _content(int.from_bytes(data[:8], "big"))


def test_readers_see_one_whole_version_under_concurrent_writers(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make(chunk_size=CHUNK)
    store = Store(backend)
    keys = [f"soak/k{i}" for i in range(6)]
    for i, key in enumerate(keys):
        store.write(key, _content(i + 1))
    tags = iter(range(100, 10**9))
    tag_lock = threading.Lock()
    calls: Counter[str] = Counter()
    expected: Counter[str] = Counter()
    torn: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + SOAK_SECONDS

    def next_tag() -> int:
        with tag_lock:
            return next(tags)

    def one(rng: random.Random) -> None:
        op = rng.choice(["write", "write_atomic", "read_bytes", "stream", "stream", "move", "delete", "stat"])
        key = rng.choice(keys)
        with lock:
            calls[op] += 1
        try:
            if op == "write":
                store.write(key, _content(next_tag()), overwrite=True)
            elif op == "write_atomic":
                store.write_atomic(key, _content(next_tag()), overwrite=True)
            elif op == "read_bytes":
                data = store.read_bytes(key)
                if not _whole(data):
                    torn.append(f"read_bytes {key}: {len(data)} bytes")
            elif op == "stream":
                with store.read(key) as f:
                    parts = []
                    while piece := f.read(rng.choice([1000, 16 * 1024, CHUNK + 1])):
                        parts.append(piece)
                data = b"".join(parts)
                if not _whole(data):
                    torn.append(f"stream {key}: {len(data)} bytes")
            elif op == "move":
                store.move(key, rng.choice(keys), overwrite=rng.random() < 0.5)
            elif op == "delete":
                store.delete(key)
            else:
                info = store.get_file_info(key)
                if info.size < CHUNK:
                    torn.append(f"stat {key}: size {info.size}")
        except (NotFound, AlreadyExists) as exc:  # typed, explained outcomes of racing operations
            with lock:
                expected[f"{op}:{type(exc).__name__}"] += 1
        except Exception as exc:
            with lock:
                failures.append(f"{op} {key}: {type(exc).__name__}: {exc}")

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        done = 0
        while done < OPS_PER_THREAD or time.monotonic() < deadline:
            one(rng)
            done += 1

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(calls.values())
    reads = calls["read_bytes"] + calls["stream"]
    name = backend.engine.dialect.name + (" in-memory" if backend.engine.url.database in (None, "") else "")
    print(f"\n{name}: {total} calls ({reads} reads), {dict(expected)}, torn 0, failed 0")
    assert total >= THREADS * OPS_PER_THREAD
    assert not torn, torn[:5]
    assert not failures, failures[:5]
    for key in keys:  # every surviving file is one whole version
        try:
            assert _whole(store.read_bytes(key))
        except NotFound:
            pass


def test_a_stream_held_open_keeps_its_version_while_others_write(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make(chunk_size=1024)
    store = Store(backend)
    old = _content(7)[:10_000]
    store.write("f", old)
    with store.read("f") as f:
        head = f.read(100)
        for i in range(5):
            store.write("f", bytes([i]) * 20_000, overwrite=True)
        store.move("f", "g", overwrite=False)
        assert head + f.read() == old
    assert store.read_bytes("g") == bytes([4]) * 20_000


# ---------------------------------------------------------------------- moves under contention
def test_racing_moves_of_one_source_have_one_winner_and_typed_losers(make: Callable[..., SQLBlobBackend]) -> None:
    store = Store(make())
    store.write("src", b"payload")
    outcomes: list[str] = []

    def mover(i: int) -> None:
        try:
            store.move("src", f"dst{i}", overwrite=False)
            outcomes.append("ok")
        except NotFound as exc:
            assert "source not found" in str(exc)
            outcomes.append("NotFound")
        except Exception as exc:  # pragma: no cover - reported below
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["NotFound"] * 7 + ["ok"], outcomes
    assert [f.path for f in store.list_files("")] == [f"dst{outcomes.index('ok')}"] or len(
        list(store.list_files(""))
    ) == 1


def test_racing_moves_onto_one_destination_raise_already_exists(make: Callable[..., SQLBlobBackend]) -> None:
    store = Store(make())
    for i in range(8):
        store.write(f"s{i}", bytes([i]))
    outcomes: list[str] = []

    def mover(i: int) -> None:
        try:
            store.move(f"s{i}", "dst", overwrite=False)
            outcomes.append("ok")
        except AlreadyExists:
            outcomes.append("AlreadyExists")
        except Exception as exc:  # pragma: no cover - reported below
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["AlreadyExists"] * 7 + ["ok"], outcomes
    assert len(store.read_bytes("dst")) == 1
    assert sum(store.exists(f"s{i}") for i in range(8)) == 7


# ---------------------------------------------------------------------- key limits
def test_a_key_of_500_segments_round_trips(make: Callable[..., SQLBlobBackend]) -> None:
    store = Store(make())
    key = "/".join(["a"] * 500)  # 999 bytes, under the 1,024-byte limit
    store.write(key, b"deep")
    assert store.read_bytes(key) == b"deep"
    store.write(key, b"deeper", overwrite=True)
    store.move(key, key + "b", overwrite=False)
    store.copy(key + "b", key + "c")
    assert store.read_bytes(key + "c") == b"deeper"
    with pytest.raises(InvalidPath):
        store.write(key + "b/x", b"below a file")  # the placement check over 500 parents still works


def test_keys_past_the_documented_limits_are_invalid_path_naming_the_limit(make: Callable[..., SQLBlobBackend]) -> None:
    store = Store(make())
    with pytest.raises(InvalidPath, match="limit is 1024 bytes"):
        store.write("/".join(["a"] * 513), b"x")  # 513 segments need 1,025 bytes
    with pytest.raises(InvalidPath, match="1024 bytes"):
        store.write("k" * 1025, b"x")
    with pytest.raises(InvalidPath, match="1024 bytes"):
        store.write("ä" * 513, b"x")  # 1,026 UTF-8 bytes


# ---------------------------------------------------------------------- timeouts
def _hold_lock_then_write(store: Store, hold: Callable[[], Any], release: Callable[[], None]) -> float:
    hold()
    start = time.monotonic()
    try:
        with pytest.raises(BackendUnavailable):
            store.write("locked", b"new", overwrite=True)
        return time.monotonic() - start
    finally:
        release()


def test_a_write_blocked_by_a_server_row_lock_fails_within_the_timeout(
    request: pytest.FixtureRequest, engine_name: str
) -> None:
    factory: Callable[..., SQLBlobBackend] = request.getfixturevalue(engine_name)
    backend = factory(timeout=1.0)
    store = Store(backend)
    store.write("locked", b"old")
    other = sa.create_engine(backend.engine.url, poolclass=sa.pool.NullPool)
    conn = other.connect()
    files = backend.tables.files

    def hold() -> None:
        conn.execute(sa.select(files.c.key).where(files.c.key == "locked").with_for_update()).all()

    elapsed = _hold_lock_then_write(store, hold, conn.rollback)
    conn.close()
    other.dispose()
    assert elapsed < 8.0, elapsed  # 1 s limit (+ the driver's grace), never a hang
    store.write("locked", b"new", overwrite=True)  # the lock is gone: works again
    assert store.read_bytes("locked") == b"new"


@pytest.fixture(params=["sql_blob_postgres", "sql_blob_mysql"])
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_sqlite_writer_blocked_by_another_connection_fails_within_the_timeout(tmp_path: Path) -> None:
    backend = SQLBlobBackend(f"sqlite:///{tmp_path / 's.db'}", timeout=1.0)
    store = Store(backend)
    store.write("locked", b"old")
    raw = sqlite3.connect(tmp_path / "s.db", isolation_level=None)

    elapsed = _hold_lock_then_write(store, lambda: raw.execute("BEGIN IMMEDIATE"), lambda: raw.execute("ROLLBACK"))
    raw.close()
    assert 0.9 < elapsed < 5.0, elapsed
    store.write("locked", b"new", overwrite=True)
    backend.close()


def test_a_sqlite_writer_queued_behind_a_stalled_writer_of_this_process_fails_within_the_timeout(
    tmp_path: Path,
) -> None:
    backend = SQLBlobBackend(f"sqlite:///{tmp_path / 's.db'}", timeout=1.0, chunk_size=4)
    store = Store(backend)
    release = threading.Event()
    started = threading.Event()

    class Slow:
        """A content stream that stalls after its first chunks (the write transaction stays open)."""

        def __init__(self) -> None:
            self.n = 0

        def read(self, size: int = -1) -> bytes:
            self.n += 1
            if self.n == 3:
                started.set()
                release.wait(10)
            return b"abcd" if self.n < 5 else b""

    stalled = threading.Thread(target=lambda: store.write("slow", Slow()))  # type: ignore[arg-type]
    stalled.start()
    assert started.wait(5)
    start = time.monotonic()
    with pytest.raises(BackendUnavailable, match="busy_timeout"):
        store.write("other", b"x")
    elapsed = time.monotonic() - start
    release.set()
    stalled.join()
    assert 0.9 < elapsed < 5.0, elapsed
    assert store.read_bytes("slow") == b"abcd" * 4
    backend.close()


def test_timeouts_reach_the_server_session(request: pytest.FixtureRequest, engine_name: str) -> None:
    backend = request.getfixturevalue(engine_name)(timeout=2.5, connect_timeout=3)
    with backend.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "2500ms"
        else:
            assert float(conn.execute(sa.text("SELECT @@max_statement_time")).scalar()) == 2.5
            assert int(conn.execute(sa.text("SELECT @@innodb_lock_wait_timeout")).scalar()) == 3


def test_a_statement_past_the_timeout_is_backend_unavailable(postgres_url: str) -> None:
    backend = SQLBlobBackend(postgres_url, timeout=0.5, table_prefix=unique_prefix())
    start = time.monotonic()
    with pytest.raises(sa.exc.OperationalError) as info, backend.engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_sleep(30)"))
    assert time.monotonic() - start < 5
    mapped = backend.translate_error(info.value, "k")
    assert isinstance(mapped, BackendUnavailable) and "timed out" in str(mapped)
    backend.close()


# ---------------------------------------------------------------------- pre-ping
def _kill(backend: SQLBlobBackend, conn_id: int) -> None:
    other = sa.create_engine(backend.engine.url, poolclass=sa.pool.NullPool)
    with other.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": conn_id})
        else:
            conn.execute(sa.text(f"KILL {int(conn_id)}"))
    other.dispose()
    time.sleep(0.2)


def _pooled_id(backend: SQLBlobBackend) -> int:
    query = "SELECT pg_backend_pid()" if backend.engine.dialect.name == "postgresql" else "SELECT CONNECTION_ID()"
    with backend.engine.connect() as conn:
        return int(conn.execute(sa.text(query)).scalar_one())


@pytest.mark.parametrize("pre_ping", [True, False])
def test_a_pooled_connection_killed_by_the_server_is_replaced(
    request: pytest.FixtureRequest, engine_name: str, pre_ping: bool
) -> None:
    # the control turns off retries too: with them a lost connection is retried on a new one (test_faults.py)
    options = {} if pre_ping else {"engine_options": {"pool_pre_ping": False}, "retries": 0}
    backend = request.getfixturevalue(engine_name)(**options)
    store = Store(backend)
    store.write("f", b"before")
    _kill(backend, _pooled_id(backend))
    if pre_ping:
        assert store.read_bytes("f") == b"before"  # the dead connection was replaced at checkout
        store.write("f", b"after", overwrite=True)
        assert store.read_bytes("f") == b"after"
    else:  # the control: without pre-ping the same kill fails the next operation
        with pytest.raises(BackendUnavailable):
            store.read_bytes("f")


# ---------------------------------------------------------------------- queries create nothing
def test_queries_on_a_missing_sqlite_file_create_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such" / "dir"
    store = Store(SQLBlobBackend(f"sqlite:///{folder / 'x.db'}"))
    with pytest.raises(BackendUnavailable, match="folder"):
        store.ping()
    assert not store.exists("a")
    assert not store.is_folder("a")
    assert list(store.list_files("", recursive=True)) == []
    assert list(store.list_folders("")) == []
    assert list(store.glob("**")) == []
    with pytest.raises(NotFound):
        store.read_bytes("a")
    with pytest.raises(NotFound):
        store.read("a")
    with pytest.raises(NotFound):
        store.get_file_info("a")
    assert store.get_folder_info("").file_count == 0
    for mutation in (
        lambda: store.delete("a"),
        lambda: store.delete_folder("d", recursive=True),
        lambda: store.move("a", "b"),
        lambda: store.copy("a", "b"),
    ):
        with pytest.raises(NotFound):
            mutation()  # nothing to act on: nothing is created either
    assert not (tmp_path / "no").exists()
    store.write("a", b"1")  # the first write creates folder, file and tables
    assert (folder / "x.db").exists()
    assert store.read_bytes("a") == b"1"
    store.close()


def test_ping_on_a_missing_sqlite_file_in_an_existing_folder_is_ok_and_creates_nothing(tmp_path: Path) -> None:
    store = Store(SQLBlobBackend(f"sqlite:///{tmp_path / 'x.db'}"))
    store.ping()
    assert not store.exists("a")
    assert list(tmp_path.iterdir()) == []


def test_queries_on_a_fresh_server_prefix_create_no_tables(make: Callable[..., SQLBlobBackend]) -> None:
    backend = make()
    store = Store(backend)
    store.ping()
    assert not store.exists("a")
    assert list(store.list_files("", recursive=True)) == []
    with pytest.raises(NotFound):
        store.read_bytes("a")
    with pytest.raises(NotFound):
        store.get_file_info("a")
    with pytest.raises(NotFound):
        store.read("a")
    with pytest.raises(NotFound):
        store.delete("a")
    with pytest.raises(NotFound):
        store.move("a", "b")
    if backend.engine.url.get_backend_name() != "sqlite" or Path(str(backend.engine.url.database)).exists():
        inspector = sa.inspect(backend.engine)
        assert not inspector.has_table(backend.tables.files.name)
        assert not inspector.has_table(backend.tables.chunks.name)
    store.write("a", b"1")
    assert sa.inspect(backend.engine).has_table(backend.tables.files.name)


# ---------------------------------------------------------------------- network stalls
@pytest.fixture
def server_url(request: pytest.FixtureRequest, engine_name: str) -> str:
    return str(request.getfixturevalue("postgres_url" if engine_name == "sql_blob_postgres" else "mysql_url"))


def test_a_stalled_network_fails_within_the_timeout_and_recovers(server_url: str) -> None:
    up = sa.make_url(server_url)
    with StallingProxy(up.host or "127.0.0.1", up.port or 0) as proxy:
        # retries=0: this measures one timeout firing (retries after a timeout: tests/test_faults.py)
        backend = SQLBlobBackend(
            proxy.url_for(server_url), timeout=1.0, connect_timeout=2, table_prefix=unique_prefix(), retries=0
        )
        store = Store(backend)
        try:
            store.write("f", b"before")
            proxy.stall()
            start = time.monotonic()
            with pytest.raises(BackendUnavailable):
                store.read_bytes("f")  # a pooled connection, mid-statement: the socket deadline fires
            stalled_read = time.monotonic() - start
            fresh = SQLBlobBackend(proxy.url_for(server_url), timeout=1.0, connect_timeout=2, retries=0)
            start = time.monotonic()
            with pytest.raises(BackendUnavailable):
                Store(fresh).ping()  # a new connection that gets no handshake: connect_timeout fires
            stalled_connect = time.monotonic() - start
            fresh.close()
            proxy.resume()
            assert store.read_bytes("f") == b"before"  # the broken connection was discarded
        finally:
            proxy.resume()
            backend.drop_tables()
            backend.close()
    print(f"\nstalled read failed after {stalled_read:.1f} s, stalled connect after {stalled_connect:.1f} s")
    # timeout 1 s + 5 s socket grace; connect_timeout 2 s (libpq rounds up, per host attempt)
    assert stalled_read < 12, stalled_read
    assert stalled_connect < 12, stalled_connect
