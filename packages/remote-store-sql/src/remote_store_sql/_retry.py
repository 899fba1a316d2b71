"""Retry and timeout options of the SQL backends and which database failures they retry.

Both SQL backends speak the shared vocabulary of `remote_store.kit`: ``retries``,
``retry_backoff``, ``retry_backoff_max``, ``retry_budget``, ``retry_on``, ``connect_timeout``
and ``read_timeout`` (``timeout`` is its former name and stays an alias), plus
``pool_recycle``. SQLAlchemy replaces dead pooled connections at checkout
(``pool_pre_ping``) but retries nothing itself, so the backends run statements through
`remote_store.kit.RetryPolicy.call`:

- queries (``SELECT``) are idempotent and retried after a disconnect;
- a write transaction that lost its connection *before* ``COMMIT`` was sent was rolled back
  by the server and is run again (while its content stream can be replayed);
- one that lost it *during* ``COMMIT`` may have committed: it is never re-run blindly, the
  backend checks the rows it wrote (the file row holds our fresh ``blob_id``?) and reports
  success, the typed error, or `BackendUnavailable` saying the outcome is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exc as sa_exc

from remote_store.errors import ConfigError
from remote_store.kit import CONNECT_TIMEOUT, READ_TIMEOUT, RETRY_OPTIONS, Option, OptionTable, RetryPolicy

#: Seconds after which a pooled connection is replaced (before a server or proxy idle limit hits it).
DEFAULT_POOL_RECYCLE = 1800.0


def _recycle(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(f"option '{name}': must be a number of seconds, got {value!r}", path=name) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        raise ConfigError(f"option '{name}': must be a positive number of seconds or None, got {value!r}", path=name)
    return float(value)


#: Validates the retry and timeout options of both SQL backends.
TABLE = OptionTable(
    "sql",
    [
        *RETRY_OPTIONS,
        CONNECT_TIMEOUT,
        READ_TIMEOUT.with_aliases("timeout"),
        Option("pool_recycle", _recycle, DEFAULT_POOL_RECYCLE, doc="seconds before a pooled connection is replaced"),
    ],
)

# MySQL client error numbers that mean the connection is gone or could not be made.
_MYSQL_CONNECTION = {2002, 2003, 2006, 2013, 2055}


def classify(exc: BaseException) -> str | None:
    """The `remote_store.kit.RETRY_CATEGORIES` category of a database failure, or None.

    - a disconnect SQLAlchemy recognised (``DBAPIError.connection_invalidated``), a
      connection that could not be made (PostgreSQL errors without SQLSTATE, MySQL client
      errors 2002/2003/2006/2013/2055) → ``"connection"`` (``"timeout"`` when the driver says
      it timed out);
    - everything else (constraint violations, statement time limits, SQLite's "database is
      locked", authentication) → None: never retried here.
    """
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    text = str(orig).lower()
    timed_out = "timed out" in text or "timeout expired" in text or "no answer from the postgresql server" in text
    if exc.connection_invalidated:
        return "timeout" if timed_out else "connection"
    if not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return None
    module = type(orig).__module__.split(".")[0]
    if module in ("psycopg", "psycopg2"):
        if getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None):
            return None
        if "authentication" in text or "password" in text:
            return None
        return "timeout" if timed_out else "connection"
    if module in ("pymysql", "MySQLdb"):
        args = getattr(orig, "args", ())
        code = args[0] if args and isinstance(args[0], int) else None
        if code in _MYSQL_CONNECTION:
            return "timeout" if timed_out else "connection"
    return None


def build_policy(
    *,
    retries: Any,
    retry_backoff: Any,
    retry_backoff_max: Any,
    retry_budget: Any,
    retry_on: str | Iterable[str],
) -> RetryPolicy:
    """Validate the retry options and build the policy.

    Raises:
        ConfigError: A value the shared vocabulary refuses.
    """
    given = {
        "retries": retries,
        "retry_backoff": retry_backoff,
        "retry_backoff_max": retry_backoff_max,
        "retry_budget": retry_budget,
        "retry_on": retry_on,
    }
    return RetryPolicy.from_options({name: TABLE.check(name, value) for name, value in given.items()})


def check_timeout(name: str, value: Any) -> float | None:
    """A timeout in seconds (numeric strings accepted), or None (wait forever).

    Raises:
        ConfigError: Not a positive number of seconds.
    """
    if value is None:
        return None
    return float(TABLE.check(name, value))
