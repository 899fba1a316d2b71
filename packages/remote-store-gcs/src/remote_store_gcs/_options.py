"""`GCSOptions`: the typed, validated configuration of a `GCSBackend`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remote_store import Secret
from remote_store.errors import ConfigError
from remote_store.kit import (
    CONNECT_TIMEOUT,
    CREATE_ROOT,
    HIERARCHICAL,
    READ_TIMEOUT,
    REQUIRED,
    RETRIES,
    RETRY_BACKOFF,
    RETRY_BACKOFF_MAX,
    RETRY_BUDGET,
    RETRY_CATEGORIES,
    RETRY_ON,
    VERIFY,
    Option,
    OptionTable,
    to_bool,
    to_int,
    to_optional_str,
    to_secret,
    to_str,
    to_url,
)

KiB = 1024
MiB = 1024 * KiB

#: Every chunk of a resumable upload but the last must be a multiple of this many bytes.
CHUNK_GRANULARITY = 256 * KiB
#: Largest chunk accepted here (bytes): one chunk is held in memory twice at most.
MAX_CHUNK_SIZE = 1024 * MiB

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9]$")


@dataclass(frozen=True, slots=True)
class GCSOptions:
    """Every setting of a `GCSBackend`, validated at construction.

    Strings for numeric and boolean fields (URL query strings, ``${ENV}`` substitution) are
    converted. Validation is table-driven (`OPTIONS`, a `remote_store.kit.OptionTable`);
    `from_mapping` also accepts the aliases ``project_id`` (for ``project``),
    ``service_account`` / ``token`` (``credentials``), ``endpoint_url`` / ``api_endpoint``
    (``endpoint``), ``part_size`` (``chunk_size``), ``path_checks`` (``hierarchical``) and
    refuses unknown names with `ConfigError`.

    Credentials, in this order:

    1. ``anonymous=True``: no credentials at all (emulators, public buckets).
    2. ``credentials``: a service-account key, either the *path* of its JSON file or the
       JSON text itself (a value starting with ``{``). Kept as a `Secret`: the private key
       never appears in ``repr``, `Store.resolve`, logs or error messages.
    3. Neither: Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``,
       ``gcloud auth application-default login``, the metadata server on GCP).

    Attributes:
        bucket: Bucket name (3-222 characters: lower-case letters, digits, ``.``, ``-``, ``_``).
        prefix: Object name prefix acting as the backend root (``"a/b"``; surrounding ``/``
            stripped; empty, ``.`` and ``..`` segments refused).
        project: Google Cloud project id (used to create the bucket with ``create_root`` and
            as the client's billing project); None takes the credentials' project.
        credentials: Service-account JSON key: file path or inline JSON (`Secret`), or None.
        anonymous: Send no credentials (default False).
        endpoint: JSON API root URL for emulators and private endpoints, e.g.
            ``"http://127.0.0.1:4443"``; None for Google (``STORAGE_EMULATOR_HOST`` is
            honoured by the SDK when this is None).
        verify: TLS verification: True (default), False, or a CA bundle path.
        connect_timeout: Seconds to wait for a connection (> 0; default 10).
        read_timeout: Seconds to wait for data on an open connection (> 0; default 60).
        retries: Retries after a failed first attempt of a request (0-100; default 2), by a
            google-api-core ``Retry``. Retried are the transient errors of google-cloud-storage's
            own predicate (408, 429, 500, 502, 503, 504, connection errors, timeouts) in a
            category of ``retry_on``; 0 disables retrying. Errors left after them raise
            `BackendUnavailable`.
        retry_backoff: Seconds before the first retry (≥ 0; default 0.5; ``Retry(initial=...)``),
            doubling (``multiplier=2``) each retry.
        retry_backoff_max: Longest wait between attempts (≥ 0; default 10; ``Retry(maximum=...)``).
        retry_budget: Seconds one Store operation may spend retrying (≥ 0; default 120):
            failed attempts and waits, summed over every request the operation makes
            (resumable-upload chunks, listing pages, resumes of a cut read;
            `remote_store.kit.RetryBudget`). The former name ``retry_deadline`` is an alias.
        retry_on: Failure categories that are retried: ``connection``, ``timeout``,
            ``throttling`` (429, 503), ``server`` (other 5xx); a set or a comma-separated
            string, ``"all"`` (default) or ``"none"``.
        create_root: Create the bucket (in ``project``) when it is missing (default False).
        chunk_size: Bytes per resumable-upload chunk, a multiple of 256 KiB (256 KiB-1 GiB;
            default 8 MiB). A streamed write holds about ``4 x chunk_size`` bytes, whatever its size.
        multipart_threshold: Writes shorter than this many bytes (and one ``chunk_size``)
            are one single-request upload; longer ones a resumable upload (≥ 256 KiB;
            default 8 MiB).
        read_block_size: Read-ahead buffer of `open_read` streams in bytes (≥ 1; default 1 MiB).
        batch_delete: True (default): folder deletes send up to 100 deletes per JSON-API
            batch request. False: one request each (8 at once), for emulators without the
            batch endpoint.
        guess_content_type: True (default): new objects get a ``Content-Type`` guessed from
            the file name extension (``mimetypes``); False leaves the service default.
        hierarchical: Enforce the file/folder placement rules with extra requests (see
            `remote_store.kit.FlatKeyBackend`; declares `Capability.HIERARCHICAL`). Alias
            ``path_checks``.

    Raises:
        ConfigError: A value has the wrong type or is out of range; the message names the key.
    """

    bucket: str
    prefix: str = ""
    project: str | None = None
    credentials: Secret | None = None
    anonymous: bool = False
    endpoint: str | None = None
    verify: bool | str = True
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 2
    retry_backoff: float = 0.5
    retry_backoff_max: float = 10.0
    retry_budget: float = 120.0
    retry_on: frozenset[str] = frozenset(RETRY_CATEGORIES)
    create_root: bool = False
    chunk_size: int = 8 * MiB
    multipart_threshold: int = 8 * MiB
    read_block_size: int = 1 * MiB
    batch_delete: bool = True
    guess_content_type: bool = True
    hierarchical: bool = False

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            checked = OPTIONS.check(f.name, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)
        if self.anonymous and self.credentials is not None:
            raise ConfigError("GCS option 'anonymous': cannot be combined with 'credentials'", path="anonymous")

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> GCSOptions:
        """Validate ``options`` (canonical names or aliases) and build the value.

        Raises:
            ConfigError: An unknown option, one given twice (name and alias), a missing
                ``bucket`` or an invalid value; the message names the option.
        """
        return cls(**OPTIONS.parse(options))

    def changed(self) -> dict[str, Any]:
        """The fields that differ from their defaults (``bucket`` always), as constructor kwargs."""
        return OPTIONS.changed({f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, keep=("bucket",))


# ---------------------------------------------------------------------- validators
def _bucket(name: str, value: Any) -> str:
    text = to_str(name, value)
    if not _BUCKET_RE.match(text) or ".." in text:
        raise ConfigError(
            f"option '{name}': is not a valid bucket name (3-222 lower-case letters, digits, '.', '-', '_'), "
            f"got {value!r}",
            path=name,
        )
    return text


def _prefix(name: str, value: Any) -> str:
    text = to_str(name, value).strip("/")
    if not text:
        return ""
    if any(p in ("", ".", "..") for p in text.split("/")) or "\x00" in text:
        raise ConfigError(
            f"option '{name}': must be a '/'-separated prefix without empty, '.' or '..' segments, got {value!r}",
            path=name,
        )
    return text


def _multiple(unit: int, lo: int, hi: int, *, optional: bool = False) -> Any:
    bounded = to_int(lo, hi)

    def convert(name: str, value: Any) -> int | None:
        if optional and (value is None or value == ""):
            return None
        number: int = bounded(name, value)
        if number % unit:
            raise ConfigError(f"option '{name}': must be a multiple of {unit} bytes, got {number}", path=name)
        return number

    return convert


#: The table every `GCSOptions` value is validated against (names, aliases, converters, defaults).
OPTIONS = OptionTable(
    "GCS",
    [
        Option("bucket", _bucket, REQUIRED, doc="bucket name"),
        Option("prefix", _prefix, "", doc="object name prefix that is the backend root"),
        Option("project", to_optional_str, None, ("project_id",), doc="Google Cloud project id"),
        Option(
            "credentials",
            to_secret,
            None,
            ("service_account", "token"),
            doc="service-account JSON key: file path or inline JSON",
        ),
        Option("anonymous", to_bool, False, doc="send no credentials (emulators, public buckets)"),
        Option("endpoint", to_url, None, ("endpoint_url", "api_endpoint"), doc="JSON API root URL"),
        VERIFY,
        CONNECT_TIMEOUT,
        READ_TIMEOUT,
        RETRIES,
        RETRY_BACKOFF,
        RETRY_BACKOFF_MAX,
        RETRY_BUDGET.with_aliases("retry_deadline"),
        RETRY_ON,
        CREATE_ROOT,
        Option(
            "chunk_size",
            _multiple(CHUNK_GRANULARITY, CHUNK_GRANULARITY, MAX_CHUNK_SIZE),
            8 * MiB,
            ("part_size",),
            doc="bytes per resumable-upload chunk (multiple of 256 KiB)",
        ),
        Option("multipart_threshold", to_int(CHUNK_GRANULARITY), 8 * MiB, doc="bytes from which uploads are resumable"),
        Option("read_block_size", to_int(1), 1 * MiB, doc="read buffer in bytes"),
        Option("batch_delete", to_bool, True, doc="batch requests for folder deletes"),
        Option("guess_content_type", to_bool, True, doc="Content-Type from the file name"),
        HIERARCHICAL.with_aliases("path_checks"),
    ],
)
