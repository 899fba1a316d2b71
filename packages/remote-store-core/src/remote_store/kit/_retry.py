"""The retry and timeout vocabulary every backend shares, and one retry loop for SDK-less services.

Every backend spells its retry options the same way (the rows below), whatever does the
retrying underneath:

=====================  =======  ==========================================================
option                 default  meaning
=====================  =======  ==========================================================
``retries``            2        retries after a failed first attempt (0 = never retry)
``retry_backoff``      0.5      seconds before the first retry; doubles each retry
``retry_backoff_max``  10.0     cap on one delay, in seconds
``retry_budget``       120.0    seconds one Store operation may spend retrying: failed
                                attempts and delays, summed over every service request
                                the operation makes (multipart parts, stream resumes,
                                listing pages)
``retry_on``           all      which failures are retried: ``connection`` (refused, reset,
                                dropped), ``timeout`` (connect or read timeout),
                                ``throttling`` (HTTP 429, S3 ``SlowDown``, HTTP 503),
                                ``server`` (other HTTP 5xx)
``connect_timeout``    10.0     seconds to wait for a connection (TCP + TLS / SSH handshake)
``read_timeout``       60.0     seconds to wait for data on an open connection
=====================  =======  ==========================================================

Backends map them onto the SDK's own machinery where it has one (botocore retry modes,
azure-core ``RetryPolicy``, google-api-core ``Retry``) and use `RetryPolicy.call` where it
has none (SFTP over paramiko, SQL connection checkout). Only idempotent calls are retried
blindly; a non-idempotent call whose outcome is unknown (an exclusive create or a move whose
answer was lost) is checked after the failure or reported as unknown, never repeated.

**The budget is per Store operation.** A backend marks its operations with
`budget_per_operation` (or enters ``policy.operation()`` itself); every retry decision inside
(`RetryPolicy.call`, botocore's handler, the GCS ``Retry``, a resumed stream) charges the
`RetryBudget` of the operation found in a context variable, and none starts once the charge
would pass ``retry_budget``. Outside an operation each request gets its own budget. Worker
threads see the operation's budget when they are started with ``contextvars.copy_context()``
(the kit's multipart writer does). Backends that never retry (local, memory) never enter one,
so their calls pay nothing for it.

Example::

    from remote_store.kit import RETRY_OPTIONS, OptionTable, RetryPolicy

    TABLE = OptionTable("jsondir", [*RETRY_OPTIONS])
    policy = RetryPolicy.from_options(TABLE.parse({"retries": "4", "retry_on": "connection,timeout"}))
    policy.call(lambda: fetch(key), classify=my_classifier, idempotent=True)
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from remote_store.errors import ConfigError
from remote_store.kit._options import CONNECT_TIMEOUT, READ_TIMEOUT, RETRIES, Option

__all__ = [
    "RETRY_BACKOFF",
    "RETRY_BACKOFF_MAX",
    "RETRY_BUDGET",
    "RETRY_CATEGORIES",
    "RETRY_ON",
    "RETRY_OPTIONS",
    "TIMEOUT_OPTIONS",
    "RetryBudget",
    "RetryPolicy",
    "budget_per_operation",
    "current_budget",
    "retry_operation",
    "to_delay",
    "to_retry_on",
]

T = TypeVar("T")

RETRY_CATEGORIES: Final[tuple[str, ...]] = ("connection", "timeout", "throttling", "server")
"""The failure categories ``retry_on`` may name, in documentation order."""


def to_delay(name: str, value: Any) -> float:
    """A finite number of seconds ≥ 0 (int, float or numeric string); 0 means no wait.

    Raises:
        ConfigError: Not a number, negative, NaN or infinite.
    """
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(f"option '{name}': must be a number of seconds, got {value!r}", path=name) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"option '{name}': must be a number of seconds >= 0, got {value!r}", path=name)
    return float(value)


def to_retry_on(name: str, value: Any) -> frozenset[str]:
    """A set of `RETRY_CATEGORIES`: an iterable of names or one comma-separated string.

    ``"all"`` names every category; ``""`` / ``"none"`` / an empty iterable names none.

    Raises:
        ConfigError: A name that is not a category (the message lists the categories).
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "all":
            return frozenset(RETRY_CATEGORIES)
        names: Iterable[Any] = [] if text in ("", "none") else [part.strip() for part in text.split(",")]
    elif isinstance(value, Iterable):
        names = value
    else:
        raise ConfigError(f"option '{name}': must be a list of failure categories, got {value!r}", path=name)
    out = set()
    for item in names:
        if item not in RETRY_CATEGORIES:
            accepted = ", ".join(RETRY_CATEGORIES)
            raise ConfigError(f"option '{name}': unknown failure category {item!r} (known: {accepted})", path=name)
        out.add(str(item))
    return frozenset(out)


RETRY_BACKOFF: Final = Option("retry_backoff", to_delay, 0.5, doc="seconds before the first retry (doubles)")
"""Seconds before the first retry; each later delay doubles, up to ``retry_backoff_max``."""
RETRY_BACKOFF_MAX: Final = Option("retry_backoff_max", to_delay, 10.0, doc="cap on one retry delay, in seconds")
"""Cap on one delay between attempts, in seconds."""
RETRY_BUDGET: Final = Option(
    "retry_budget", to_delay, 120.0, doc="seconds one Store operation may spend retrying (all its requests)"
)
"""Seconds one Store operation may spend retrying (failed attempts and delays, summed over
every service request of the operation); no retry starts past it."""
RETRY_ON: Final = Option(
    "retry_on",
    to_retry_on,
    frozenset(RETRY_CATEGORIES),
    doc="failures retried: connection, timeout, throttling, server",
)
"""Which failures are retried (`RETRY_CATEGORIES`)."""
RETRY_OPTIONS: Final[tuple[Option, ...]] = (RETRIES, RETRY_BACKOFF, RETRY_BACKOFF_MAX, RETRY_BUDGET, RETRY_ON)
"""The retry rows, for a backend's `OptionTable`."""
TIMEOUT_OPTIONS: Final[tuple[Option, ...]] = (CONNECT_TIMEOUT, READ_TIMEOUT)
"""The timeout rows, for a backend's `OptionTable`."""


class RetryBudget:
    """Seconds of retrying one Store operation may still spend, shared by all its requests.

    A retry *charges* what the failure cost: the seconds from the start of the failed
    attempt to the start of the next one (the attempt itself plus the delay). Charges from
    several threads (parallel multipart parts) add up; the object is thread-safe.

    Args:
        seconds: The budget (the ``retry_budget`` option), ≥ 0.
    """

    __slots__ = ("_lock", "_spent", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self._spent = 0.0
        self._lock = threading.Lock()

    @property
    def spent(self) -> float:
        """Seconds charged so far."""
        return self._spent

    @property
    def remaining(self) -> float:
        """Seconds left (≥ 0)."""
        return max(0.0, self.seconds - self._spent)

    def charge(self, seconds: float) -> bool:
        """Charge ``seconds`` for one retry; False (nothing charged) when that would pass the budget."""
        with self._lock:
            if self._spent + seconds > self.seconds:
                return False
            self._spent += seconds
            return True

    def __repr__(self) -> str:
        return f"RetryBudget(seconds={self.seconds}, spent={self._spent:.3f})"


_CURRENT: Final[contextvars.ContextVar[RetryBudget | None]] = contextvars.ContextVar(
    "remote_store_retry_budget", default=None
)


def current_budget() -> RetryBudget | None:
    """The `RetryBudget` of the Store operation running in this context, or None outside one."""
    return _CURRENT.get()


@contextlib.contextmanager
def retry_operation(seconds: float) -> Iterator[RetryBudget]:
    """Run the block as one Store operation with a ``seconds`` retry budget.

    Nested operations (a ``copy`` that reads then writes) share the outermost budget.

    Args:
        seconds: The operation's budget (the ``retry_budget`` option).

    Yields:
        The `RetryBudget` retries inside the block charge (also `current_budget`).
    """
    outer = _CURRENT.get()
    if outer is not None:
        yield outer
        return
    budget = RetryBudget(seconds)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def _iterate_in(budget: RetryBudget, it: Iterator[Any]) -> Iterator[Any]:
    """Advance ``it`` with ``budget`` as the current budget (a lazy listing's pages)."""
    while True:
        token = _CURRENT.set(budget)
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            _CURRENT.reset(token)
        yield item


#: `Backend` methods `budget_per_operation` wraps by default (those a backend defines).
OPERATIONS: Final[tuple[str, ...]] = (
    "write",
    "open_atomic",
    "read_bytes",
    "open_read",
    "open_read_seekable",
    "exists",
    "is_folder",
    "stat",
    "delete",
    "delete_folder",
    "copy",
    "move",
    "iter_files",
    "iter_folders",
    "glob",
)

C = TypeVar("C", bound=type)


def budget_per_operation(seconds: Callable[[Any], float], names: Iterable[str] = OPERATIONS) -> Callable[[C], C]:
    """Class decorator: each named method of a backend runs as one `retry_operation`.

    ``seconds(self)`` gives the budget (the backend's ``retry_budget``). A method returning
    an iterator (a listing) has each step of the iterator run in the same operation, so its
    pages share one budget. Streams opened by a wrapped method (`open_read`) keep the budget
    for their resumes (`ResumingBody` takes `current_budget` when it is made).

    Args:
        seconds: ``seconds(backend) -> float``.
        names: Methods to wrap; names the class does not have are skipped.
    """

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def operation(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _CURRENT.get() is not None:
                return method(self, *args, **kwargs)
            budget = RetryBudget(seconds(self))
            token = _CURRENT.set(budget)
            try:
                result = method(self, *args, **kwargs)
            finally:
                _CURRENT.reset(token)
            if isinstance(result, Iterator) and not hasattr(result, "read"):
                return _iterate_in(budget, result)
            return result

        return operation

    def decorate(cls: C) -> C:
        for name in names:
            method = getattr(cls, name, None)
            if callable(method):
                setattr(cls, name, wrap(method))
        return cls

    return decorate


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often to retry one call; built from the shared options.

    Attributes:
        retries: Retries after the first attempt (0 = none).
        backoff: Seconds before the first retry; the n-th retry waits ``backoff * 2**(n-1)``.
        backoff_max: Cap on one delay, in seconds.
        budget: Seconds of retrying one Store operation may spend (`RetryBudget`): a retry
            whose cost (failed attempt + delay) would pass what is left is not started and
            the last failure is raised. Outside an operation, per `call`.
        retry_on: Failure categories that are retried (`RETRY_CATEGORIES`).
        jitter: Fraction of each delay added or removed at random (0 = exact delays), so
            many clients do not retry in step.
    """

    retries: int = 2
    backoff: float = 0.5
    backoff_max: float = 10.0
    budget: float = 120.0
    retry_on: frozenset[str] = field(default_factory=lambda: frozenset(RETRY_CATEGORIES))
    jitter: float = 0.2

    @classmethod
    def from_options(cls, values: Mapping[str, Any] | object, *, jitter: float = 0.2) -> RetryPolicy:
        """Build a policy from parsed options: a mapping or an object with the option attributes.

        Missing names take the vocabulary's defaults.
        """

        def get(name: str, default: Any) -> Any:
            if isinstance(values, Mapping):
                return values.get(name, default)
            return getattr(values, name, default)

        return cls(
            retries=int(get("retries", RETRIES.default)),
            backoff=float(get("retry_backoff", RETRY_BACKOFF.default)),
            backoff_max=float(get("retry_backoff_max", RETRY_BACKOFF_MAX.default)),
            budget=float(get("retry_budget", RETRY_BUDGET.default)),
            retry_on=frozenset(get("retry_on", RETRY_ON.default)),
            jitter=jitter,
        )

    def operation(self) -> contextlib.AbstractContextManager[RetryBudget]:
        """``retry_operation(self.budget)``: enter one Store operation's budget."""
        return retry_operation(self.budget)

    def budget_now(self) -> RetryBudget:
        """The current operation's `RetryBudget`, or a fresh one of `budget` seconds outside one."""
        current = _CURRENT.get()
        return current if current is not None else RetryBudget(self.budget)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry), before jitter."""
        if retry < 1:
            return 0.0
        return min(self.backoff_max, self.backoff * (2.0 ** (retry - 1)))

    def call(
        self,
        fn: Callable[[], T],
        *,
        classify: Callable[[BaseException], str | None],
        idempotent: bool,
        on_retry: Callable[[int, BaseException], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """Run ``fn``, retrying failures that ``classify`` puts in a retried category.

        Args:
            fn: The attempt; called with no arguments.
            classify: Maps a failure to a category of `RETRY_CATEGORIES`, or None for a
                failure that is never retried (a missing key, a refused credential).
            idempotent: False for calls that must not be repeated blindly (exclusive
                creates, moves): the first failure is raised as it is, whatever its category.
            on_retry: Called as ``on_retry(retry_number, failure)`` before each retry
                (reconnect a dropped session here).
            clock: Monotonic seconds (tests pass a fake).
            sleep: Waits that many seconds (tests pass a fake).

        Returns:
            What ``fn`` returned.

        Raises:
            BaseException: The last failure, unchanged, once it is not retried (category,
                ``idempotent``, ``retries`` or ``budget``); the backend's error boundary maps it.
        """
        budget = self.budget_now()
        start = clock()
        retry = 0
        while True:
            try:
                return fn()
            except Exception as exc:
                category = classify(exc)
                if not idempotent or category is None or category not in self.retry_on or retry >= self.retries:
                    raise
                retry += 1
                wait = self.delay(retry)
                if self.jitter and wait:
                    wait *= 1.0 + random.uniform(-self.jitter, self.jitter)
                if not budget.charge(clock() - start + wait):
                    raise
                if wait:
                    sleep(wait)
                start = clock()
                if on_retry is not None:
                    on_retry(retry, exc)
