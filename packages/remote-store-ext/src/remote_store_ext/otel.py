"""OpenTelemetry spans and metrics for every store operation (``pip install "remote-store-ext[otel]"``).

Built on `remote_store_ext.observe`: each `StoreEvent` becomes one span named
``remote_store.<operation>`` (kind CLIENT) with the operation's real start and end times,
parented to the span that is current in the calling thread, and a few metric
measurements::

    from remote_store.ext.otel import otel_observe

    store = otel_observe(store)            # the global tracer and meter providers
    with tracer.start_as_current_span("handle-request"):
        store.read_bytes("a.json")         # -> child span "remote_store.read_bytes"

**Span attributes:** ``remote_store.operation``, ``remote_store.path`` (store-relative,
never a credential), ``remote_store.backend`` and when known
``remote_store.bytes``, ``remote_store.items``, ``remote_store.target``,
``remote_store.correlation_id``. The outcome is the span status: a failed operation gets
status ERROR and ``error.type`` (the `remote_store.errors` class name).

**Metrics** (instrumentation scope ``remote_store``), each with the attributes
``remote_store.operation``, ``remote_store.backend``, ``remote_store.outcome`` (``ok`` /
``error``) and, on errors, ``error.type`` — never the path, so the series stay few:

=================================== ========= ===================================
``remote_store.operations``         Counter   operations finished (``{operation}``)
``remote_store.operation.duration`` Histogram seconds (``s``), open to close for streams
``remote_store.bytes_read``         Counter   bytes read (``By``): read* operations
``remote_store.bytes_written``      Counter   bytes written (``By``): write*, open_atomic
=================================== ========= ===================================

The three counters are *observable* (asynchronous) counters: the counts are summed in
process and handed to the SDK when a reader collects, the same cumulative sums a
synchronous counter exports, for a fraction of its per-operation cost. Only the duration
is recorded per operation.

Spans and measurements are recorded when the operation has finished (lazy streams and
iterators when they end), so spans of an SDK's own instrumentation made meanwhile are
siblings, not children. Only the OpenTelemetry *API* is needed; without an SDK
configured, spans and measurements are no-ops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

try:
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ModuleNotFoundError(
        'remote_store.ext.otel needs opentelemetry-api: pip install "remote-store-ext[otel]"', name="opentelemetry"
    ) from exc

from remote_store import Store
from remote_store_ext import __version__
from remote_store_ext._otelmetrics import Metrics
from remote_store_ext.observe import Callback, ObservedStore, StoreEvent

#: Instrumentation scope name of the tracer and the meter.
SCOPE = "remote_store"

_RecordSpan = Callable[[StoreEvent], None]


def _span_recorder(tracer: Any) -> _RecordSpan:
    """``record(event)``: one finished span per event, with cached names and few allocations."""
    names: dict[str, str] = {}
    start_span = tracer.start_span
    client = SpanKind.CLIENT
    time_ns = time.time_ns

    def record(event: StoreEvent) -> None:
        end = time_ns()
        op, path, nbytes, duration, outcome, error_type, correlation_id, target, items, backend = event
        name = names.get(op)
        if name is None:
            name = names.setdefault(op, f"remote_store.{op}")
        # The outcome is the span status, not an attribute: every attribute costs the SDK a
        # validation pass per span.
        attributes: dict[str, Any] = {"remote_store.operation": op, "remote_store.backend": backend}
        if path is not None:
            attributes["remote_store.path"] = path
        if nbytes is not None:
            attributes["remote_store.bytes"] = nbytes
        if items is not None:
            attributes["remote_store.items"] = items
        if target is not None:
            attributes["remote_store.target"] = target
        if correlation_id is not None:
            attributes["remote_store.correlation_id"] = correlation_id
        if error_type is not None:
            attributes["error.type"] = error_type
        span = start_span(name, kind=client, attributes=attributes, start_time=end - int(duration * 1e9))
        if error_type is not None or outcome == "error":
            span.set_status(Status(StatusCode.ERROR, error_type or "error"))
        span.end(end_time=end)

    return record


def otel_hooks(
    tracer: Any | None = None,
    *,
    tracer_provider: Any | None = None,
    meter: Any | None = None,
    meter_provider: Any | None = None,
    spans: bool = True,
    metrics: bool = True,
) -> Callback:
    """Return an `observe` callback that records each `StoreEvent` as a span and as metrics.

    Use it to combine OpenTelemetry with other observers (``lambda e: (otel(e), log(e))``)
    or pass it to `remote_store_ext.observe.observe` yourself. The instruments are created
    here, once; the callback itself only records (see the module docstring for names).

    Args:
        tracer: An ``opentelemetry.trace.Tracer``; default: one from ``tracer_provider``.
        tracer_provider: Provider for the default tracer (default: the global provider).
        meter: An ``opentelemetry.metrics.Meter``; default: one from ``meter_provider``.
        meter_provider: Provider for the default meter (default: the global provider).
        spans: Record a span per operation.
        metrics: Record the operation counter, duration histogram and byte counters.

    Returns:
        ``callback(StoreEvent)``.

    Raises:
        ConfigError: Both ``spans`` and ``metrics`` are False (the callback would do nothing).
    """
    if not spans and not metrics:
        from remote_store.errors import ConfigError

        raise ConfigError("otel_hooks needs spans=True or metrics=True")
    record_span: _RecordSpan | None = None
    if spans:
        if tracer is None:
            tracer = _trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
        record_span = _span_recorder(tracer)
        if not metrics:
            return record_span
    if meter is None:
        meter = _metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider)
    record_metrics = Metrics.for_meter(meter).record
    if record_span is None:
        return record_metrics
    span_only = record_span

    def record(event: StoreEvent) -> None:
        span_only(event)
        record_metrics(event)

    return record


def otel_observe(
    store: Store,
    tracer: Any | None = None,
    *,
    tracer_provider: Any | None = None,
    meter: Any | None = None,
    meter_provider: Any | None = None,
    spans: bool = True,
    metrics: bool = True,
) -> ObservedStore:
    """Wrap ``store`` so every operation records an OpenTelemetry span and metrics.

    Args:
        store: The store to instrument (never closed by this function).
        tracer: An ``opentelemetry.trace.Tracer``; default: from ``tracer_provider``.
        tracer_provider: Provider for the default tracer (default: the global provider).
        meter: An ``opentelemetry.metrics.Meter``; default: from ``meter_provider``.
        meter_provider: Provider for the default meter (default: the global provider).
        spans: Record a span per operation.
        metrics: Record the metrics listed in the module docstring.

    Returns:
        An `ObservedStore`.

    Raises:
        TypeError: ``store`` is not a `Store`.
        ConfigError: Both ``spans`` and ``metrics`` are False.
    """
    hooks = otel_hooks(
        tracer,
        tracer_provider=tracer_provider,
        meter=meter,
        meter_provider=meter_provider,
        spans=spans,
        metrics=metrics,
    )
    return ObservedStore(store, hooks)


__all__ = ["otel_hooks", "otel_observe"]
