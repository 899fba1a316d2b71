"""The one place SQLAlchemy / DBAPI exceptions become `remote_store.errors` classes.

Messages carry the exception class, the SQLSTATE / MySQL error number and the driver's first
message line, never the SQL parameters (which hold file content) and never the URL's password.

Drivers keep connection details on their exceptions: psycopg stores the finished connection
(``_pgconn``, whose ``info`` lists every conninfo option, password included) on each error.
`scrub` removes that and masks the configured secrets everywhere in an exception's
cause/context chain, so the typed error a caller gets (and logs) holds no password.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    InvalidPath,
    PermissionDenied,
    RemoteStoreError,
)

# SQLSTATE classes / codes (PostgreSQL) and MySQL error numbers that mean "not allowed".
_PG_PERMISSION = {"42501"}
_PG_AUTH_PREFIX = "28"
_PG_UNDEFINED_TABLE = {"42P01", "3F000"}
_PG_RETRYABLE = {"40001", "40P01"}
_MYSQL_PERMISSION = {1044, 1142, 1143, 1227}
_MYSQL_AUTH = {1045, 1698}
_MYSQL_UNDEFINED_TABLE = {1146, 1049}
_MYSQL_RETRYABLE = {1213}
# Statement / lock-wait limits (the ``timeout`` option): fail now, never retried.
_PG_TIMEOUT = {"57014", "55P03"}
_MYSQL_TIMEOUT = {1205, 1969, 3024}
# SQLite refusing a statement's shape: the same input can never succeed, so not "unavailable".
_SQLITE_TOO_BIG = ("expression tree is too large", "too many sql variables", "string or blob too big")
_MYSQL_TOO_LONG = {1406}


def _sqlstate(orig: Any) -> str | None:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(state) if state else None


def _mysql_code(orig: Any) -> int | None:
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def describe(exc: BaseException) -> str:
    """``"ClassName [code]: first line of the driver message"`` (≤ 300 characters, no parameters).

    ``code`` is the SQLSTATE (PostgreSQL) or the MySQL error number, when the driver gives one.
    """
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(orig, sa_exc.StatementError):
        first = first.split("[SQL:", 1)[0].strip()
    code = _sqlstate(orig) or _mysql_code(orig)
    tag = f" [{code}]" if code else ""
    return f"{type(orig).__name__}{tag}: {first[:300]}"


#: Attributes drivers use to keep the connection (and its conninfo) on an error: dropped.
_CONNECTION_ATTRS = ("_pgconn", "pgconn")
#: Query parameters of a URL whose values are secrets too (``?sslpassword=…``).
_SECRET_QUERY_WORDS = ("password", "passwd", "secret", "token")
MASK = "***"


def url_secrets(url: sa.URL | None) -> tuple[str, ...]:
    """The secrets a database URL carries: its password and secret-named query values."""
    if url is None:
        return ()
    out = [url.password] if url.password else []
    for name, value in url.query.items():
        if any(word in name.lower() for word in _SECRET_QUERY_WORDS):
            out += [value] if isinstance(value, str) else list(value)
    return tuple(str(s) for s in out if s)


def _mask(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` with each secret replaced by `MASK` (str/bytes), None if it is another type holding one."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, (bytes, bytearray)):
        for secret in secrets:
            value = value.replace(secret.encode(), MASK.encode())
        return bytes(value)
    return None


def _holds(value: Any, secrets: tuple[str, ...]) -> bool:
    try:
        text = repr(value)
    except Exception:
        return True  # cannot tell: treat as holding one
    return any(s in text for s in secrets)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop()
        if any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [x for x in (e.__cause__, e.__context__, getattr(e, "orig", None)) if isinstance(x, BaseException)]
        todo += [x for x in getattr(e, "exceptions", ()) or () if isinstance(x, BaseException)]
    return seen


def scrub(exc: BaseException, secrets: Iterable[str] = ()) -> None:
    """Make ``exc`` and every exception of its cause/context chain safe to show, in place.

    Driver connection objects kept on errors (psycopg's ``_pgconn``) are dropped; each of
    ``secrets`` is masked as ``***`` in ``args``, ``__notes__`` and str/bytes attributes, and any
    other attribute whose ``repr`` holds one is set to None. Class, SQLSTATE / error number
    and the (masked) message stay, so the error is still useful to debug.

    Args:
        exc: The exception to clean (a SQLAlchemy error, a driver error or a typed error
            whose cause is one).
        secrets: Values that must not appear (`url_secrets` of the backend's URL).
    """
    values = tuple(s for s in secrets if s)
    for e in _chain(exc):
        try:
            attrs = vars(e)
        except TypeError:
            attrs = {}
        for name in _CONNECTION_ATTRS:
            if attrs.get(name) is not None:
                attrs[name] = None
        if not values:
            continue
        for name, value in list(attrs.items()):
            if isinstance(value, BaseException) or not _holds(value, values):
                continue
            attrs[name] = _mask(value, values)
        if _holds(e.args, values):
            e.args = tuple(_mask(a, values) if isinstance(a, (str, bytes)) else a for a in e.args)
            if _holds(e.args, values):
                e.args = (MASK,)
        notes = getattr(e, "__notes__", None)
        if isinstance(notes, list) and _holds(notes, values):
            e.__notes__ = [_mask(str(n), values) for n in notes]


def is_retryable(exc: BaseException) -> bool:
    """Whether ``exc`` is a deadlock / serialization failure that a fresh transaction may avoid."""
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    orig = exc.orig
    return _sqlstate(orig) in _PG_RETRYABLE or _mysql_code(orig) in _MYSQL_RETRYABLE


def is_missing_table(exc: BaseException) -> bool:
    """Whether ``exc`` says a table (or schema/database) does not exist."""
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    orig = exc.orig
    if _sqlstate(orig) in _PG_UNDEFINED_TABLE or _mysql_code(orig) in _MYSQL_UNDEFINED_TABLE:
        return True
    return "no such table" in str(orig)


def contention(what: str, key: str | None = None) -> BackendUnavailable:
    """The error after a transaction lost to concurrent writers `RACE_RETRIES` times in a row."""
    return BackendUnavailable(f"gave up after repeated concurrent changes: {what}", path=key)


def translate(exc: BaseException, key: str | None, secrets: Iterable[str] = ()) -> RemoteStoreError | None:
    """Map a SQLAlchemy / DBAPI exception to a `remote_store.errors` class, or None if foreign.

    ``exc`` and its whole chain are first cleaned by `scrub` (``secrets``: the URL's
    password …), since the typed error keeps ``exc`` as its cause.

    * ``IntegrityError`` (primary-key conflict on the file key) → `AlreadyExists`.
    * Authentication refused, connection refused/lost, pool timeout, "database is locked",
      deadlocks → `BackendUnavailable`.
    * Privilege errors (SQLSTATE 42501, MySQL 1142 …) → `PermissionDenied`.
    * A missing table (``create_tables=False`` on an empty database) → `BackendUnavailable`.
    * A key too long for the column → `InvalidPath`.
    * A statement or lock wait exceeding the ``timeout`` option (PostgreSQL 57014 / 55P03,
      MariaDB 1969, MySQL 3024, InnoDB 1205) → `BackendUnavailable` saying so.
    * SQLite refusing a statement's size ("Expression tree is too large" …) → `RemoteStoreError`
      (never `BackendUnavailable`: retrying cannot help).
    * A bad URL or missing driver → `ConfigError`; anything else from SQLAlchemy → `RemoteStoreError`.
    * ``UnicodeEncodeError`` (a key that is not valid UTF-8 text) → `InvalidPath`.
    """
    scrub(exc, secrets)
    if isinstance(exc, RemoteStoreError):
        return exc
    if isinstance(exc, UnicodeEncodeError):
        return InvalidPath("key is not encodable as UTF-8", path=key)
    if not isinstance(exc, sa_exc.SQLAlchemyError):
        return None
    text = describe(exc)
    if isinstance(exc, sa_exc.IntegrityError):
        return AlreadyExists(f"file exists ({text})", path=key)
    if isinstance(exc, sa_exc.TimeoutError):
        return BackendUnavailable(f"no database connection available: {text}", path=key)
    if isinstance(exc, (sa_exc.NoSuchModuleError, sa_exc.ArgumentError)):
        return ConfigError(f"database configuration: {text}", path=key)
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        state = _sqlstate(orig) or ""
        code = _mysql_code(orig)
        if state in _PG_PERMISSION or code in _MYSQL_PERMISSION:
            return PermissionDenied(f"database refused access: {text}", path=key)
        if state.startswith(_PG_AUTH_PREFIX) or code in _MYSQL_AUTH:
            return BackendUnavailable(f"database authentication failed: {text}", path=key)
        if is_missing_table(exc):
            return BackendUnavailable(
                f"store tables are missing (create them or set create_tables=True): {text}", path=key
            )
        if code in _MYSQL_TOO_LONG or state == "22001":
            return InvalidPath(f"value too long for the database column: {text}", path=key)
        if state in _PG_TIMEOUT or code in _MYSQL_TIMEOUT:
            return BackendUnavailable(f"statement timed out (the 'timeout' option): {text}", path=key)
        if any(marker in text.lower() for marker in _SQLITE_TOO_BIG):
            return RemoteStoreError(f"the database refused the statement's size: {text}", path=key)
        if exc.connection_invalidated or isinstance(
            exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError)
        ):
            return BackendUnavailable(f"database unavailable: {text}", path=key)
        if is_retryable(exc):
            return BackendUnavailable(f"transaction aborted by the database: {text}", path=key)
        return RemoteStoreError(f"database error: {text}", path=key)
    return RemoteStoreError(f"database error: {text}", path=key)
