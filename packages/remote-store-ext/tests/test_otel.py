"""otel_observe: one span per operation, real timings, parent context, error status."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from remote_store import Store
from remote_store.backends import MemoryBackend
from remote_store.errors import NotFound
from remote_store.ext.observe import reset_correlation_id, set_correlation_id
from remote_store.ext.otel import otel_hooks, otel_observe


@pytest.fixture
def traced() -> tuple[Any, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_spans_per_operation(traced: tuple[Any, InMemorySpanExporter], store: Store) -> None:
    provider, exporter = traced
    s = otel_observe(store, tracer_provider=provider)
    tracer = provider.get_tracer("app")
    token = set_correlation_id("req-9")
    try:
        with tracer.start_as_current_span("request") as parent:
            before = time.time_ns()
            s.write("d/a.txt", b"hello")
            assert s.read_bytes("d/a.txt") == b"hello"
            assert len(list(s.list_files("d"))) == 1
            with pytest.raises(NotFound):
                s.read_bytes("missing")
            after = time.time_ns()
    finally:
        reset_correlation_id(token)
    spans = [sp for sp in exporter.get_finished_spans() if sp.name.startswith("remote_store.")]
    assert [sp.name for sp in spans] == [
        "remote_store.write",
        "remote_store.read_bytes",
        "remote_store.list_files",
        "remote_store.read_bytes",
    ]
    for sp in spans:
        assert sp.kind is SpanKind.CLIENT
        assert sp.parent is not None and sp.parent.span_id == parent.get_span_context().span_id
        assert before <= sp.start_time <= sp.end_time <= after
        assert sp.attributes["remote_store.backend"] == store.backend.type_name
        assert sp.attributes["remote_store.correlation_id"] == "req-9"
    write, read, listing, failed = spans
    assert write.attributes["remote_store.bytes"] == 5 and write.attributes["remote_store.path"] == "d/a.txt"
    assert listing.attributes["remote_store.items"] == 1
    assert failed.status.status_code is StatusCode.ERROR and failed.attributes["error.type"] == "NotFound"
    assert read.status.status_code is StatusCode.UNSET


def test_hooks_with_explicit_tracer(traced: tuple[Any, InMemorySpanExporter]) -> None:
    provider, exporter = traced
    from remote_store.ext.observe import observe

    s = observe(Store(MemoryBackend()), otel_hooks(provider.get_tracer("mine")))
    assert not s.exists("a")
    s.write("a", b"x")
    s.copy("a", "b")
    names = [(sp.name, sp.instrumentation_scope.name) for sp in exporter.get_finished_spans()]
    assert names == [("remote_store.exists", "mine"), ("remote_store.write", "mine"), ("remote_store.copy", "mine")]
    assert exporter.get_finished_spans()[-1].attributes["remote_store.target"] == "b"


def test_without_opentelemetry_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"
        "try:\n"
        "    import remote_store.ext.otel\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "remote-store-ext[otel]"' in out.stdout
