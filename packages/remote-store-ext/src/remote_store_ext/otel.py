"""OpenTelemetry tracing for every store operation (``pip install "remote-store-ext[otel]"``).

Built on `remote_store_ext.observe`: each `StoreEvent` becomes one span named
``remote_store.<operation>`` (kind CLIENT) with the operation's real start and end times,
parented to the span that is current in the calling thread::

    from remote_store.ext.otel import otel_observe

    store = otel_observe(store)            # uses the global tracer provider
    with tracer.start_as_current_span("handle-request"):
        store.read_bytes("a.json")         # -> child span "remote_store.read_bytes"

Attributes: ``remote_store.operation``, ``remote_store.path`` (store-relative, never a
credential), ``remote_store.backend``, and when known ``remote_store.bytes``,
``remote_store.items``, ``remote_store.target``, ``remote_store.correlation_id``. A failed
operation gets status ERROR and ``error.type`` (the `remote_store.errors` class name).

Spans are recorded when the operation has finished (lazy streams and iterators when they
end), so spans of an SDK's own instrumentation made meanwhile are siblings, not children.
Only the OpenTelemetry *API* is needed; without an SDK configured, spans are no-ops.
"""

from __future__ import annotations

import time
from typing import Any

try:
    from opentelemetry import trace as _trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ModuleNotFoundError(
        'remote_store.ext.otel needs opentelemetry-api: pip install "remote-store-ext[otel]"', name="opentelemetry"
    ) from exc

from remote_store import Store
from remote_store_ext import __version__
from remote_store_ext.observe import Callback, ObservedStore, StoreEvent

#: Instrumentation scope name of the tracer.
SCOPE = "remote_store"


def otel_hooks(tracer: Any | None = None, *, tracer_provider: Any | None = None) -> Callback:
    """Return an `observe` callback that records each `StoreEvent` as a span.

    Use it to combine tracing with other observers (``lambda e: (otel(e), log(e))``) or
    pass it to `remote_store_ext.observe.observe` yourself.

    Args:
        tracer: An ``opentelemetry.trace.Tracer``; default: one from ``tracer_provider``.
        tracer_provider: Provider for the default tracer (default: the global provider).

    Returns:
        ``callback(StoreEvent)``.
    """
    if tracer is None:
        tracer = _trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)

    def record(event: StoreEvent) -> None:
        end = time.time_ns()
        start = end - int(event.duration * 1e9)
        attributes: dict[str, Any] = {"remote_store.operation": event.operation, "remote_store.backend": event.backend}
        if event.path is not None:
            attributes["remote_store.path"] = event.path
        if event.bytes is not None:
            attributes["remote_store.bytes"] = event.bytes
        if event.items is not None:
            attributes["remote_store.items"] = event.items
        if event.target is not None:
            attributes["remote_store.target"] = event.target
        if event.correlation_id is not None:
            attributes["remote_store.correlation_id"] = event.correlation_id
        if event.error_type is not None:
            attributes["error.type"] = event.error_type
        span = tracer.start_span(
            f"remote_store.{event.operation}", kind=SpanKind.CLIENT, attributes=attributes, start_time=start
        )
        if event.outcome == "error":
            span.set_status(Status(StatusCode.ERROR, event.error_type or "error"))
        span.end(end_time=end)

    return record


def otel_observe(store: Store, tracer: Any | None = None, *, tracer_provider: Any | None = None) -> ObservedStore:
    """Wrap ``store`` so every operation records an OpenTelemetry span (see the module docstring).

    Args:
        store: The store to trace (never closed by this function).
        tracer: An ``opentelemetry.trace.Tracer``; default: from ``tracer_provider``.
        tracer_provider: Provider for the default tracer (default: the global provider).

    Returns:
        An `ObservedStore`.

    Raises:
        TypeError: ``store`` is not a `Store`.
    """
    return ObservedStore(store, otel_hooks(tracer, tracer_provider=tracer_provider))


__all__ = ["otel_hooks", "otel_observe"]
