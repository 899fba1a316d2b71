"""Connect, statement and network timeouts per database driver, and pool pre-ping.

One vocabulary for every engine (both in seconds, ``None`` = wait forever):

``connect_timeout``
    How long opening a connection may take (PostgreSQL ``connect_timeout``, MariaDB/MySQL
    ``connect_timeout``; SQLite opens a local file and ignores it).
``timeout``
    How long one statement may run or wait for a lock, and how long the client waits for
    the server's answer:

    * PostgreSQL (psycopg / psycopg2): ``statement_timeout`` on the server (covers lock
      waits), ``tcp_user_timeout`` plus TCP keepalives on the socket, so a dead peer or
      a half-open connection is noticed. With psycopg 3 the client also waits at most
      ``timeout`` + 5 s for any answer (a stalled network or proxy, where keepalives are
      still acknowledged): the connection is then closed and the call fails.
    * MariaDB/MySQL (pymysql / mysqlclient): ``max_statement_time`` (MariaDB) or
      ``max_execution_time`` (MySQL, SELECT only) and ``innodb_lock_wait_timeout`` on the
      server; the driver's ``read_timeout`` / ``write_timeout`` (``timeout`` + 5 s) on the
      socket, so a stalled network fails instead of hanging.
    * SQLite: the busy timeout (how long a writer waits for the database lock), unless
      ``busy_timeout`` is given.

Engines the backend creates also get ``pool_pre_ping=True``: a pooled connection the
server closed (restart, ``pg_terminate_backend``, ``KILL``, idle timeout, a proxy dropping
it) is replaced at checkout instead of failing the next operation; and ``pool_recycle``
(default 1800 s): a connection older than that is replaced before a server or middlebox
idle limit can cut it. SQLite files get the driver's own ``timeout`` (seconds ``sqlite3``
waits for a lock while opening) equal to the busy timeout. Every option can be
overridden through ``engine_options`` (``connect_args`` entries win over these defaults).
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from remote_store.errors import ConfigError

#: Default seconds to open a connection.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Default seconds one statement (or lock wait, or server answer) may take.
DEFAULT_TIMEOUT = 60.0
#: Seconds the MariaDB/MySQL socket timeouts wait beyond ``timeout`` (the server's own limit fires first).
SOCKET_GRACE = 5.0
_LIBPQ_DRIVERS = ("psycopg", "psycopg2")
_MYSQL_DRIVERS = ("pymysql", "mysqldb")


def engine_kwargs(
    url: sa.URL,
    connect_timeout: float | None,
    timeout: float | None,
    given: dict[str, Any],
    *,
    pool_recycle: float | None = None,
    busy_timeout: float | None = None,
) -> dict[str, Any]:
    """``create_engine`` keyword arguments applying the timeouts to ``url``'s driver.

    Args:
        url: The database URL.
        connect_timeout: Seconds to connect, or None.
        timeout: Seconds per statement / server answer, or None.
        given: The caller's ``engine_options`` (its ``connect_args`` win over ours).
        pool_recycle: Seconds before a pooled connection is replaced (not SQLite), or None.
        busy_timeout: SQLite: seconds ``sqlite3.connect`` waits for a lock (its ``timeout``).

    Returns:
        Keyword arguments to merge under ``given`` (``connect_args`` already merged).
    """
    backend, driver = url.get_backend_name(), url.get_driver_name()
    args: dict[str, Any] = {}
    if backend == "postgresql" and driver in _LIBPQ_DRIVERS:
        if connect_timeout is not None:
            args["connect_timeout"] = max(1, math.ceil(connect_timeout))
        args.update(keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
        if timeout is not None:
            ms = max(1, round(timeout * 1000))
            args["tcp_user_timeout"] = ms
            options = [str(url.query["options"])] if "options" in url.query else []
            given_options = dict(given.get("connect_args") or {}).get("options")
            if given_options:
                options = [str(given_options)]
            args["options"] = " ".join([*options, f"-c statement_timeout={ms}"])
    elif backend in ("mysql", "mariadb") and driver in _MYSQL_DRIVERS:
        if connect_timeout is not None:
            args["connect_timeout"] = max(1, math.ceil(connect_timeout))
        if timeout is not None:
            args["read_timeout"] = args["write_timeout"] = math.ceil(timeout + SOCKET_GRACE)
    elif backend == "sqlite" and busy_timeout is not None:
        args["timeout"] = float(busy_timeout)
    kwargs: dict[str, Any] = {}
    if backend != "sqlite":
        kwargs["pool_pre_ping"] = True
        if pool_recycle is not None:
            kwargs["pool_recycle"] = pool_recycle
    if args:
        user = dict(given.get("connect_args") or {})
        if "options" in args:
            user.pop("options", None)  # already joined with the statement_timeout above
        kwargs["connect_args"] = {**args, **user}
    return kwargs


def install_server_limits(engine: Engine, timeout: float | None) -> None:
    """MariaDB/MySQL: set the per-session statement and lock-wait limits on every new connection."""
    if timeout is None or engine.dialect.name not in ("mysql", "mariadb"):
        return
    lock_wait = max(1, math.ceil(timeout))

    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        info = str(getattr(dbapi_connection, "get_server_info", lambda: "")())
        if "mariadb" in info.lower():
            limit = f"max_statement_time = {float(timeout):.3f}"
        else:
            limit = f"max_execution_time = {max(1, round(timeout * 1000))}"
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"SET SESSION {limit}, innodb_lock_wait_timeout = {lock_wait}")
        finally:
            cur.close()
        dbapi_connection.commit()

    event.listen(engine, "connect", on_connect)


def install_client_timeout(engine: Engine, timeout: float | None) -> None:
    """psycopg 3: connections wait at most ``timeout`` + `SOCKET_GRACE` seconds for the server.

    Connections are made by a `psycopg.Connection` subclass whose ``wait`` (the loop every
    query and fetch runs in) gets that deadline; on expiry the connection is closed (its
    state is unknown) and `psycopg.OperationalError` is raised, which SQLAlchemy treats as
    a disconnect (the pool discards the connection).
    """
    if timeout is None or engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return
    factory = _timed_connection_class(timeout + SOCKET_GRACE)
    if factory is None:  # pragma: no cover - psycopg older than 3.2 has no wait timeout
        return

    def do_connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> Any:
        return factory.connect(*cargs, **cparams)

    event.listen(engine, "do_connect", do_connect)


def _timed_connection_class(limit: float) -> Any:
    import inspect

    import psycopg

    if "timeout" not in inspect.signature(psycopg.Connection.wait).parameters:  # pragma: no cover
        return None

    class TimedConnection(psycopg.Connection):  # type: ignore[type-arg]
        """A psycopg connection that gives up on a server silent for ``limit`` seconds."""

        def wait(self, gen: Any, interval: Any = None, timeout: float | None = None) -> Any:
            kwargs: dict[str, Any] = {"timeout": limit if timeout is None else timeout}
            if interval is not None:
                kwargs["interval"] = interval
            try:
                return super().wait(gen, **kwargs)
            except psycopg.OperationalError as exc:
                if timeout is not None or type(exc).__name__ != "_WaitTimeout":
                    raise
                self.pgconn.finish()  # mid-query with no answer: the connection is unusable
                raise psycopg.OperationalError(
                    f"no answer from the PostgreSQL server within {limit:g} s (the 'timeout' option)"
                ) from None

    return TimedConnection


def check_seconds(name: str, value: object) -> float | None:
    """Validate a timeout option: a positive number of seconds, or None.

    Raises:
        ConfigError: ``value`` is not a positive number (or None).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        raise ConfigError(f"'{name}' must be a positive number of seconds or None, got {value!r}")
    return float(value)
