"""The metric instruments behind `remote_store_ext.otel` (imported only from there).

One `Metrics` object per ``Meter`` owns four instruments and turns a finished `StoreEvent`
into measurements. Only the duration is a synchronous SDK call per operation (a histogram
has no asynchronous form). The operation and byte counts are summed here, under one lock,
and reported by *observable* counters when a reader collects — cumulative monotonic sums,
exactly what synchronous counters would export, at a fraction of the per-operation cost
(an SDK ``Counter.add`` validates its attributes and builds a measurement every call).

Attribute dicts are built once per ``(operation, backend, error type)`` and reused: the
SDK never mutates them, and the cache stays small because none of the keys is per path.
Instruments are shared by every hook made from the same meter: the SDK keeps the first
callbacks of an observable instrument registered twice, so a second set would be lost.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.metrics import Observation

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
    """Four instruments on one meter, with the counts they report.

    Use `for_meter`, not the constructor, so hooks sharing a meter share the instruments.

    Args:
        meter: An ``opentelemetry.metrics.Meter``.
    """

    __slots__ = ("__weakref__", "_attrs", "_duration", "_lock", "_totals")

    def __init__(self, meter: Any) -> None:
        self._lock = threading.Lock()
        #: (operation, backend, error type) -> [operations, bytes read, bytes written]
        self._totals: dict[tuple[str, str, str | None], list[int]] = {}
        self._attrs: dict[tuple[str, str, str | None], dict[str, str]] = {}
        meter.create_observable_counter(
            OPERATIONS,
            callbacks=[self._observer(0)],
            unit="{operation}",
            description="Store operations finished, by outcome",
        )
        self._duration = meter.create_histogram(
            DURATION,
            unit="s",
            description="Wall-clock duration of store operations",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        meter.create_observable_counter(
            BYTES_READ, callbacks=[self._observer(1)], unit="By", description="Bytes read from the store"
        )
        meter.create_observable_counter(
            BYTES_WRITTEN, callbacks=[self._observer(2)], unit="By", description="Bytes written to the store"
        )

    @classmethod
    def for_meter(cls, meter: Any) -> Metrics:
        """The `Metrics` of ``meter``, created on first use."""
        with _BY_METER_LOCK:
            try:
                found = _BY_METER.get(meter)
            except TypeError:  # a meter that takes no weak references: its own instruments
                return cls(meter)
            if found is None:
                found = _BY_METER[meter] = cls(meter)
            return found

    def _observer(self, index: int) -> Callable[[Any], Iterable[Observation]]:
        def observe(options: Any) -> Iterable[Observation]:
            with self._lock:
                values = [(key, totals[index]) for key, totals in self._totals.items()]
            return [Observation(value, self._attrs[key]) for key, value in values if value or index == 0]

        return observe

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
        """Record ``event``'s duration; count it and the bytes it moved."""
        op, _, nbytes, duration, _, error_type, _, _, _, backend = event
        key = (op, backend, error_type)
        attrs = self._attrs.get(key)
        if attrs is None:
            attrs = self.attributes(op, backend, error_type)
        self._duration.record(duration, attrs)
        with self._lock:
            totals = self._totals.get(key)
            if totals is None:
                totals = self._totals[key] = [0, 0, 0]
            totals[0] += 1
            if nbytes:
                if op in READ_OPERATIONS:
                    totals[1] += nbytes
                elif op in WRITE_OPERATIONS:
                    totals[2] += nbytes


_BY_METER: weakref.WeakKeyDictionary[Any, Metrics] = weakref.WeakKeyDictionary()
_BY_METER_LOCK = threading.Lock()
