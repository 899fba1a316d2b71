"""``cache`` / ``observe`` / ``otel`` as config middleware: TOML → `open_store` → wrapped store.

Against moto S3 (a real server): order, caching, invalidation, events, pickling, option
errors; the conformance suite on the wrapped backends (memory and local).
"""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remote_store import Store, open_store
from remote_store.backends import LocalBackend, MemoryBackend
from remote_store.errors import ConfigError, NotFound
from remote_store_conformance import BackendConformance
from remote_store_ext._plugin import MIDDLEWARE
from remote_store_ext.middleware import CacheMiddleware, ObserveMiddleware, StoreMiddleware
from testing.servers.s3 import MotoS3Server

COLLECTOR = """
events = []

def record(event):
    events.append(event)
"""


@pytest.fixture
def collector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An importable ``mw_events:record`` callback module, fresh per test."""
    folder = tmp_path / "mods"
    folder.mkdir()
    name = f"mw_events_{abs(hash(str(tmp_path)))}"
    (folder / f"{name}.py").write_text(COLLECTOR)
    monkeypatch.syspath_prepend(str(folder))
    import importlib

    module = importlib.import_module(name)
    module.target = f"{name}:record"  # type: ignore[attr-defined]
    return module


def _s3_toml(tmp_path: Path, server: MotoS3Server, bucket: str, middleware: str) -> Path:
    opts = server.backend_options(bucket)
    inline = ", ".join(f"{k} = {v!r}" for k, v in opts.items() if isinstance(v, str))
    path = tmp_path / "remote-store.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [backends.main]
            type = "s3"
            options = {{ {inline.replace("'", '"')} }}

            [stores.reports]
            backend = "main"
            root_path = "reports"
            middleware = {middleware}
            """
        )
    )
    return path


def _outer(store: Store) -> StoreMiddleware:
    backend = store.backend
    assert isinstance(backend, StoreMiddleware)
    return backend


def test_plugin_registers_three_middleware_in_documented_priority() -> None:
    from remote_store import get_plugin_host

    specs = get_plugin_host().middleware_specs()
    names = [name for name, *_ in MIDDLEWARE]
    assert names == ["cache", "observe", "otel"]
    assert [specs[n].priority for n in names] == [10, 50, 60]
    assert all(specs[n].package == "remote-store-ext" for n in names)


def test_toml_cache_inside_observe_on_s3(
    tmp_path: Path, s3_server: MotoS3Server, s3_bucket: str, collector: Any
) -> None:
    mw = f'[{{ name = "cache", options = {{ ttl = 0 }} }}, {{ name = "observe", options = {{ callback = "{collector.target}" }} }}]'
    cfg = _s3_toml(tmp_path, s3_server, s3_bucket, mw)
    store = open_store("reports", config=cfg)
    raw = s3_server.client()
    try:
        observe_mw = _outer(store)
        assert isinstance(observe_mw, ObserveMiddleware)
        cache_mw = observe_mw.inner
        assert isinstance(cache_mw, CacheMiddleware)

        store.write("q1.csv", b"v1")
        assert raw.get_object(Bucket=s3_bucket, Key="reports/q1.csv")["Body"].read() == b"v1"
        assert store.read_bytes("q1.csv") == b"v1"  # miss: fetched and cached
        # Changed behind the store's back: a ttl=0 cache keeps serving what it fetched.
        raw.put_object(Bucket=s3_bucket, Key="reports/q1.csv", Body=b"changed")
        assert store.read_bytes("q1.csv") == b"v1"
        stats = cache_mw.cached_store.stats
        assert (stats.hits, stats.misses) == (1, 1)
        # A write through the store invalidates.
        store.write("q1.csv", b"v2", overwrite=True)
        assert store.read_bytes("q1.csv") == b"v2"

        ops = [(e.operation, e.path) for e in collector.events]
        # observe is outermost: it sees every call, the cache hit included; paths are backend keys.
        assert ops.count(("read_bytes", "reports/q1.csv")) == 3
        assert ("write", "reports/q1.csv") in ops
        reads = [e for e in collector.events if e.operation == "read_bytes"]
        assert [e.bytes for e in reads] == [2, 2, 2] and all(e.backend == "s3" for e in reads)
    finally:
        store.close()


def test_toml_observe_inside_cache_sees_only_misses(
    tmp_path: Path, s3_server: MotoS3Server, s3_bucket: str, collector: Any
) -> None:
    mw = f'[{{ name = "observe", options = {{ callback = "{collector.target}" }} }}, "cache"]'
    store = open_store("reports", config=_s3_toml(tmp_path, s3_server, s3_bucket, mw))
    try:
        assert isinstance(_outer(store), CacheMiddleware)
        store.write("a.bin", b"12345")
        for _ in range(4):
            assert store.read_bytes("a.bin") == b"12345"
        reads = [e for e in collector.events if e.operation == "read_bytes"]
        assert len(reads) == 1  # three hits never reached the observed layer
        with pytest.raises(NotFound):
            store.read_bytes("missing.bin")
        err = [e for e in collector.events if e.outcome == "error"]
        assert [(e.operation, e.error_type) for e in err] == [("read_bytes", "NotFound")]
    finally:
        store.close()


def test_wrapped_store_streams_lists_and_atomic_writes(
    tmp_path: Path, s3_server: MotoS3Server, s3_bucket: str, collector: Any
) -> None:
    mw = f'["cache", {{ name = "observe", options = {{ callback = "{collector.target}" }} }}]'
    store = open_store("reports", config=_s3_toml(tmp_path, s3_server, s3_bucket, mw))
    try:
        with store.open_atomic("big/x.bin") as f:
            f.write(b"a" * 1000)
            f.write(b"b" * 24)
        with store.read("big/x.bin") as r:
            assert r.read() == b"a" * 1000 + b"b" * 24
        assert [i.path for i in store.list_files("big")] == ["big/x.bin"]
        assert list(store.list_folders("")) == ["big"]
        assert store.get_file_info("big/x.bin").size == 1024
        with pytest.raises(RuntimeError), store.open_atomic("big/y.bin") as f:
            f.write(b"never")
            raise RuntimeError("caller failed")
        assert not store.exists("big/y.bin")
        store.move("big/x.bin", "big/z.bin")
        assert [i.path for i in store.list_files("big")] == ["big/z.bin"]
        ops = {e.operation for e in collector.events}
        assert {"open_atomic", "read", "list_files", "list_folders", "get_file_info", "move"} <= ops
        atomic = [e for e in collector.events if e.operation == "open_atomic"]
        assert [(e.outcome, e.bytes) for e in atomic] == [("ok", 1024), ("error", 5)]
    finally:
        store.close()


def test_middleware_store_pickles_by_config(tmp_path: Path, s3_server: MotoS3Server, s3_bucket: str) -> None:
    mw = '[{ name = "cache", options = { ttl = 5, max_bytes = 4096 } }, { name = "observe", options = { level = "INFO" } }]'
    store = open_store("reports", config=_s3_toml(tmp_path, s3_server, s3_bucket, mw))
    try:
        store.write("p.txt", b"pickled")
        clone = pickle.loads(pickle.dumps(store))
        assert clone.read_bytes("p.txt") == b"pickled"
        outer = _outer(clone)
        assert isinstance(outer, ObserveMiddleware) and outer.options["level"] == "INFO"
        inner = outer.inner
        assert isinstance(inner, CacheMiddleware)
        assert inner.options["ttl"] == 5 and inner.options["max_bytes"] == 4096
        assert "secret" not in repr(clone).lower() or "***" in repr(clone)
        clone.close()
    finally:
        store.close()


def test_default_observe_logs_events(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    cfg = {
        "backends": {"m": {"type": "local", "options": {"root": str(tmp_path / "root")}}},
        "stores": {"s": {"backend": "m", "middleware": ["observe"]}},
    }
    store = open_store("s", config=cfg)
    with caplog.at_level(logging.DEBUG, logger="remote_store.events"):
        store.write("hello.txt", b"hi")
        assert not store.exists("nope.txt")
    lines = [r.getMessage() for r in caplog.records if r.name == "remote_store.events"]
    assert any(line.startswith("write hello.txt ok") and "bytes=2" in line for line in lines)
    assert any(line.startswith("exists nope.txt ok") for line in lines)
    store.close()


@pytest.mark.parametrize(
    ("middleware", "match"),
    [
        ({"name": "cache", "options": {"ttl": -1}}, "ttl"),
        ({"name": "cache", "options": {"max_bytes": "big"}}, "max_bytes"),
        ({"name": "cache", "options": {"colour": "red"}}, "unknown options: colour"),
        ({"name": "observe", "options": {"level": "LOUD"}}, "level"),
        ({"name": "observe", "options": {"callback": "no_such_module_xyz:fn"}}, "cannot be imported"),
        ({"name": "observe", "options": {"callback": "os:sep"}}, "not callable"),
        ({"name": "otel", "options": {"x": 1}}, "unknown options: x"),
        ("nope", "unknown middleware"),
    ],
)
def test_bad_middleware_options_are_config_errors(middleware: Any, match: str) -> None:
    cfg = {"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m", "middleware": [middleware]}}}
    with pytest.raises(ConfigError, match=match):
        open_store("s", config=cfg)


def test_disk_cache_directory_option(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cfg = {
        "backends": {"m": {"type": "local", "options": {"root": str(tmp_path / "root")}}},
        "stores": {"s": {"backend": "m", "middleware": [{"name": "cache", "options": {"directory": str(cache_dir)}}]}},
    }
    store = open_store("s", config=cfg)
    store.write("f.bin", b"x" * 100)
    assert store.read_bytes("f.bin") == b"x" * 100
    assert any(cache_dir.iterdir())  # content landed on disk
    store.close()


def test_otel_middleware_spans_from_config() -> None:
    # A fresh interpreter: the global tracer provider can be set once per process.
    code = textwrap.dedent(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from remote_store import open_store

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        cfg = {"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m", "middleware": ["otel"]}}}
        store = open_store("s", config=cfg)
        store.write("a.txt", b"abc")
        store.read_bytes("a.txt")
        print(sorted(s.attributes["remote_store.operation"] for s in exporter.get_finished_spans()))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['read_bytes', 'write']"


class TestCacheMiddlewareConformanceMemory(BackendConformance):
    """The contract holds through the cache middleware (memory backend)."""

    shares_state_across_processes = False

    @pytest.fixture
    def backend(self) -> Iterator[CacheMiddleware]:
        b = CacheMiddleware(MemoryBackend())
        yield b
        b.close()


class TestObserveMiddlewareConformanceLocal(BackendConformance):
    """The contract holds through the observe middleware (local disk)."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[ObserveMiddleware]:
        b = ObserveMiddleware(LocalBackend(tmp_path / "root"))
        yield b
        b.close()
