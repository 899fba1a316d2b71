"""Fault injection between the SFTP backend and a real sshd (`testing.tcpfaults.FaultProxy`).

For every operation class: a transient fault (one connection reset mid-request, a stall
shorter than the budget) is survived; a persistent one (every new connection refused) ends
in `BackendUnavailable` within ``retry_budget`` plus slack; a failed overwrite leaves the old
content and no temp file; the lost answer of an exclusive write or move is resolved by
checking the target, never by a duplicate; a pooled connection reset while idle is
replaced on the next call. Timeouts are short and backoff zero so the suite stays fast.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from remote_store import Store
from remote_store.errors import AlreadyExists, BackendUnavailable, ConfigError
from remote_store_sftp import SFTPBackend
from testing.servers.sftp import SFTPServer
from testing.tcpfaults import FaultProxy, FaultTally

MiB = 1024 * 1024
SMALL = b"small file " * 100
LARGE = os.urandom(3 * MiB)
#: Seconds a persistent fault may take beyond ``retry_budget`` (one connect attempt + a loaded CI box).
SLACK = 3.0
TALLY = FaultTally()


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


@pytest.fixture
def make(
    sftp_server_session: SFTPServer, sftp_base: str, sftp_fault_proxy: FaultProxy
) -> Iterator[Callable[..., SFTPBackend]]:
    """Backends that reach the server through the fault proxy (short timeouts, no backoff)."""
    made: list[SFTPBackend] = []
    srv = sftp_server_session

    def build(direct: bool = False, **overrides: Any) -> SFTPBackend:
        options: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": srv.port if direct else sftp_fault_proxy.port,
            "username": srv.username,
            "private_key": srv.client_key,
            "host_key": srv.host_key_line,
            "known_hosts": srv.known_hosts,
            "base_path": sftp_base,
            "connect_timeout": 2.0,
            "read_timeout": 2.0,
            "retries": 5,
            "retry_backoff": 0.0,
            "retry_budget": 15.0,
            "stale_temp_age": None,
        }
        if "operation_timeout" in overrides:  # the alias replaces the default read_timeout above
            del options["read_timeout"]
        options.update(overrides)
        backend = SFTPBackend(**options)
        made.append(backend)
        return backend

    yield build
    for backend in made:
        backend.close()


@dataclass(frozen=True)
class Op:
    """One operation class: ``prepare`` the store, ``run`` it (calling ``arm`` where the fault goes)."""

    name: str
    prepare: Callable[[Store], None]
    run: Callable[[Store, Callable[[], None]], None]
    #: where a transient reset cuts the connection: (bytes, direction)
    cut: tuple[int, str]


def _nothing(store: Store) -> None:
    store.exists("warm-up")  # connect


def _put(key: str, data: bytes) -> Callable[[Store], None]:
    def prepare(store: Store) -> None:
        store.write(key, data, overwrite=True)

    return prepare


def _read_whole(store: Store, arm: Callable[[], None]) -> None:
    arm()
    assert store.read_bytes("f") == LARGE


def _read_stream(store: Store, arm: Callable[[], None]) -> None:
    with store.read("f") as stream:
        head = stream.read(256 * 1024)
        arm()  # the reset lands mid-stream
        rest = stream.read()
    assert head + rest == LARGE


def _write_small(store: Store, arm: Callable[[], None]) -> None:
    arm()
    store.write("w", SMALL, overwrite=True)
    assert store.read_bytes("w") == SMALL


def _write_large(store: Store, arm: Callable[[], None]) -> None:
    arm()
    store.write("w", LARGE, overwrite=True)
    assert store.read_bytes("w") == LARGE


def _prepare_list(store: Store) -> None:
    for name in ("a", "b", "c"):
        store.write(f"dir/{name}", SMALL, overwrite=True)


def _list(store: Store, arm: Callable[[], None]) -> None:
    arm()
    assert sorted(i.name for i in store.list_files("dir")) == ["a", "b", "c"]


def _delete(store: Store, arm: Callable[[], None]) -> None:
    arm()
    store.delete("f")
    assert not store.exists("f")


def _copy(store: Store, arm: Callable[[], None]) -> None:
    arm()
    store.copy("f", "f-copy")
    assert store.read_bytes("f-copy") == SMALL


def _move(store: Store, arm: Callable[[], None]) -> None:
    arm()
    store.move("f", "f-moved")
    assert store.read_bytes("f-moved") == SMALL
    assert not store.exists("f")


def _info(store: Store, arm: Callable[[], None]) -> None:
    arm()
    assert store.exists("f")
    assert store.get_file_info("f").size == len(SMALL)


OPS = [
    Op("read-whole", _put("f", LARGE), _read_whole, (MiB, "down")),
    Op("read-stream", _put("f", LARGE), _read_stream, (64 * 1024, "down")),
    Op("write-small", _nothing, _write_small, (1, "up")),
    Op("write-large", _put("w", SMALL), _write_large, (MiB, "up")),
    Op("list", _prepare_list, _list, (1, "down")),
    Op("delete", _put("f", SMALL), _delete, (1, "down")),
    Op("copy", _put("f", SMALL), _copy, (1, "down")),
    Op("move", _put("f", SMALL), _move, (1, "down")),
    Op("exists-info", _put("f", SMALL), _info, (1, "down")),
]


@pytest.mark.parametrize("op", OPS, ids=[o.name for o in OPS])
def test_one_reset_mid_request_is_survived(
    make: Callable[..., SFTPBackend], sftp_fault_proxy: FaultProxy, op: Op
) -> None:
    store = Store(make())
    op.prepare(store)
    nbytes, direction = op.cut
    op.run(store, lambda: sftp_fault_proxy.cut_after(nbytes, direction))
    cuts = sftp_fault_proxy.counts["cut"]
    assert cuts == 1, sftp_fault_proxy.log  # the fault really hit the operation
    TALLY.record("sftp", cuts, survived=True)


@pytest.mark.parametrize(
    "op", [o for o in OPS if o.name in ("read-whole", "write-large", "list", "move")], ids=lambda o: o.name
)
def test_stall_shorter_than_the_budget_is_survived(
    make: Callable[..., SFTPBackend], sftp_fault_proxy: FaultProxy, op: Op
) -> None:
    store = Store(make(read_timeout=0.5, connect_timeout=3.0, retry_budget=10.0))
    op.prepare(store)
    start = time.monotonic()
    op.run(store, lambda: sftp_fault_proxy.stall(1.0))
    elapsed = time.monotonic() - start
    assert sftp_fault_proxy.counts["stall"] == 1
    assert elapsed >= 0.5  # the stall was felt (the request timed out and was retried)
    assert elapsed < 10.0
    TALLY.record("sftp", 1, survived=True)


PERSISTENT_BUDGET = 1.0


@pytest.mark.parametrize("op", OPS, ids=[o.name for o in OPS])
def test_refused_connections_end_in_backend_unavailable_within_the_budget(
    make: Callable[..., SFTPBackend], sftp_fault_proxy: FaultProxy, op: Op
) -> None:
    store = Store(make(retries=100, retry_backoff=0.05, retry_backoff_max=0.1, retry_budget=PERSISTENT_BUDGET))
    op.prepare(store)

    def arm() -> None:
        sftp_fault_proxy.refuse()
        sftp_fault_proxy.reset_all()

    start = time.monotonic()
    with pytest.raises(BackendUnavailable):
        op.run(store, arm)
    elapsed = time.monotonic() - start
    refused = sftp_fault_proxy.counts["refuse"]
    assert refused >= 1  # new connections were tried (how many the budget allows depends on the machine's load)
    assert elapsed < PERSISTENT_BUDGET + SLACK, f"{op.name}: {elapsed:.2f}s"
    TALLY.record("sftp", refused + sftp_fault_proxy.counts["reset"], survived=False)


def test_persistent_stall_ends_in_backend_unavailable_within_the_budget(
    make: Callable[..., SFTPBackend], sftp_fault_proxy: FaultProxy
) -> None:
    store = Store(make(read_timeout=0.3, connect_timeout=0.3, retries=100, retry_budget=PERSISTENT_BUDGET))
    store.write("f", SMALL, overwrite=True)
    sftp_fault_proxy.stall(60)
    start = time.monotonic()
    with pytest.raises(BackendUnavailable):
        store.read_bytes("f")
    elapsed = time.monotonic() - start
    assert elapsed < PERSISTENT_BUDGET + SLACK, f"{elapsed:.2f}s"
    sftp_fault_proxy.resume()
    TALLY.record("sftp", 1, survived=False)


def _temps(server: SFTPServer, base: str) -> list[str]:
    return [n for n in os.listdir(server.local_path(base)) if n.startswith(".~rs-")]


def test_failed_overwrite_leaves_old_content_and_no_temp_file(
    make: Callable[..., SFTPBackend], sftp_fault_proxy: FaultProxy, sftp_server_session: SFTPServer, sftp_base: str
) -> None:
    backend = make(retries=2, retry_budget=PERSISTENT_BUDGET)
    store = Store(backend)
    store.write("k", SMALL, overwrite=True)
    sftp_fault_proxy.refuse()  # the retries cannot connect
    sftp_fault_proxy.cut_after(MiB, "up")  # the write dies after 1 MiB of 3
    with pytest.raises(BackendUnavailable):
        store.write("k", LARGE, overwrite=True)
    sftp_fault_proxy.refuse(False)
    direct = Store(make(direct=True))
    assert direct.read_bytes("k") == SMALL
    assert [i.name for i in direct.list_files("")] == ["k"]
    assert store.read_bytes("k") == SMALL  # reconnects; its orphaned temp file is removed first
    if sftp_server_session.kind == "openssh":
        assert _temps(sftp_server_session, sftp_base) == []
    TALLY.record("sftp", sftp_fault_proxy.counts["cut"] + sftp_fault_proxy.counts["refuse"], survived=False)


def _delta_up(proxy: FaultProxy, call: Callable[[], object]) -> int:
    before = proxy.bytes_up()
    call()
    return proxy.bytes_up() - before


@pytest.mark.parametrize("overwrite", [False, True], ids=["exclusive", "overwrite"])
def test_lost_answer_of_a_write_is_resolved_by_checking(
    make: Callable[..., SFTPBackend],
    sftp_fault_proxy: FaultProxy,
    caplog: pytest.LogCaptureFixture,
    overwrite: bool,
) -> None:
    """The connection drops after the publishing request reached the server: no duplicate, no error."""
    store = Store(make())
    store.exists("warm-up")
    # the same write on the same connection sends the same number of bytes: measure it once
    sent = _delta_up(sftp_fault_proxy, lambda: store.write("dry-1", SMALL, overwrite=overwrite))
    sftp_fault_proxy.cut_after(sent, "up", hold=0.3)  # all of it reaches sshd, no answer comes back
    caplog.set_level("INFO", logger="remote_store")
    result = store.write("new-1", SMALL, overwrite=overwrite)
    assert sftp_fault_proxy.counts["cut"] == 1
    assert result.size == len(SMALL)
    assert store.read_bytes("new-1") == SMALL
    assert sorted(i.name for i in store.list_files("")) == ["dry-1", "new-1"]
    if not overwrite:
        assert "the file is ours" in caplog.text  # resolved by the check, not by a second write
    TALLY.record("sftp", 1, survived=True)


@pytest.mark.parametrize("overwrite", [False, True], ids=["exclusive", "overwrite"])
def test_lost_answer_of_a_move_is_resolved_by_checking(
    make: Callable[..., SFTPBackend], sftp_fault_proxy: FaultProxy, overwrite: bool
) -> None:
    store = Store(make())
    for key in ("src-1", "src-2"):
        store.write(key, SMALL, overwrite=True)
    sent = _delta_up(sftp_fault_proxy, lambda: store.move("src-1", "dst-1", overwrite=overwrite))
    sftp_fault_proxy.cut_after(sent, "up", hold=0.3)
    store.move("src-2", "dst-2", overwrite=overwrite)  # a blind retry would raise NotFound
    assert sftp_fault_proxy.counts["cut"] == 1
    assert sorted(i.name for i in store.list_files("")) == ["dst-1", "dst-2"]
    assert store.read_bytes("dst-2") == SMALL
    TALLY.record("sftp", 1, survived=True)


def test_lost_answer_of_an_exclusive_write_over_another_writers_file_is_already_exists(
    make: Callable[..., SFTPBackend], sftp_fault_proxy: FaultProxy
) -> None:
    """The check compares content: a file that is not ours is `AlreadyExists`, never reported as our write."""
    store = Store(make())
    store.exists("warm-up")
    sent = _delta_up(sftp_fault_proxy, lambda: store.write("dry-1", SMALL, overwrite=False))
    other = Store(make(direct=True))
    sftp_fault_proxy.cut_after(sent, "up", hold=1.0)

    def rival() -> None:  # while our answer is lost, another writer replaces the file
        deadline = time.monotonic() + 10
        while not sftp_fault_proxy.counts["cut"] and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        other.write("new-1", b"theirs", overwrite=True)

    thread = threading.Thread(target=rival)
    thread.start()
    try:
        with pytest.raises(AlreadyExists):
            store.write("new-1", SMALL, overwrite=False)
    finally:
        thread.join()
    assert sftp_fault_proxy.counts["cut"] == 1
    assert other.read_bytes("new-1") == b"theirs"
    TALLY.record("sftp", 1, survived=False)


def test_idle_pooled_connection_reset_is_replaced_transparently(
    make: Callable[..., SFTPBackend], sftp_fault_proxy: FaultProxy
) -> None:
    store = Store(make(retries=0))  # no retry needed: the dead connection is noticed at checkout
    store.write("f", SMALL, overwrite=True)
    assert sftp_fault_proxy.reset_all() == 1
    time.sleep(0.2)
    assert store.read_bytes("f") == SMALL
    assert sftp_fault_proxy.accepted == 2
    store.write("g", io.BytesIO(SMALL), overwrite=True)
    assert store.read_bytes("g") == SMALL
    TALLY.record("sftp", 1, survived=True)


def test_options_reach_the_transport_and_bad_values_are_config_errors(make: Callable[..., SFTPBackend]) -> None:
    backend = make(
        connect_timeout=3,
        operation_timeout=4,  # the former name of read_timeout
        retries="4",
        retry_backoff=0.25,
        retry_on="connection",
    )
    store = Store(backend)
    store.write("f", SMALL, overwrite=True)
    session = backend._session
    assert session is not None
    transport = session.transport
    # connect_timeout bounds the TCP connect, the banner, the key exchange and authentication
    assert (transport.banner_timeout, transport.handshake_timeout, transport.auth_timeout) == (3.0, 3.0, 3.0)
    assert all(client.sock.gettimeout() == 4.0 for client in session.idle)  # read_timeout: channel timeout
    policy = backend.retry_policy
    assert (policy.retries, policy.backoff, policy.retry_on) == (4, 0.25, frozenset({"connection"}))
    assert backend.options["read_timeout"] == 4.0
    rebuilt = SFTPBackend(**backend.options)  # the options rebuild an equal backend
    assert rebuilt.retry_policy == policy
    bad: list[dict[str, Any]] = [
        {"retries": -1},
        {"retries": "many"},
        {"retry_backoff": -0.5},
        {"retry_budget": "soon"},
        {"retry_on": "lightning"},
        {"read_timeout": 0},
        {"connect_timeout": -1},
        {"read_timeout": 5, "operation_timeout": 5},
    ]
    for options in bad:
        with pytest.raises(ConfigError):
            make(**options)
