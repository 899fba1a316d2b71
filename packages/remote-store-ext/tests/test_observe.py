"""ObservedStore: one event per public operation, identical results and errors, lazy results observed."""

from __future__ import annotations

import contextvars
import inspect
import io
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from remote_store import Store
from remote_store.backends import MemoryBackend
from remote_store.errors import AlreadyExists, BackendUnavailable, CapabilityNotSupported, ConfigError, NotFound
from remote_store.ext.observe import (
    BufferedObserver,
    ObservedStore,
    StoreEvent,
    get_correlation_id,
    observe,
    reset_correlation_id,
    set_correlation_id,
)

NO_IO = {
    "backend",
    "root_path",
    "strict_keys",
    "capabilities",
    "supports",
    "unwrap",
    "resolve",
    "native_path",
    "to_key",
}


def test_every_public_store_method_is_observed() -> None:
    public = {n for n in dir(Store) if not n.startswith("_")}
    overridden = {n for n in public if n in ObservedStore.__dict__}
    assert public - NO_IO == overridden, "a Store method is not observed; add it to ObservedStore"


@pytest.fixture
def observed(store: Store) -> tuple[ObservedStore, BufferedObserver]:
    events = BufferedObserver()
    return observe(store, events), events


def one(events: BufferedObserver) -> StoreEvent:
    got = events.drain()
    assert len(got) == 1, got
    return got[0]


def test_simple_operations(observed: tuple[ObservedStore, BufferedObserver], store: Store) -> None:
    o, ev = observed
    assert isinstance(o, Store) and o.backend is store.backend and o == store
    r = o.write("d/a.txt", b"hello")
    e = one(ev)
    assert (e.operation, e.path, e.bytes, e.outcome, e.error_type) == ("write", "d/a.txt", 5, "ok", None)
    assert e.duration >= 0 and e.backend == store.backend.type_name
    assert r.size == 5 and r.path == "d/a.txt"
    cases: list[tuple[str, Any, Any, int | None]] = [
        ("exists", lambda s: s.exists("d/a.txt"), True, None),
        ("is_file", lambda s: s.is_file("d/a.txt"), True, None),
        ("is_folder", lambda s: s.is_folder("d"), True, None),
        ("read_bytes", lambda s: s.read_bytes("d/a.txt"), b"hello", 5),
        ("read_text", lambda s: s.read_text("d/a.txt"), "hello", 5),
        ("get_file_info", lambda s: s.get_file_info("d/a.txt").size, 5, None),
        ("head", lambda s: s.head("d/a.txt").size, 5, None),
        ("get_folder_info", lambda s: s.get_folder_info("d").file_count, 1, None),
        ("write_text", lambda s: s.write_text("d/t.txt", "ü", overwrite=True).size, 2, 2),
        ("write_atomic", lambda s: s.write_atomic("d/w.txt", b"abc", overwrite=True).size, 3, 3),
        ("copy", lambda s: s.copy("d/a.txt", "d/c.txt", overwrite=True), None, None),
        ("move", lambda s: s.move("d/c.txt", "d/m.txt", overwrite=True), None, None),
        ("delete", lambda s: s.delete("d/m.txt"), None, None),
        ("ping", lambda s: s.ping(), None, None),
    ]
    for op, call, want, nbytes in cases:
        assert call(o) == want, op
        e = one(ev)
        assert (e.operation, e.outcome, e.bytes) == (op, "ok", nbytes), e
    o.copy("d/a.txt", "d/x.txt")
    assert one(ev).target == "d/x.txt"
    o.delete_folder("d", recursive=True)
    assert one(ev).operation == "delete_folder" and not store.exists("d/a.txt")


def test_errors_are_the_same_and_reported(observed: tuple[ObservedStore, BufferedObserver]) -> None:
    o, ev = observed
    with pytest.raises(NotFound):
        o.read_bytes("missing")
    e = one(ev)
    assert (e.operation, e.outcome, e.error_type, e.bytes) == ("read_bytes", "error", "NotFound", None)
    o.write("x", b"1")
    ev.drain()
    with pytest.raises(AlreadyExists):
        o.write("x", b"2")
    assert one(ev).error_type == "AlreadyExists"
    with pytest.raises(NotFound):
        o.read("missing")
    assert one(ev).error_type == "NotFound"
    with pytest.raises(NotFound):
        o.move("missing", "y")
    assert one(ev).target == "y"


def test_capability_gate_is_observed() -> None:
    events = BufferedObserver()
    o = observe(Store(MemoryBackend()), events)
    with pytest.raises(CapabilityNotSupported):
        o.glob("*")
    e = one(events)
    assert (e.operation, e.path, e.error_type) == ("glob", "*", "CapabilityNotSupported")


def test_stream_reports_on_close(observed: tuple[ObservedStore, BufferedObserver]) -> None:
    o, ev = observed
    o.write("big.bin", b"z" * 100_000)
    ev.drain()
    with o.read("big.bin") as f:
        assert f.read(10) == b"z" * 10
        assert not ev.events  # nothing until closed
        buf = bytearray(1000)
        assert f.readinto(buf) == 1000
    e = one(ev)
    assert (e.operation, e.bytes, e.outcome) == ("read", 1010, "ok")
    with o.read_seekable("big.bin") as f:
        f.seek(99_990)
        assert f.read() == b"z" * 10 and f.tell() == 100_000
    assert one(ev).operation == "read_seekable"


def test_stream_error_mid_read_is_reported() -> None:
    class Dropping(MemoryBackend):
        def open_read(self, key: str) -> Any:
            class Half(io.RawIOBase):
                def readable(self) -> bool:
                    return True

                def readinto(self, b: Any) -> int:
                    raise ConnectionResetError("peer reset")

            return Half()

    events = BufferedObserver()
    o = observe(Store(Dropping()), events)
    o.write("f", b"data")
    events.drain()
    f = o.read("f")
    with pytest.raises(BackendUnavailable):
        f.read(4)
    f.close()
    e = one(events)
    assert (e.operation, e.outcome, e.error_type) == ("read", "error", "BackendUnavailable")


def test_iterators_report_when_done(observed: tuple[ObservedStore, BufferedObserver]) -> None:
    o, ev = observed
    for i in range(5):
        o.write(f"l/{i}.txt", b"x")
    o.write("l/sub/s.txt", b"x")
    ev.drain()
    it = o.list_files("l")
    assert not ev.events  # lazy: nothing reported before iteration ends
    assert len(list(it)) == 5
    e = one(ev)
    assert (e.operation, e.items, e.outcome) == ("list_files", 5, "ok")
    assert list(o.list_folders("l")) == ["l/sub"]
    assert one(ev).items == 1
    assert len(list(o.iter_children("l"))) == 6
    assert one(ev).operation == "iter_children"
    gen = o.list_files("l", recursive=True)
    next(gen)  # type: ignore[call-overload]
    gen.close()  # type: ignore[attr-defined]
    e = one(ev)
    assert (e.operation, e.items, e.outcome) == ("list_files", 1, "ok")


def test_iterator_error_is_reported() -> None:
    class BadList(MemoryBackend):
        def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[Any]:
            yield from super().iter_files(prefix, recursive=recursive)
            raise TimeoutError("listing timed out")

    events = BufferedObserver()
    o = observe(Store(BadList()), events)
    o.write("a", b"1")
    events.drain()
    with pytest.raises(BackendUnavailable):
        list(o.list_files(""))
    e = one(events)
    assert (e.items, e.outcome, e.error_type) == (1, "error", "BackendUnavailable")


def test_open_atomic(observed: tuple[ObservedStore, BufferedObserver], store: Store) -> None:
    o, ev = observed
    with o.open_atomic("at.bin") as f:
        f.write(b"abc")
        f.write(b"de")
    assert f.result is not None and f.result.size == 5
    e = one(ev)
    assert (e.operation, e.bytes, e.outcome) == ("open_atomic", 5, "ok")
    with pytest.raises(KeyError), o.open_atomic("at.bin", overwrite=True) as f:
        f.write(b"zz")
        raise KeyError("abort")
    e = one(ev)
    assert (e.outcome, e.error_type, e.bytes) == ("error", "KeyError", 2)
    assert store.read_bytes("at.bin") == b"abcde"


def test_child_is_observed(observed: tuple[ObservedStore, BufferedObserver]) -> None:
    o, ev = observed
    c = o.child("sub")
    assert isinstance(c, ObservedStore)
    c.write("f.txt", b"1")
    assert one(ev).path == "f.txt"
    assert o.read_bytes("sub/f.txt") == b"1"


def test_correlation_id_follows_context() -> None:
    events = BufferedObserver()
    o = observe(Store(MemoryBackend()), events)
    token = set_correlation_id("req-1")
    try:
        o.exists("a")
        assert get_correlation_id() == "req-1"
        seen: list[str | None] = []

        def worker() -> None:
            seen.append(get_correlation_id())
            o.exists("b")

        t = threading.Thread(target=worker)
        t.start()
        t.join()
        ctx = contextvars.copy_context()
        ctx.run(o.exists, "c")
    finally:
        reset_correlation_id(token)
    o.exists("d")
    ids = {e.path: e.correlation_id for e in events.drain()}
    assert ids == {"a": "req-1", "b": None, "c": "req-1", "d": None} and seen == [None]
    with pytest.raises(TypeError):
        set_correlation_id(5)  # type: ignore[arg-type]


def test_callback_failure_never_breaks_the_operation(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: StoreEvent) -> None:
        raise RuntimeError("observer bug")

    o = observe(Store(MemoryBackend()), broken)
    with caplog.at_level(logging.WARNING, logger="remote_store.ext.observe"):
        o.write("a", b"1")
        assert o.read_bytes("a") == b"1"
    assert "observer callback" in caplog.text


def test_buffered_observer_threads_and_capacity() -> None:
    events = BufferedObserver(capacity=50_000)
    o = observe(Store(MemoryBackend()), events)

    def work(i: int) -> None:
        for j in range(500):
            o.exists(f"t{i}/{j}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = events.drain()
    assert len(got) == 4000 and len({e.path for e in got}) == 4000
    small = BufferedObserver(capacity=3)
    for k in range(5):
        small(StoreEvent("exists", str(k), None, 0.0, "ok", None))
    assert [e.path for e in small.events] == ["2", "3", "4"] and len(small) == 3
    with pytest.raises(ConfigError):
        BufferedObserver(capacity=0)


def test_buffered_observer_sink_batches() -> None:
    batches: list[list[StoreEvent]] = []
    buf = BufferedObserver(capacity=4, sink=batches.append)
    o = observe(Store(MemoryBackend()), buf)
    for i in range(10):
        o.exists(str(i))
    assert [len(b) for b in batches] == [4, 4]
    buf.flush()
    assert [len(b) for b in batches] == [4, 4, 2] and not buf.events


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        observe(MemoryBackend(), print)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        observe(Store(MemoryBackend()), 5)  # type: ignore[arg-type]


def test_signatures_match_store() -> None:
    for name, member in ObservedStore.__dict__.items():
        if name.startswith("_") or not callable(member) or name == "child":
            continue
        base = getattr(Store, name, None)
        if base is None:
            continue
        ours = inspect.signature(member)
        theirs = inspect.signature(base)
        assert list(ours.parameters) == list(theirs.parameters), name
        for p in ours.parameters:
            assert ours.parameters[p].default == theirs.parameters[p].default, (name, p)


def test_does_not_close_the_wrapped_store() -> None:
    closed: list[bool] = []

    class Tracking(MemoryBackend):
        def close(self) -> None:
            closed.append(True)

    store = Store(Tracking())
    o = observe(store, BufferedObserver())
    o.write("a", b"1")
    list(o.list_files(""))
    del o
    assert closed == []


def test_buffered_fast_path_records_become_full_events() -> None:
    from remote_store_ext.observe import StoreEvent, reset_correlation_id

    buf = BufferedObserver(capacity=10)
    store = observe(Store(MemoryBackend()), buf)
    store.write("f.bin", b"12345")
    token = set_correlation_id("req-a")
    assert store.exists("f.bin")
    reset_correlation_id(token)
    token = set_correlation_id("req-b")
    assert store.read_bytes("f.bin") == b"12345"
    reset_correlation_id(token)
    peek = buf.events
    events = buf.drain()
    assert peek == events and buf.drain() == []
    assert all(type(e) is StoreEvent for e in events)
    assert [(e.operation, e.bytes, e.correlation_id, e.outcome, e.backend) for e in events] == [
        ("write", 5, None, "ok", "memory"),
        ("exists", None, "req-a", "ok", "memory"),
        ("read_bytes", 5, "req-b", "ok", "memory"),
    ]
    assert all(e.duration >= 0 and e.error_type is None for e in events)
    for _ in range(25):  # the bound holds for raw records too
        store.exists("f.bin")
    assert len(buf) == 10
