"""`SQLQueryBackend`: a read-only store whose files are declared SQL queries."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from remote_store import Backend, Capability, CapabilitySet, FileInfo, Secret, WriteResult, _path
from remote_store.errors import CapabilityNotSupported, ConfigError, InvalidPath, NotFound, RemoteStoreError
from remote_store.kit import SPOOL_MAX_MEMORY, RetryPolicy, compile_glob, url_has_password
from remote_store_sql import _errors, _retry
from remote_store_sql._engine import EngineHolder, parse_url

log = logging.getLogger("remote_store.sql-query")

#: File suffix → output format.
FORMATS: Mapping[str, str] = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".arrow": "ipc",
    ".feather": "ipc",
    ".ipc": "ipc",
    ".arrows": "ipc-stream",
}
#: Default rows per ``fetchmany`` batch.
DEFAULT_BATCH_SIZE = 10_000
#: Default seconds one query (or server answer) may take: rendering big results is slow, but never hangs.
DEFAULT_QUERY_TIMEOUT = 300.0


def _format_of(key: str) -> str | None:
    lower = key.lower()
    for suffix, fmt in FORMATS.items():
        if lower.endswith(suffix):
            return fmt
    return None


class _CountingSink(io.RawIOBase):
    """A write-only sink that only counts bytes and hashes them (MD5)."""

    def __init__(self) -> None:
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.size += len(view)
        self.md5.update(view)
        return len(view)


class SQLQueryBackend(Backend):
    """A read-only store: each file is a named SQL query rendered as Parquet, CSV or Arrow IPC.

    Reading ``reports/daily.parquet`` runs the query declared for that key, fetches the
    result in batches of ``batch_size`` rows (``fetchmany`` on a server-side cursor where
    the driver has one) and writes each batch with pyarrow into a spooled temporary file
    (memory bounded by one batch plus 8 MiB; larger output spills to disk), which is
    returned seekable. Only declared queries ever run; keys are never turned into SQL.
    Sessions are read-only where the database allows it (``PRAGMA query_only`` on
    SQLite, ``SET SESSION … READ ONLY`` on PostgreSQL and MariaDB/MySQL) and every
    transaction is rolled back.

    The suffix picks the format: ``.parquet``; ``.csv`` (header row); ``.arrow``,
    ``.feather``, ``.ipc`` (Arrow IPC file); ``.arrows`` (Arrow IPC stream). Column types are
    inferred by pyarrow from the first batch; later batches are cast to that schema.

    `stat` and listings report the size (bytes) and MD5 etag of the rendered output, so
    they run the query (output is counted, not stored); ``modified_at`` is the time of
    rendering.

    Capabilities: READ, LIST, GLOB, METADATA, SEEKABLE_READ; everything else raises
    `CapabilityNotSupported`.

    Args:
        url: SQLAlchemy URL (str, `Secret` or `sqlalchemy.URL`); a password is kept as `Secret`.
        queries: Mapping of key (``"reports/daily.parquet"``) to SQL text (``"SELECT …"``).
            Keys are normalised like store paths and must end with a known suffix.
        engine: A ready `sqlalchemy.Engine` instead of ``url`` (the backend is then not picklable).
        batch_size: Rows per ``fetchmany`` batch (≥ 1).
        read_only_session: Make sessions read-only as described above (on by default).
        engine_options: Extra keyword arguments for `sqlalchemy.create_engine`.
        connect_timeout: Seconds to open a database connection (default 10; None: the
            driver's default).
        read_timeout: Seconds one query or server answer may take (default 300; None:
            unlimited), applied like sql-blob's ``read_timeout``.
        pool_recycle: Seconds after which a pooled connection is replaced (default 1800).
        retries: Retries of a query after a lost connection (default 2); a query only reads,
            so reads, ``stat`` and listings run it again from the start.
        retry_backoff: Seconds before the first retry, doubling (default 0.5).
        retry_backoff_max: Cap on one delay in seconds (default 10).
        retry_budget: Seconds one call may spend, retries included (default 120).
        retry_on: Failures retried: ``"connection"``, ``"timeout"``.

    Raises:
        ConfigError: Neither or both of ``url``/``engine``, an empty query, a key without a
            known suffix, two keys naming one file, a key that is also a folder, or pyarrow
            is not installed (``pip install 'remote-store-sql[query]'``); a bad timeout or
            retry option.
    """

    TYPE = "sql-query"
    CAPABILITIES = CapabilitySet(
        {Capability.READ, Capability.LIST, Capability.GLOB, Capability.METADATA, Capability.SEEKABLE_READ}
    )

    def __init__(
        self,
        url: str | Secret | sa.URL | None = None,
        *,
        queries: Mapping[str, str | Secret],
        engine: Engine | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        read_only_session: bool = True,
        engine_options: Mapping[str, Any] | None = None,
        connect_timeout: float | None = 10.0,
        read_timeout: float | None = DEFAULT_QUERY_TIMEOUT,
        pool_recycle: float | None = _retry.DEFAULT_POOL_RECYCLE,
        retries: int = 2,
        retry_backoff: float = 0.5,
        retry_backoff_max: float = 10.0,
        retry_budget: float = 120.0,
        retry_on: str | Iterable[str] = "all",
    ) -> None:
        self._connect_timeout = _retry.check_timeout("connect_timeout", connect_timeout)
        self._read_timeout = _retry.check_timeout("read_timeout", read_timeout)
        self._pool_recycle = _retry.TABLE.check("pool_recycle", pool_recycle)
        self._retry = _retry.build_policy(
            retries=retries,
            retry_backoff=retry_backoff,
            retry_backoff_max=retry_backoff_max,
            retry_budget=retry_budget,
            retry_on=retry_on,
        )
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError("backend type 'sql-query' needs pyarrow: pip install 'remote-store-sql[query]'") from None
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"'batch_size' must be a positive number of rows, got {batch_size!r}")
        if not isinstance(queries, Mapping):
            raise ConfigError("'queries' must be a mapping of file key to SQL text")
        self._queries: dict[str, str] = {}
        for raw_key, sql in queries.items():
            try:
                key = _path.normalize_path(raw_key, allow_root=False)
            except InvalidPath as exc:
                raise ConfigError(f"queries: invalid key {raw_key!r}: {exc.message}") from None
            text = sql.reveal() if isinstance(sql, Secret) else sql
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(f"queries.{raw_key}: the SQL text must be a non-empty string")
            if _format_of(key) is None:
                raise ConfigError(
                    f"queries.{raw_key}: unknown output format; the key must end with one of "
                    f"{', '.join(sorted(FORMATS))}"
                )
            if key in self._queries:
                raise ConfigError(f"queries: two keys name the file {key!r}")
            self._queries[key] = text
        for key in self._queries:
            if any(other.startswith(key + "/") for other in self._queries):
                raise ConfigError(f"queries: {key!r} is both a file and a folder")
        self._url_option: str | Secret | None = None
        if url is not None:
            parsed = parse_url(url)
            text = parsed.render_as_string(hide_password=False)
            self._url_option = Secret(text) if (parsed.password or url_has_password(text)) else text
            url = parsed
        self._holder = EngineHolder(
            url,
            engine,
            engine_options,
            read_only=read_only_session,
            connect_timeout=self._connect_timeout,
            timeout=self._read_timeout,
            pool_recycle=self._pool_recycle,
        )
        self._engine_options = dict(engine_options or {})
        self._batch_size = batch_size
        self._read_only_session = read_only_session
        self._safe_url = self._holder.url.render_as_string(hide_password=True)

    # ------------------------------------------------------------------ identity
    @property
    def options(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this backend (``url`` as `Secret` when it has a password)."""
        opts: dict[str, Any] = {}
        if self._url_option is not None:
            opts["url"] = self._url_option
        else:
            opts["engine"] = self._holder.engine()
        opts.update(
            queries=dict(self._queries),
            batch_size=self._batch_size,
            read_only_session=self._read_only_session,
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            pool_recycle=self._pool_recycle,
            retries=self._retry.retries,
            retry_backoff=self._retry.backoff,
            retry_backoff_max=self._retry.backoff_max,
            retry_budget=self._retry.budget,
            retry_on=sorted(self._retry.retry_on),
        )
        if self._engine_options:
            opts["engine_options"] = dict(self._engine_options)
        return opts

    def __reduce__(self) -> tuple[Any, ...]:
        if self._url_option is None:
            raise TypeError("an SQLQueryBackend built from an engine object cannot be pickled; build it from url=")
        return super().__reduce__()

    @property
    def retry_policy(self) -> RetryPolicy:
        """The `remote_store.kit.RetryPolicy` built from the retry options."""
        return self._retry

    def _retried(self, fn: Any) -> Any:
        return self._retry.call(fn, classify=_retry.classify, idempotent=True)

    @property
    def queries(self) -> Mapping[str, str]:
        """The declared queries (normalised key → SQL text)."""
        return dict(self._queries)

    def native_path(self, key: str) -> str:
        """``<url without password>#query:<key>``."""
        return f"{self._safe_url}#query:{key}"

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        return _errors.translate(exc, key, _errors.url_secrets(self._holder.url))

    def close(self) -> None:
        """Dispose the connection pool of an engine the backend created."""
        self._holder.dispose()

    def ping(self) -> None:
        """Run ``SELECT 1``.

        Raises:
            BackendUnavailable: The database cannot be reached or refuses the credentials.
        """

        def attempt() -> None:
            with self._holder.connect() as conn:
                conn.execute(sa.select(sa.literal(1))).scalar_one()

        self._retried(attempt)

    # ------------------------------------------------------------------ namespace
    def exists(self, key: str) -> bool:
        return key in self._queries

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        p = key + "/"
        return any(k.startswith(p) for k in self._queries)

    def _sql(self, key: str) -> str:
        sql = self._queries.get(key)
        if sql is None:
            if self.is_folder(key):
                raise InvalidPath("is a folder, not a file", path=key)
            raise NotFound("no query is declared for this key", path=key)
        return sql

    # ------------------------------------------------------------------ rendering
    def render(self, key: str, sink: IO[bytes]) -> int:
        """Run the query for ``key`` and write its result to ``sink`` in the key's format.

        Rows are fetched ``batch_size`` at a time (``stream_results`` / ``fetchmany``) and
        each batch is written before the next is fetched.

        Args:
            key: A declared key.
            sink: Writable binary stream (not closed).

        Returns:
            The number of rows written.

        Raises:
            NotFound: No query is declared for ``key``.
            InvalidPath: ``key`` is a folder.
            RemoteStoreError: A later batch does not fit the schema inferred from the first.
        """
        import pyarrow as pa

        sql = self._sql(key)
        fmt = _format_of(key)
        rows_written = 0
        writer: Any = None
        schema: Any = None
        with self._holder.connect() as conn:
            conn = conn.execution_options(stream_results=True, yield_per=self._batch_size)
            result = conn.execute(sa.text(sql))
            try:
                columns = list(result.keys())
                while True:
                    rows = result.fetchmany(self._batch_size)
                    if not rows and writer is not None:
                        break
                    data = {name: [row[i] for row in rows] for i, name in enumerate(columns)}
                    if schema is None:
                        batch = pa.RecordBatch.from_pydict(data)
                        schema = batch.schema
                        writer = _open_writer(fmt, sink, schema)
                    else:
                        try:
                            batch = pa.RecordBatch.from_pydict(data, schema=schema)
                        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                            raise RemoteStoreError(
                                f"query result does not fit the column types of its first batch: {exc}", path=key
                            ) from None
                    if batch.num_rows:
                        writer.write_batch(batch)
                        rows_written += batch.num_rows
                    if not rows:
                        break
            except BaseException:
                if writer is not None:
                    with contextlib.suppress(Exception):
                        writer.close()  # release pyarrow's hold on the sink before it is closed
                raise
            finally:
                result.close()
                conn.rollback()
        writer.close()
        return rows_written

    def open_read(self, key: str) -> IO[bytes]:
        """Run the query and return its rendered output as a seekable stream (spooled temp file).

        Raises:
            NotFound: No query is declared for ``key``.
            InvalidPath: ``key`` is a folder.
        """
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # noqa: SIM115

        def attempt() -> None:  # a query only reads: a lost connection runs it again from the start
            spool.seek(0)
            spool.truncate()
            self.render(key, spool)

        try:
            self._retried(attempt)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool

    def open_read_seekable(self, key: str) -> IO[bytes]:
        return self.open_read(key)

    def stat(self, key: str) -> FileInfo:
        """Render the query into a counting sink: size in bytes and MD5 etag of the output.

        Raises:
            NotFound: No query is declared for ``key``.
            InvalidPath: ``key`` is a folder.
        """
        self._sql(key)
        sinks: list[_CountingSink] = []

        def attempt() -> None:
            sinks[:] = [_CountingSink()]
            self.render(key, sinks[0])  # type: ignore[arg-type]

        self._retried(attempt)
        sink = sinks[0]
        return FileInfo(
            path=key,
            name=_path.basename(key),
            size=sink.size,
            modified_at=datetime.now(UTC),
            etag=sink.md5.hexdigest(),
            content_type=_content_type(key),
        )

    # ------------------------------------------------------------------ listing
    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Yield the declared keys below ``prefix`` (each with its rendered size: runs the query)."""
        p = prefix + "/" if prefix else ""
        for key in sorted(self._queries):
            if not key.startswith(p):
                continue
            if not recursive and "/" in key[len(p) :]:
                continue
            yield self.stat(key)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        p = prefix + "/" if prefix else ""
        seen: set[str] = set()
        for key in self._queries:
            rest = key[len(p) :] if key.startswith(p) else None
            if rest is not None and "/" in rest:
                seen.add(p + rest.split("/", 1)[0])
        yield from sorted(seen)

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        regex = compile_glob(pattern)
        for key in sorted(self._queries):
            if regex.fullmatch(key):
                yield self.stat(key)

    # ------------------------------------------------------------------ read-only
    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Not supported: raises `CapabilityNotSupported` (`Store` refuses before calling)."""
        raise CapabilityNotSupported("sql-query stores are read-only", path=key, capability="WRITE")

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Not supported: raises `CapabilityNotSupported` (`Store` refuses before calling)."""
        raise CapabilityNotSupported("sql-query stores are read-only", path=key, capability="DELETE")


def _content_type(key: str) -> str:
    fmt = _format_of(key)
    return {
        "parquet": "application/vnd.apache.parquet",
        "csv": "text/csv",
        "ipc": "application/vnd.apache.arrow.file",
        "ipc-stream": "application/vnd.apache.arrow.stream",
    }.get(fmt or "", "application/octet-stream")


def _open_writer(fmt: str | None, sink: IO[bytes], schema: Any) -> Any:
    import pyarrow as pa

    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(sink, schema)
    if fmt == "csv":
        import pyarrow.csv as pacsv

        return pacsv.CSVWriter(sink, schema)
    if fmt == "ipc":
        return pa.ipc.new_file(sink, schema)
    return pa.ipc.new_stream(sink, schema)
