"""The metric instruments behind `remote_store_ext.otel` (imported only from there).

One `Metrics` object owns four instruments made from one ``Meter`` and turns a finished
`StoreEvent` into at most three measurements. Attribute dicts are built once per
``(operation, backend, error type)`` and reused: the SDK never mutates them, and the
cache stays small because none of the keys is per path.
"""

from __future__ import annotations

from typing import Any

from remote_store_ext.observe import StoreEvent

#: Operations whose ``StoreEvent.bytes`` count bytes read from the store.
READ_OPERATIONS = frozenset({"read", "read_seekable", "read_bytes", "read_text"})
#: Operations whose ``StoreEvent.bytes`` count bytes written to the store.
WRITE_OPERATIONS = frozenset({"write", "write_text", "write_atomic", "open_atomic"})

#: Histogram bucket boundaries in seconds (the OpenTelemetry HTTP client-duration advice).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

OPERATIONS = "remote_store.operations"
DURATION = "remote_store.operation.duration"
BYTES_READ = "remote_store.bytes_read"
BYTES_WRITTEN = "remote_store.bytes_written"


class Metrics:
    """Four instruments and a cache of their attribute dicts.

    Args:
        meter: An ``opentelemetry.metrics.Meter``.
    """

    __slots__ = ("_attrs", "_bytes_read", "_bytes_written", "_duration", "_operations")

    def __init__(self, meter: Any) -> None:
        self._operations = meter.create_counter(
            OPERATIONS, unit="{operation}", description="Store operations finished, by outcome"
        )
        self._duration = meter.create_histogram(
            DURATION,
            unit="s",
            description="Wall-clock duration of store operations",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self._bytes_read = meter.create_counter(BYTES_READ, unit="By", description="Bytes read from the store")
        self._bytes_written = meter.create_counter(BYTES_WRITTEN, unit="By", description="Bytes written to the store")
        self._attrs: dict[tuple[str, str, str | None], dict[str, str]] = {}

    def attributes(self, operation: str, backend: str, error_type: str | None) -> dict[str, str]:
        """The (shared, never mutated) attribute dict of one kind of measurement."""
        key = (operation, backend, error_type)
        attrs = self._attrs.get(key)
        if attrs is None:
            attrs = {
                "remote_store.operation": operation,
                "remote_store.backend": backend,
                "remote_store.outcome": "ok" if error_type is None else "error",
            }
            if error_type is not None:
                attrs["error.type"] = error_type
            self._attrs[key] = attrs
        return attrs

    def record(self, event: StoreEvent) -> None:
        """Count ``event``, record its duration and the bytes it moved."""
        op, _, nbytes, duration, _, error_type, _, _, _, backend = event
        attrs = self.attributes(op, backend, error_type)
        self._operations.add(1, attrs)
        self._duration.record(duration, attrs)
        if nbytes:
            if op in READ_OPERATIONS:
                self._bytes_read.add(nbytes, attrs)
            elif op in WRITE_OPERATIONS:
                self._bytes_written.add(nbytes, attrs)
