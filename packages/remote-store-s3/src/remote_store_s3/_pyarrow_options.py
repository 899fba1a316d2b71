"""The option table of `remote_store_s3._pyarrow_backend.S3PyArrowBackend` (``type = "s3-pyarrow"``)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from remote_store import Secret
from remote_store.errors import ConfigError
from remote_store.kit import HIERARCHICAL, REQUIRED, Option, OptionTable, to_int, to_optional_str, to_secret, to_url


def _to_timeout(name: str, value: Any) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"option '{name}' must be a number of seconds, got {value!r}", path=name) from None
    if seconds <= 0:
        raise ConfigError(f"option '{name}' must be positive, got {value!r}", path=name)
    return seconds


def _to_bucket(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or "/" in value:
        raise ConfigError(f"option '{name}' must be a bucket name without '/', got {value!r}", path=name)
    return value


def _to_prefix(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"option '{name}' must be a str, got {type(value).__name__}", path=name)
    return value.strip("/")


#: Every option of ``type = "s3-pyarrow"`` (names and aliases as `S3Backend`'s where they overlap).
OPTIONS = OptionTable(
    "s3-pyarrow",
    [
        Option("bucket", _to_bucket, REQUIRED, doc="bucket name"),
        Option("prefix", _to_prefix, "", doc="key prefix that is the backend root"),
        Option("endpoint_url", to_url, None, ("endpoint",), doc="service URL for S3-compatible servers"),
        Option("region", to_optional_str, None, ("region_name",), doc="AWS region"),
        Option("access_key_id", to_secret, None, ("access_key", "aws_access_key_id"), doc="access key id"),
        Option("secret_access_key", to_secret, None, ("secret_key", "aws_secret_access_key"), doc="secret access key"),
        Option("session_token", to_secret, None, ("aws_session_token",), doc="session token"),
        HIERARCHICAL.with_aliases("path_checks"),
        Option("max_attempts", to_int(1, 100), 3, doc="attempts per request"),
        Option("connect_timeout", _to_timeout, None, doc="connection timeout in seconds"),
    ],
)


def revealed(value: Secret | str | None) -> str | None:
    """The text of a `Secret` option (or the str / None as given)."""
    return value.reveal() if isinstance(value, Secret) else value


def endpoint_parts(url: str | None) -> tuple[str | None, str | None]:
    """``"http://127.0.0.1:9000"`` → ``("http", "127.0.0.1:9000")``, PyArrow's ``scheme`` and
    ``endpoint_override``; ``(None, None)`` without a URL."""
    if not url:
        return None, None
    parts = urllib.parse.urlsplit(url)
    return parts.scheme or "https", parts.netloc + parts.path.rstrip("/")
