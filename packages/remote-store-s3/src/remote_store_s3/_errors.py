"""The one place where botocore / urllib3 exceptions become `remote_store.errors` classes."""

from __future__ import annotations

from collections.abc import Iterable

from botocore import exceptions as bce

from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)

#: S3 error codes, grouped by the remote-store error they become.
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchVersion"})
_DENIED = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AllAccessDisabled",
        "AccountProblem",
        "InvalidObjectState",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
    }
)
_EXISTS = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})
_UNAVAILABLE = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "ServiceUnavailable",
        "InternalError",
        "503",
        "500",
        "502",
        "504",
        "BandwidthLimitExceeded",
    }
)
_CONFIG = frozenset(
    {
        "NoSuchBucket",
        "InvalidBucketName",
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",
        "InvalidRegion",
    }
)
_BAD_KEY = frozenset({"KeyTooLongError", "InvalidArgument", "InvalidObjectName"})

_CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    bce.EndpointConnectionError,
    bce.ConnectionClosedError,
    bce.ReadTimeoutError,
    bce.ConnectTimeoutError,
    bce.ConnectionError,
    bce.HTTPClientError,
    bce.IncompleteReadError,
    bce.ResponseStreamingError,
)
_CREDENTIAL_ERRORS: tuple[type[Exception], ...] = (
    bce.NoCredentialsError,
    bce.PartialCredentialsError,
    bce.ProfileNotFound,
    bce.NoRegionError,
    bce.InvalidRegionError,
    bce.CredentialRetrievalError,
)


def error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ``ClientError`` (``"NoSuchKey"``, ``"404"``), else ``""``."""
    if isinstance(exc, bce.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "") or "")
    return ""


def status_code(exc: BaseException) -> int:
    """The HTTP status of a botocore ``ClientError``, else 0."""
    if isinstance(exc, bce.ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def is_not_found(exc: BaseException) -> bool:
    """Whether ``exc`` says the key does not exist (``NoSuchKey`` / HTTP 404, not a missing bucket)."""
    code = error_code(exc)
    return code in _NOT_FOUND or (status_code(exc) == 404 and code not in _CONFIG)


def is_precondition_failed(exc: BaseException) -> bool:
    """Whether ``exc`` is a failed ``If-Match`` / ``If-None-Match`` (HTTP 412 or 409 conflict)."""
    return error_code(exc) in _EXISTS or status_code(exc) == 412


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "**********")
    return text


def translate(exc: Exception, key: str | None, *, bucket: str, secrets: Iterable[str] = ()) -> RemoteStoreError | None:
    """Map a botocore/urllib3 exception to a `remote_store.errors` class.

    Args:
        exc: The native exception.
        key: Backend key the operation was about (None for bucket-level calls).
        bucket: Bucket name, for messages.
        secrets: Credential strings that must never appear in the message.

    Returns:
        The translated error, or None when ``exc`` is not an S3 client error (the core's
        portable mapping then handles ``OSError`` / ``ConnectionError``).

    Mapping: ``NoSuchKey``/404 → `NotFound`; ``AccessDenied``/403 and refused credentials →
    `PermissionDenied`; ``PreconditionFailed``/412 → `AlreadyExists`; throttling, 5xx left after
    retries and connection errors → `BackendUnavailable`; ``NoSuchBucket``, an invalid bucket
    name, a wrong region or missing credentials → `ConfigError`; a key S3 refuses → `InvalidPath`.
    """
    secrets = [s for s in secrets if s]
    if isinstance(exc, bce.ClientError):
        code = error_code(exc)
        status = status_code(exc)
        op = getattr(exc, "operation_name", "") or "request"
        detail = _scrub(str(exc.response.get("Error", {}).get("Message", "") or ""), secrets)
        text = f"S3 {op} failed: {code or status}" + (f": {detail}" if detail else "")
        if code in _CONFIG:
            return ConfigError(f"{text} (bucket {bucket!r})", path=key)
        if code in _DENIED or status == 403:
            return PermissionDenied(text, path=key)
        if code in _EXISTS or status == 412:
            return AlreadyExists(text, path=key)
        if is_not_found(exc):
            return NotFound(text, path=key)
        if code in _UNAVAILABLE or status >= 500 or status == 429:
            return BackendUnavailable(text, path=key)
        if code in _BAD_KEY:
            return InvalidPath(text, path=key)
        return RemoteStoreError(text, path=key)
    if isinstance(exc, _CONNECTION_ERRORS):
        return BackendUnavailable(f"S3 unreachable: {type(exc).__name__}: {_scrub(str(exc), secrets)}", path=key)
    if isinstance(exc, _CREDENTIAL_ERRORS):
        return ConfigError(f"S3 client configuration: {type(exc).__name__}: {_scrub(str(exc), secrets)}", path=key)
    if isinstance(exc, bce.ParamValidationError):
        return InvalidPath(f"S3 refused the request parameters: {_scrub(str(exc), secrets)}", path=key)
    if isinstance(exc, bce.BotoCoreError):
        return RemoteStoreError(f"S3 client error: {type(exc).__name__}: {_scrub(str(exc), secrets)}", path=key)
    try:
        from urllib3 import exceptions as u3e
    except ImportError:  # pragma: no cover - urllib3 always ships with botocore
        return None
    if isinstance(exc, u3e.HTTPError):
        return BackendUnavailable(f"S3 connection failed: {type(exc).__name__}", path=key)
    return None
