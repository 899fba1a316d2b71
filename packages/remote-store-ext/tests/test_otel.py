"""otel_observe: one span per operation, real timings, parent context, error status."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from remote_store import Store
from remote_store.backends import MemoryBackend
from remote_store.errors import ConfigError, NotFound
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


@pytest.fixture
def metered() -> tuple[MeterProvider, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    return MeterProvider(metric_readers=[reader]), reader


def collect(reader: InMemoryMetricReader) -> dict[str, Any]:
    """``{metric name: (unit, {attribute items: data point})}`` of one collection."""
    out: dict[str, Any] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            assert sm.scope.name == "remote_store"
            for metric in sm.metrics:
                points = {frozenset(p.attributes.items()): p for p in metric.data.data_points}
                out[metric.name] = (metric.unit, points)
    return out


def attrs(op: str, backend: str, error: str | None = None) -> frozenset[tuple[str, Any]]:
    items = {"remote_store.operation": op, "remote_store.backend": backend, "remote_store.outcome": "ok"}
    if error is not None:
        items |= {"remote_store.outcome": "error", "error.type": error}
    return frozenset(items.items())


def test_metrics_per_operation(
    metered: tuple[MeterProvider, InMemoryMetricReader], traced: tuple[Any, InMemorySpanExporter], store: Store
) -> None:
    provider, reader = metered
    s = otel_observe(store, tracer_provider=traced[0], meter_provider=provider)
    kind = store.backend.type_name
    s.write("m/a.bin", b"hello")
    s.write("m/b.bin", b"x" * 300)
    assert s.read_bytes("m/a.bin") == b"hello"
    with s.read("m/b.bin") as f:
        assert f.read(100) == b"x" * 100  # a stream counts the bytes actually read
    for _ in range(2):
        with pytest.raises(NotFound):
            s.read_bytes("m/missing")
    assert s.exists("m/a.bin")
    assert len(list(s.list_files("m"))) == 2
    got = collect(reader)
    assert set(got) == {
        "remote_store.operations",
        "remote_store.operation.duration",
        "remote_store.bytes_read",
        "remote_store.bytes_written",
    }

    unit, ops = got["remote_store.operations"]
    assert unit == "{operation}"
    assert {k: p.value for k, p in ops.items()} == {
        attrs("write", kind): 2,
        attrs("read_bytes", kind): 1,
        attrs("read", kind): 1,
        attrs("read_bytes", kind, "NotFound"): 2,
        attrs("exists", kind): 1,
        attrs("list_files", kind): 1,
    }
    unit, read = got["remote_store.bytes_read"]
    assert unit == "By"
    assert {k: p.value for k, p in read.items()} == {attrs("read_bytes", kind): 5, attrs("read", kind): 100}
    unit, written = got["remote_store.bytes_written"]
    assert unit == "By" and {k: p.value for k, p in written.items()} == {attrs("write", kind): 305}

    unit, durations = got["remote_store.operation.duration"]
    assert unit == "s" and set(durations) == set(ops)
    writes = durations[attrs("write", kind)]
    assert isinstance(writes, HistogramDataPoint)
    assert writes.count == 2 and 0 < writes.sum < 30  # seconds, not ms or ns
    assert writes.explicit_bounds[:3] == (0.005, 0.01, 0.025)
    assert sum(writes.bucket_counts) == 2
    spans = traced[1].get_finished_spans()
    assert len(spans) == 8
    assert [sp.status.status_code for sp in spans].count(StatusCode.ERROR) == 2  # the two NotFound reads


def test_metrics_only_and_spans_only(
    metered: tuple[MeterProvider, InMemoryMetricReader], traced: tuple[Any, InMemorySpanExporter]
) -> None:
    provider, reader = metered
    tracer_provider, exporter = traced
    metrics_only = otel_observe(
        Store(MemoryBackend()), tracer_provider=tracer_provider, meter_provider=provider, spans=False
    )
    metrics_only.write("a", b"abc")
    assert exporter.get_finished_spans() == ()
    assert collect(reader)["remote_store.bytes_written"][1][attrs("write", "memory")].value == 3

    spans_only = otel_observe(
        Store(MemoryBackend()), tracer_provider=tracer_provider, meter_provider=provider, metrics=False
    )
    spans_only.write("b", b"abcd")
    assert [sp.name for sp in exporter.get_finished_spans()] == ["remote_store.write"]
    assert collect(reader)["remote_store.bytes_written"][1][attrs("write", "memory")].value == 3  # unchanged
    with pytest.raises(ConfigError):
        otel_hooks(spans=False, metrics=False)


def test_hooks_with_explicit_meter(metered: tuple[MeterProvider, InMemoryMetricReader]) -> None:
    provider, reader = metered
    from remote_store.ext.observe import observe

    s = observe(Store(MemoryBackend()), otel_hooks(meter=provider.get_meter("remote_store"), spans=False))
    s.write_text("t.txt", "héllo")
    assert s.read_text("t.txt") == "héllo"
    got = collect(reader)
    assert got["remote_store.bytes_written"][1][attrs("write_text", "memory")].value == 6  # UTF-8 bytes
    assert got["remote_store.bytes_read"][1][attrs("read_text", "memory")].value == 6


def test_stores_sharing_a_meter_are_all_counted(
    metered: tuple[MeterProvider, InMemoryMetricReader], tmp_path: Any
) -> None:
    from remote_store.backends import LocalBackend

    provider, reader = metered
    stores = [
        otel_observe(Store(MemoryBackend()), meter_provider=provider, spans=False),
        otel_observe(Store(MemoryBackend()), meter_provider=provider, spans=False),
        otel_observe(Store(LocalBackend(tmp_path)), meter_provider=provider, spans=False),
    ]
    for i, s in enumerate(stores):
        s.write("f", b"x" * (i + 1))
    counts = {k: p.value for k, p in collect(reader)["remote_store.operations"][1].items()}
    assert counts == {attrs("write", "memory"): 2, attrs("write", "local"): 1}
    written = collect(reader)["remote_store.bytes_written"][1]
    assert written[attrs("write", "memory")].value == 3 and written[attrs("write", "local")].value == 3
    stores[0].write("g", b"yy")  # cumulative: the next collection includes earlier operations
    assert collect(reader)["remote_store.operations"][1][attrs("write", "memory")].value == 3


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
