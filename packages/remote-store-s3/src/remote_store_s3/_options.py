"""`S3Options`: the typed, validated configuration of an `S3Backend`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from remote_store import Secret
from remote_store.errors import ConfigError
from remote_store.kit import (
    CONNECT_TIMEOUT,
    HIERARCHICAL,
    READ_TIMEOUT,
    REQUIRED,
    RETRY_OPTIONS,
    VERIFY,
    Option,
    OptionTable,
    to_bool,
    to_choice,
    to_int,
    to_mapping,
    to_optional_str,
    to_secret,
    to_str,
    to_url,
)

MiB = 1024 * 1024
GiB = 1024 * MiB

#: Smallest part S3 accepts for every part but the last (bytes).
MIN_PART_SIZE = 5 * MiB
#: Largest part (and largest single CopyObject source) S3 accepts (bytes).
MAX_PART_SIZE = 5 * GiB
#: Most parts one multipart upload may have.
MAX_PARTS = 10_000

_RETRY_MODES = ("legacy", "standard", "adaptive")
_ADDRESSING = ("auto", "path", "virtual")
_SSE = ("AES256", "aws:kms", "aws:kms:dsse")
_CHECKSUMS = ("CRC32", "CRC32C", "SHA1", "SHA256")
_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{1,253}[A-Za-z0-9]$")


@dataclass(frozen=True, slots=True)
class S3Options:
    """Every setting of an `S3Backend`, validated at construction.

    String values for numeric and boolean fields (from URL query strings or environment
    substitution in config files) are converted; ``"true"``/``"false"`` for booleans.
    Validation is table-driven (`OPTIONS`, a `remote_store.kit.OptionTable`); `from_mapping`
    also accepts the aliases ``access_key`` / ``aws_access_key_id`` (for ``access_key_id``),
    ``secret_key`` / ``aws_secret_access_key`` (``secret_access_key``), ``aws_session_token``
    (``session_token``), ``region_name`` (``region``), ``endpoint`` (``endpoint_url``),
    ``path_checks`` (``hierarchical``) and ``max_attempts`` (total attempts: ``retries``
    + 1), and refuses unknown names with `ConfigError`.

    Attributes:
        bucket: Bucket name (3-255 characters of letters, digits, ``.``, ``-``, ``_``).
        prefix: Key prefix inside the bucket that acts as the backend root (``"a/b"``;
            surrounding ``/`` are stripped; ``..`` segments are refused).
        region: AWS region (``"eu-west-1"``); None lets botocore find it (env, profile).
        endpoint_url: Service URL for S3-compatible servers (MinIO, R2, Ceph, moto),
            e.g. ``"http://127.0.0.1:9000"``; None for AWS.
        access_key_id: Access key id (`Secret`; a str is wrapped). None uses the default
            credential chain (environment, profile, instance role).
        secret_access_key: Secret access key (`Secret`). Given together with ``access_key_id``.
        session_token: Session token for temporary credentials (`Secret`), or None.
        profile: Named profile from ``~/.aws/config`` / ``~/.aws/credentials``, or None.
        addressing_style: ``"auto"`` (default), ``"path"`` (``host/bucket/key``, for most
            S3-compatible servers) or ``"virtual"`` (``bucket.host/key``).
        verify: TLS certificate verification: True (default), False (not recommended), or
            the path of a CA bundle file.
        retry_mode: botocore retry mode: ``"standard"`` (default), ``"adaptive"`` (adds
            client-side rate limiting) or ``"legacy"``. With ``standard`` and ``adaptive``
            botocore decides *whether* a failure is retryable (its standard conditions) and
            the shared options below decide how often, how long to wait and which
            categories; ``legacy`` honours ``retries`` only.
        retries: Retries after a failed first attempt of one request (0-100; default 2),
            botocore's ``total_max_attempts = retries + 1``. The former option
            ``max_attempts`` (total attempts, ≥ 1) is still accepted and means
            ``retries = max_attempts - 1``. Failures left after them raise
            `BackendUnavailable`.
        retry_backoff: Seconds before the first retry (≥ 0; default 0.5); doubles each retry
            (±20 % jitter), replacing botocore's own exponential backoff.
        retry_backoff_max: Longest wait between two attempts in seconds (≥ 0; default 10).
        retry_budget: Seconds one Store operation may spend retrying (≥ 0; default 120):
            failed attempts and waits, summed over every request the operation makes
            (multipart parts, listing pages, resumes of a cut read); no retry starts that
            would pass it (`remote_store.kit.RetryBudget`).
        retry_on: Failure categories that are retried (``connection``, ``timeout``,
            ``throttling`` = 429/503/``SlowDown``, ``server`` = other 5xx); a set or a
            comma-separated string, ``"all"`` (default) or ``"none"``.
        max_pool_connections: Size of the client's HTTP connection pool (≥ 1; default 10).
            Keep it ≥ ``max_concurrency``.
        connect_timeout: Seconds to wait for a TCP/TLS connection (> 0; default 10).
        read_timeout: Seconds to wait for data on an open connection (> 0; default 60).
        multipart_threshold: Streams of at least this many bytes (and at least one
            ``part_size``) are uploaded with a multipart upload; smaller ones with one
            ``PutObject`` (≥ 5 MiB; default 8 MiB).
        part_size: Bytes per multipart part (5 MiB-5 GiB; default 8 MiB). One upload holds
            at most ``part_size x (max_concurrency + 1)`` bytes in memory, and an object of
            unknown length may have at most ``part_size x 10,000`` bytes.
        max_concurrency: Parts uploaded in parallel by one multipart upload (≥ 1; default 10).
        read_block_size: Read-ahead buffer of streams returned by ``open_read`` in bytes
            (≥ 1; default 1 MiB).
        multipart_copy_threshold: Copies (and moves) of objects larger than this many bytes
            use ``UploadPartCopy`` instead of one ``CopyObject`` (5 MiB-5 GiB; default 5 GiB).
        multipart_copy_part_size: Bytes per ``UploadPartCopy`` part (5 MiB-5 GiB; default
            512 MiB; raised automatically so a copy needs at most 10,000 parts).
        sse: Server-side encryption for new objects: ``"AES256"``, ``"aws:kms"``,
            ``"aws:kms:dsse"`` or None (bucket default).
        sse_kms_key_id: KMS key id or ARN for ``sse="aws:kms"`` / ``"aws:kms:dsse"``.
        checksum_algorithm: Ask S3 to verify and store a checksum of every upload:
            ``"CRC32"``, ``"CRC32C"``, ``"SHA1"``, ``"SHA256"`` or None. Single-request
            writes then report it in ``WriteResult.digest``. None: multipart uploads still
            declare ``CRC32`` (the per-part checksums botocore computes by default, as
            boto3's TransferManager does) unless the client config sets
            ``request_checksum_calculation="when_required"``.
        conditional_writes: True (default): ``overwrite=False`` sends ``If-None-Match: *``
            on ``PutObject`` / ``CompleteMultipartUpload`` / ``CopyObject``, so the create
            is exclusive on the server. False: check with ``HeadObject`` first, for servers
            without conditional writes; that leaves a race window (TOCTOU) in which another
            writer can create the key between the check and the write.
        hierarchical: False (default): plain object-store semantics with no extra requests
            (a key may be a file and a folder prefix at once; deleting a missing key with
            ``missing_ok`` is one ``DeleteObject``). True (alias ``path_checks``) enforces the
            file/folder rules of the `Backend` contract and declares
            `Capability.HIERARCHICAL`: writing onto a folder or below a file raises
            `InvalidPath` (one ``ListObjectsV2`` plus one ``HeadObject`` per parent folder,
            before anything is uploaded).
        guess_content_type: True (default): new objects get a ``Content-Type`` guessed from
            the key's file name extension (``mimetypes``, as ``aws s3 cp`` does;
            ``binary/octet-stream`` left to S3 when unknown). False: never send one.
        client_kwargs: Extra keyword arguments for ``boto3.session.Session.client("s3", ...)``
            (e.g. ``{"use_ssl": False}``).
        config_kwargs: Extra keyword arguments for ``botocore.config.Config``
            (e.g. ``{"request_checksum_calculation": "when_required"}``).

    Raises:
        ConfigError: A value has the wrong type or is out of range; the message names the key.
    """

    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: Secret | None = None
    secret_access_key: Secret | None = None
    session_token: Secret | None = None
    profile: str | None = None
    addressing_style: str = "auto"
    verify: bool | str = True
    retry_mode: str = "standard"
    retries: int = 2
    retry_backoff: float = 0.5
    retry_backoff_max: float = 10.0
    retry_budget: float = 120.0
    retry_on: frozenset[str] = frozenset(("connection", "timeout", "throttling", "server"))
    max_pool_connections: int = 10
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    multipart_threshold: int = 8 * MiB
    part_size: int = 8 * MiB
    max_concurrency: int = 10
    read_block_size: int = 1 * MiB
    multipart_copy_threshold: int = 5 * GiB
    multipart_copy_part_size: int = 512 * MiB
    sse: str | None = None
    sse_kms_key_id: str | None = None
    checksum_algorithm: str | None = None
    conditional_writes: bool = True
    hierarchical: bool = False
    guess_content_type: bool = True
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)
    config_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            checked = OPTIONS.check(f.name, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)
        if (self.access_key_id is None) != (self.secret_access_key is None):
            missing = "secret_access_key" if self.secret_access_key is None else "access_key_id"
            raise ConfigError(f"S3 option '{missing}': access_key_id and secret_access_key go together", path=missing)
        if self.session_token is not None and self.access_key_id is None:
            raise ConfigError("S3 option 'session_token': needs access_key_id and secret_access_key")
        if self.sse_kms_key_id is not None and self.sse not in ("aws:kms", "aws:kms:dsse"):
            raise ConfigError("S3 option 'sse_kms_key_id': needs sse='aws:kms' or 'aws:kms:dsse'")

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> S3Options:
        """Validate ``options`` (canonical names or aliases) and build the value.

        Raises:
            ConfigError: An unknown option, an option given twice (as name and alias), a
                missing ``bucket`` or an invalid value; the message names the option.
        """
        given = dict(options)
        if "max_attempts" in given:
            if "retries" in given:
                raise ConfigError(
                    "S3 option 'retries' is given twice (as 'retries' and 'max_attempts')", path="retries"
                )
            given["retries"] = _retries_from_max_attempts(given.pop("max_attempts"))
        return cls(**OPTIONS.parse(given))

    def changed(self) -> dict[str, Any]:
        """Return the fields that differ from their defaults (``bucket`` always), as constructor kwargs."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "bucket":
                out[f.name] = value
                continue
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if value != default:
                out[f.name] = dict(value) if isinstance(value, Mapping) else value
        return out


# ---------------------------------------------------------------------- validators
def _bucket(name: str, value: Any) -> str:
    text = to_str(name, value)
    if not _BUCKET_RE.match(text) or ".." in text:
        raise ConfigError(
            f"option '{name}': is not a valid bucket name (3-255 letters, digits, '.', '-', '_'), got {value!r}"
        )
    return text


def _prefix(name: str, value: Any) -> str:
    text = to_str(name, value).strip("/")
    if not text:
        return ""
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\x00" in text:
        raise ConfigError(
            f"option '{name}': must be a '/'-separated key prefix without empty, '.' or '..' segments, got {value!r}"
        )
    return text


def _retries_from_max_attempts(value: Any) -> int:
    """``max_attempts`` (total attempts, the former option) as ``retries`` (attempts - 1).

    Raises:
        ConfigError: Not an integer between 1 and 101 (the message names ``max_attempts``).
    """
    try:
        attempts: int = to_int(1, 101)("max_attempts", value)
    except ConfigError as exc:
        raise ConfigError(f"S3 {exc.message}", path="max_attempts") from None
    return attempts - 1


#: The table every `S3Options` value is validated against (names, aliases, converters, defaults).
OPTIONS = OptionTable(
    "S3",
    [
        Option("bucket", _bucket, REQUIRED, doc="bucket name"),
        Option("prefix", _prefix, "", doc="key prefix that is the backend root"),
        Option("region", to_optional_str, None, ("region_name",), doc="AWS region"),
        Option("endpoint_url", to_url, None, ("endpoint",), doc="service URL of S3-compatible servers"),
        Option("access_key_id", to_secret, None, ("access_key", "aws_access_key_id"), doc="access key id"),
        Option("secret_access_key", to_secret, None, ("secret_key", "aws_secret_access_key"), doc="secret access key"),
        Option("session_token", to_secret, None, ("aws_session_token",), doc="session token"),
        Option("profile", to_optional_str, None, doc="named AWS profile"),
        Option("addressing_style", to_choice(*_ADDRESSING), "auto", doc="auto, path or virtual"),
        VERIFY,
        Option("retry_mode", to_choice(*_RETRY_MODES), "standard", doc="botocore retry mode"),
        *RETRY_OPTIONS,
        Option("max_pool_connections", to_int(1), 10, doc="HTTP connection pool size"),
        CONNECT_TIMEOUT,
        READ_TIMEOUT,
        Option("multipart_threshold", to_int(MIN_PART_SIZE), 8 * MiB, doc="bytes from which uploads are multipart"),
        Option("part_size", to_int(MIN_PART_SIZE, MAX_PART_SIZE), 8 * MiB, doc="bytes per part"),
        Option("max_concurrency", to_int(1, 1000), 10, doc="parts uploaded at once"),
        Option("read_block_size", to_int(1), 1 * MiB, doc="read buffer in bytes"),
        Option("multipart_copy_threshold", to_int(MIN_PART_SIZE, MAX_PART_SIZE), 5 * GiB, doc="bytes"),
        Option("multipart_copy_part_size", to_int(MIN_PART_SIZE, MAX_PART_SIZE), 512 * MiB, doc="bytes"),
        Option("sse", to_choice(*_SSE, optional=True), None, doc="server-side encryption"),
        Option("sse_kms_key_id", to_optional_str, None, doc="KMS key id"),
        Option("checksum_algorithm", to_choice(*_CHECKSUMS, optional=True), None, doc="upload checksum"),
        Option("conditional_writes", to_bool, True, doc="If-None-Match: * for overwrite=False"),
        HIERARCHICAL.with_aliases("path_checks"),
        Option("guess_content_type", to_bool, True, doc="Content-Type from the file name"),
        Option("client_kwargs", to_mapping, None, doc="extra boto3 client arguments"),
        Option("config_kwargs", to_mapping, None, doc="extra botocore Config arguments"),
    ],
)
