"""Fault injection between the sql-blob backend and real PostgreSQL / MariaDB servers.

A `testing.tcpfaults.FaultProxy` sits in front of each server. For every operation class: a
connection reset in the middle of the operation's requests, and a stall shorter than the
budget, are survived; persistently refused connections end in `BackendUnavailable` within
``retry_budget`` plus slack; a failed overwrite leaves the old version whole; a ``COMMIT``
whose answer is lost is resolved by checking the rows (never committed twice, never a
spurious `AlreadyExists`); a pooled connection reset while idle is replaced transparently.
SQLite has no network: it gets the failed-overwrite check (a source stream that breaks).
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from remote_store import Store
from remote_store.errors import AlreadyExists, BackendUnavailable, ConfigError
from remote_store_sql import SQLBlobBackend
from testing.servers.sql import ProxiedDatabase, unique_prefix
from testing.tcpfaults import FaultProxy, FaultTally

KiB = 1024
CHUNK = 256 * KiB
SMALL = b"small row " * 50
LARGE = os.urandom(3 * CHUNK + 1000)  # four chunk rows
SLACK = 3.0
PERSISTENT_BUDGET = 1.0
TALLY = FaultTally()
DATABASES = ["pg_fault_proxy", "mysql_fault_proxy"]


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        TALLY.print_summary()
        return
    with capture.global_and_fixture_disabled():  # past pytest's output capture
        reporter.write_line("")
        TALLY.print_summary(reporter.write_line)


@pytest.fixture(params=DATABASES, ids=["postgresql", "mariadb"])
def db(request: pytest.FixtureRequest) -> ProxiedDatabase:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture
def make(db: ProxiedDatabase) -> Iterator[Callable[..., SQLBlobBackend]]:
    """Backends reaching ``db`` through its proxy (short timeouts, no backoff), tables dropped after."""
    made: list[SQLBlobBackend] = []
    prefix = unique_prefix()

    def build(direct: bool = False, **overrides: Any) -> SQLBlobBackend:
        options: dict[str, Any] = {
            "table_prefix": prefix,
            "chunk_size": CHUNK,
            "connect_timeout": 2,
            "read_timeout": 5.0,
            "retries": 5,
            "retry_backoff": 0.0,
            "retry_budget": 15.0,
        }
        options.update(overrides)
        backend = SQLBlobBackend(db.direct_url if direct else db.url, **options)
        made.append(backend)
        return backend

    yield build
    cleanup = SQLBlobBackend(db.direct_url, table_prefix=prefix)
    try:
        cleanup.drop_tables()
    finally:
        cleanup.close()
        for backend in made:
            backend.close()


@dataclass(frozen=True)
class Op:
    """An operation class; ``prepare(store, n)`` and ``run(store, n, arm)`` work on key set ``n``."""

    name: str
    prepare: Callable[[Store, int], None]
    run: Callable[[Store, int, Callable[[], None]], None]


def _put(data: bytes) -> Callable[[Store, int], None]:
    def prepare(store: Store, n: int) -> None:
        store.write(f"f{n}", data, overwrite=True)

    return prepare


def _read_whole(store: Store, n: int, arm: Callable[[], None]) -> None:
    arm()
    assert store.read_bytes(f"f{n}") == LARGE


def _read_stream(store: Store, n: int, arm: Callable[[], None]) -> None:
    with store.read(f"f{n}") as stream:
        head = stream.read(CHUNK)
        arm()  # the fault lands between chunk fetches
        rest = stream.read()
    assert head + rest == LARGE


def _write_small(store: Store, n: int, arm: Callable[[], None]) -> None:
    arm()
    store.write(f"f{n}", SMALL, overwrite=True)
    assert store.read_bytes(f"f{n}") == SMALL


def _write_large(store: Store, n: int, arm: Callable[[], None]) -> None:
    arm()
    store.write(f"f{n}", LARGE, overwrite=True)
    assert store.read_bytes(f"f{n}") == LARGE


def _prepare_list(store: Store, n: int) -> None:
    for name in ("a", "b", "c"):
        store.write(f"dir{n}/{name}", SMALL, overwrite=True)


def _list(store: Store, n: int, arm: Callable[[], None]) -> None:
    arm()
    assert sorted(i.name for i in store.list_files(f"dir{n}")) == ["a", "b", "c"]


def _delete(store: Store, n: int, arm: Callable[[], None]) -> None:
    arm()
    store.delete(f"f{n}")
    assert not store.exists(f"f{n}")


def _copy(store: Store, n: int, arm: Callable[[], None]) -> None:
    arm()
    store.copy(f"f{n}", f"c{n}")
    assert store.read_bytes(f"c{n}") == SMALL


def _move(store: Store, n: int, arm: Callable[[], None]) -> None:
    arm()
    store.move(f"f{n}", f"m{n}")
    assert store.read_bytes(f"m{n}") == SMALL
    assert not store.exists(f"f{n}")


def _info(store: Store, n: int, arm: Callable[[], None]) -> None:
    arm()
    assert store.exists(f"f{n}")
    assert store.get_file_info(f"f{n}").size == len(SMALL)


OPS = [
    Op("read-whole", _put(LARGE), _read_whole),
    Op("read-stream", _put(LARGE), _read_stream),
    Op("write-small", _put(b"old"), _write_small),
    Op("write-large", _put(b"old"), _write_large),
    Op("list", _prepare_list, _list),
    Op("delete", _put(SMALL), _delete),
    Op("copy", _put(SMALL), _copy),
    Op("move", _put(SMALL), _move),
    Op("exists-info", _put(SMALL), _info),
]


def _bytes_down(proxy: FaultProxy, call: Callable[[], object]) -> int:
    before = proxy.bytes_down()
    call()
    return proxy.bytes_down() - before


@pytest.mark.parametrize("op", OPS, ids=[o.name for o in OPS])
def test_one_reset_mid_operation_is_survived(make: Callable[..., SQLBlobBackend], db: ProxiedDatabase, op: Op) -> None:
    store = Store(make())
    op.prepare(store, 1)
    op.prepare(store, 2)
    # how many bytes the server sends for the operation, measured on key set 1; cut key set 2's halfway
    answers = _bytes_down(db.proxy, lambda: op.run(store, 1, lambda: None))
    op.run(store, 2, lambda: db.proxy.cut_after(max(1, answers // 2), "down"))
    assert db.proxy.counts["cut"] == 1, db.proxy.log
    TALLY.record(db.name, 1, survived=True)


@pytest.mark.parametrize(
    "op", [o for o in OPS if o.name in ("read-whole", "write-large", "list")], ids=lambda o: o.name
)
def test_stall_shorter_than_the_budget_is_survived(
    make: Callable[..., SQLBlobBackend], db: ProxiedDatabase, op: Op
) -> None:
    store = Store(make())
    op.prepare(store, 1)
    start = time.monotonic()
    op.run(store, 1, lambda: db.proxy.stall(1.0))
    elapsed = time.monotonic() - start
    assert db.proxy.counts["stall"] == 1
    assert 1.0 <= elapsed < 10.0  # the stall was felt, and survived well within the budget
    TALLY.record(db.name, 1, survived=True)


@pytest.mark.parametrize("op", OPS, ids=[o.name for o in OPS])
def test_refused_connections_end_in_backend_unavailable_within_the_budget(
    make: Callable[..., SQLBlobBackend], db: ProxiedDatabase, op: Op
) -> None:
    store = Store(make(retries=100, retry_backoff=0.05, retry_backoff_max=0.1, retry_budget=PERSISTENT_BUDGET))
    op.prepare(store, 1)

    def arm() -> None:
        db.proxy.refuse()
        db.proxy.reset_all()

    start = time.monotonic()
    with pytest.raises(BackendUnavailable):
        op.run(store, 1, arm)
    elapsed = time.monotonic() - start
    refused = db.proxy.counts["refuse"]
    assert refused >= 1  # new connections were tried (how many the budget allows depends on the machine's load)
    assert elapsed < PERSISTENT_BUDGET + SLACK, f"{op.name}: {elapsed:.2f}s"
    TALLY.record(db.name, refused + db.proxy.counts["reset"], survived=False)


def test_failed_overwrite_leaves_the_old_version(make: Callable[..., SQLBlobBackend], db: ProxiedDatabase) -> None:
    store = Store(make(retries=2, retry_budget=PERSISTENT_BUDGET))
    store.write("k", SMALL, overwrite=True)
    db.proxy.refuse()
    db.proxy.cut_after(2 * CHUNK, "up")  # dies while the chunk rows are inserted
    with pytest.raises(BackendUnavailable):
        store.write("k", LARGE, overwrite=True)
    db.proxy.refuse(False)
    direct = Store(make(direct=True))
    assert direct.read_bytes("k") == SMALL
    assert [i.name for i in direct.list_files("")] == ["k"]
    backend = direct.unwrap(SQLBlobBackend)
    with backend.engine.connect() as conn:  # the aborted write left no chunk rows behind
        chunks = conn.execute(sa.select(sa.func.count()).select_from(backend.tables.chunks)).scalar_one()
    assert chunks == 1
    TALLY.record(db.name, db.proxy.counts["cut"] + db.proxy.counts["refuse"], survived=False)


def test_failed_overwrite_on_sqlite_leaves_the_old_version(sql_blob_sqlite: Callable[..., SQLBlobBackend]) -> None:
    """No network on SQLite: the fault is a source stream that breaks after two chunk rows."""

    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.left = 2 * CHUNK

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            if self.left <= 0:
                raise OSError("source disk failed")
            n = min(len(b), self.left)
            b[:n] = b"x" * n
            self.left -= n
            return n

    store = Store(sql_blob_sqlite(chunk_size=CHUNK))
    store.write("k", SMALL, overwrite=True)
    with pytest.raises(OSError, match="source disk failed"):
        store.write("k", Broken(), overwrite=True)
    assert store.read_bytes("k") == SMALL
    assert [i.name for i in store.list_files("")] == ["k"]


LOST_COMMIT_CASES = [
    (what, overwrite)
    for what in ("write-small", "write-large", "move", "copy", "delete")
    for overwrite in (False, True)
    if not (what == "delete" and overwrite)  # delete has no overwrite flag
]


@pytest.mark.parametrize(
    ("what", "overwrite"),
    LOST_COMMIT_CASES,
    ids=[f"{w}-{'overwrite' if o else 'exclusive'}" for w, o in LOST_COMMIT_CASES],
)
def test_lost_commit_answer_is_resolved_by_checking(
    make: Callable[..., SQLBlobBackend],
    db: ProxiedDatabase,
    caplog: pytest.LogCaptureFixture,
    what: str,
    overwrite: bool,
) -> None:
    """The COMMIT reaches the server, its answer never comes back: checked, not re-run, no AlreadyExists."""
    backend = make()
    store = Store(backend)
    store.write("src", SMALL, overwrite=True)  # also creates the tables
    armed = []

    def lose(conn: Any) -> None:
        if not armed:
            armed.append(db.proxy.lose_answers(hold=0.3))

    sa.event.listen(backend.engine, "commit", lose)
    caplog.set_level("INFO", logger="remote_store")
    try:
        if what == "write-small":
            store.write("dst", SMALL, overwrite=overwrite)
        elif what == "write-large":
            store.write("dst", LARGE, overwrite=overwrite)
        elif what == "move":
            store.move("src", "dst", overwrite=overwrite)
        elif what == "copy":
            store.copy("src", "dst", overwrite=overwrite)
        else:
            store.delete("src")
    finally:
        sa.event.remove(backend.engine, "commit", lose)
    assert armed == [1], "the COMMIT's answer was not lost"
    assert "had committed before its connection was lost" in caplog.text
    if what == "delete":
        assert not store.exists("src")
    else:
        expected = LARGE if what == "write-large" else SMALL
        assert store.read_bytes("dst") == expected
        assert store.exists("src") == (what != "move")
    TALLY.record(db.name, 1, survived=True)


def test_lost_commit_answer_after_another_writer_won_is_already_exists(
    make: Callable[..., SQLBlobBackend], db: ProxiedDatabase
) -> None:
    """Our COMMIT never reached the server (cut first) and a rival created the key: `AlreadyExists`."""
    backend = make()
    store = Store(backend)
    store.write("warm", SMALL, overwrite=True)
    rival = Store(make(direct=True))
    armed = []

    def cut(conn: Any) -> None:
        if not armed:
            armed.append(db.proxy.cut_after(0, "up", hold=0.5))  # COMMIT is never delivered
            rival.write("dst", b"theirs", overwrite=False)  # (the row lock is ours until rollback)

    sa.event.listen(backend.engine, "commit", cut)
    try:
        with pytest.raises((AlreadyExists, BackendUnavailable)) as info:
            store.write("dst", SMALL, overwrite=False)
    finally:
        sa.event.remove(backend.engine, "commit", cut)
    assert armed
    assert rival.read_bytes("dst") == b"theirs"
    assert info.type is AlreadyExists, info.value
    TALLY.record(db.name, 1, survived=False)


def test_idle_pooled_connection_reset_is_replaced_transparently(
    make: Callable[..., SQLBlobBackend], db: ProxiedDatabase
) -> None:
    store = Store(make(retries=0))  # pool_pre_ping replaces it at checkout: no retry needed
    store.write("f", SMALL, overwrite=True)
    assert db.proxy.reset_all() >= 1
    time.sleep(0.1)
    assert store.read_bytes("f") == SMALL
    store.write("g", SMALL, overwrite=False)
    assert store.read_bytes("g") == SMALL
    TALLY.record(db.name, 1, survived=True)


def test_options_reach_the_engine_and_bad_values_are_config_errors(db: ProxiedDatabase) -> None:
    backend = SQLBlobBackend(
        db.direct_url,
        table_prefix=unique_prefix(),
        connect_timeout=3,
        timeout=7,  # the former name of read_timeout
        pool_recycle=42,
        retries=4,
        retry_backoff="0.25",
        retry_on="connection",
    )
    try:
        engine = backend.engine
        assert engine.pool._pre_ping is True  # type: ignore[attr-defined]
        assert engine.pool._recycle == 42  # type: ignore[attr-defined]
        policy = backend.retry_policy
        assert (policy.retries, policy.backoff, policy.retry_on) == (4, 0.25, frozenset({"connection"}))
        assert backend.options["read_timeout"] == 7.0
        with engine.connect() as conn:  # the driver got the timeouts
            raw = conn.connection.dbapi_connection
            if db.name == "postgresql":
                assert raw.info.get_parameters()["connect_timeout"] == "3"  # type: ignore[union-attr]
            else:
                assert raw.connect_timeout == 3  # type: ignore[union-attr]
                assert raw._read_timeout == 12  # type: ignore[union-attr]  # 7 s + the 5 s socket grace
    finally:
        backend.close()
    for bad in (
        {"retries": -1},
        {"retries": "many"},
        {"retry_backoff": -0.5},
        {"retry_budget": "soon"},
        {"retry_on": "lightning"},
        {"read_timeout": 0},
        {"pool_recycle": -1},
        {"read_timeout": 5, "timeout": 5},
    ):
        with pytest.raises(ConfigError):
            SQLBlobBackend(db.direct_url, **bad)


def test_sql_query_reads_survive_a_reset_and_fail_typed_when_refused(db: ProxiedDatabase) -> None:
    """The read-only sql-query backend reruns its query after a lost connection (a query only reads)."""
    pytest.importorskip("pyarrow")
    from remote_store_sql import SQLQueryBackend

    sql = "SELECT n FROM (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) AS t ORDER BY n"
    backend = SQLQueryBackend(
        db.url,
        queries={"n.csv": sql},
        connect_timeout=2,
        read_timeout=5,
        retries=100,
        retry_backoff=0.0,
        retry_budget=PERSISTENT_BUDGET,
    )
    store = Store(backend)
    try:
        expected = store.read_bytes("n.csv")
        assert expected.split() == [b'"n"', b"1", b"2", b"3"]
        answers = _bytes_down(db.proxy, lambda: store.read_bytes("n.csv"))
        db.proxy.cut_after(max(1, answers // 2), "down")
        assert store.read_bytes("n.csv") == expected
        assert db.proxy.counts["cut"] == 1
        db.proxy.refuse()
        db.proxy.reset_all()
        start = time.monotonic()
        with pytest.raises(BackendUnavailable):
            store.read_bytes("n.csv")
        assert time.monotonic() - start < PERSISTENT_BUDGET + SLACK
        assert db.proxy.counts["refuse"] >= 1
        policy = backend.retry_policy
        assert (policy.retries, policy.budget) == (100, PERSISTENT_BUDGET)
        assert backend.options["read_timeout"] == 5.0
    finally:
        backend.close()
    TALLY.record(db.name, 1, survived=True)
    TALLY.record(db.name, db.proxy.counts["refuse"] + db.proxy.counts["reset"], survived=False)
    with pytest.raises(ConfigError):
        SQLQueryBackend(db.url, queries={"n.csv": sql}, retries=-1)
