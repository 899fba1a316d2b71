"""`S3Options`: the typed, validated configuration of an `S3Backend`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from remote_store import Secret
from remote_store.errors import ConfigError

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
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class S3Options:
    """Every setting of an `S3Backend`, validated at construction.

    String values for numeric and boolean fields (from URL query strings or environment
    substitution in config files) are converted; ``"true"``/``"false"`` for booleans.

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
            client-side rate limiting) or ``"legacy"``.
        max_attempts: Total attempts per request including the first (≥ 1; default 3).
            Throttling and 5xx errors left after them raise `BackendUnavailable`.
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
            writes then report it in ``WriteResult.digest``.
        conditional_writes: True (default): ``overwrite=False`` sends ``If-None-Match: *``
            on ``PutObject`` / ``CompleteMultipartUpload`` / ``CopyObject``, so the create
            is exclusive on the server. False: check with ``HeadObject`` first, for servers
            without conditional writes; that leaves a race window (TOCTOU) in which another
            writer can create the key between the check and the write.
        path_checks: True (default) enforces the file/folder rules of the `Backend`
            contract with extra requests: writing onto a folder or below a file raises
            `InvalidPath` (one ``ListObjectsV2`` plus one ``HeadObject`` per parent folder),
            and deleting a missing key raises `NotFound` (one ``HeadObject``). False skips
            them (plain object-store semantics: such writes succeed, deleting a missing key
            is a silent no-op); use it only when keys are trusted.
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
    max_attempts: int = 3
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
    path_checks: bool = True
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)
    config_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            checked = _CHECKS[f.name](f.name, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)
        if (self.access_key_id is None) != (self.secret_access_key is None):
            missing = "secret_access_key" if self.secret_access_key is None else "access_key_id"
            raise ConfigError(f"S3 option '{missing}': access_key_id and secret_access_key go together", path=missing)
        if self.session_token is not None and self.access_key_id is None:
            raise ConfigError("S3 option 'session_token': needs access_key_id and secret_access_key")
        if self.sse_kms_key_id is not None and self.sse not in ("aws:kms", "aws:kms:dsse"):
            raise ConfigError("S3 option 'sse_kms_key_id': needs sse='aws:kms' or 'aws:kms:dsse'")

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
def _fail(name: str, what: str, value: Any) -> ConfigError:
    shown = "**********" if isinstance(value, Secret) else repr(value)
    return ConfigError(f"S3 option '{name}': {what}, got {shown}")


def _str(name: str, value: Any, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _fail(name, "must be a string" + (" or None" if optional else ""), value)
    return value


def _bucket(name: str, value: Any) -> str:
    text = _str(name, value, optional=False)
    assert text is not None
    if not _BUCKET_RE.match(text) or ".." in text:
        raise _fail(name, "is not a valid bucket name (3-255 letters, digits, '.', '-', '_')", value)
    return text


def _prefix(name: str, value: Any) -> str:
    text = _str(name, value, optional=False)
    assert text is not None
    text = text.strip("/")
    if not text:
        return ""
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\x00" in text:
        raise _fail(name, "must be a '/'-separated key prefix without empty, '.' or '..' segments", value)
    return text


def _opt_str(name: str, value: Any) -> str | None:
    text = _str(name, value, optional=True)
    if text == "":
        return None
    return text


def _endpoint(name: str, value: Any) -> str | None:
    text = _opt_str(name, value)
    if text is not None and not re.match(r"^https?://[^/\s]+", text):
        raise _fail(name, "must be an http:// or https:// URL", value)
    return text


def _secret(name: str, value: Any) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value) if value else None
    raise ConfigError(f"S3 option '{name}': must be a string or remote_store.Secret, got {type(value).__name__}")


def _choice(choices: tuple[str, ...], *, optional: bool = False) -> Any:
    def check(name: str, value: Any) -> str | None:
        if optional and (value is None or value == ""):
            return None
        if value not in choices:
            raise _fail(name, f"must be one of {', '.join(choices)}" + (" or None" if optional else ""), value)
        return str(value)

    return check


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise _fail(name, "must be true or false", value)


def _verify(name: str, value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value:
        if value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
        return value
    raise _fail(name, "must be true, false or the path of a CA bundle", value)


def _int(lo: int, hi: int | None = None) -> Any:
    def check(name: str, value: Any) -> int:
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise _fail(name, "must be an integer", value) from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(name, "must be an integer", value)
        if value < lo or (hi is not None and value > hi):
            raise _fail(name, f"must be between {lo} and {hi}" if hi is not None else f"must be >= {lo}", value)
        return value

    return check


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _fail(name, "must be a number of seconds", value) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _fail(name, "must be a positive number of seconds", value)
    return float(value)


def _mapping(name: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _fail(name, "must be a mapping with str keys", value)
    return MappingProxyType(dict(value))


_CHECKS: dict[str, Any] = {
    "bucket": _bucket,
    "prefix": _prefix,
    "region": _opt_str,
    "endpoint_url": _endpoint,
    "access_key_id": _secret,
    "secret_access_key": _secret,
    "session_token": _secret,
    "profile": _opt_str,
    "addressing_style": _choice(_ADDRESSING),
    "verify": _verify,
    "retry_mode": _choice(_RETRY_MODES),
    "max_attempts": _int(1, 100),
    "max_pool_connections": _int(1),
    "connect_timeout": _positive_float,
    "read_timeout": _positive_float,
    "multipart_threshold": _int(MIN_PART_SIZE),
    "part_size": _int(MIN_PART_SIZE, MAX_PART_SIZE),
    "max_concurrency": _int(1, 1000),
    "read_block_size": _int(1),
    "multipart_copy_threshold": _int(MIN_PART_SIZE, MAX_PART_SIZE),
    "multipart_copy_part_size": _int(MIN_PART_SIZE, MAX_PART_SIZE),
    "sse": _choice(_SSE, optional=True),
    "sse_kms_key_id": _opt_str,
    "checksum_algorithm": _choice(_CHECKSUMS, optional=True),
    "conditional_writes": _bool,
    "path_checks": _bool,
    "client_kwargs": _mapping,
    "config_kwargs": _mapping,
}
