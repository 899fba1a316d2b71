"""The one place where google-api-core, google-auth, requests and resumable-media exceptions
become `remote_store.errors` classes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from google.api_core import exceptions as gex
from google.auth import exceptions as gauth

from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)

_MASK = "**********"
#: A PEM block (a private key that slipped into a message) and JSON ``"private_key": "..."`` pairs.
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL)
_JSON_KEY = re.compile(r'("private_key(?:_id)?"\s*:\s*")[^"]*(")')
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]+")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret, PEM private key, JSON ``private_key`` value and bearer token masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK)
    text = _PEM.sub(_MASK, text)
    text = _JSON_KEY.sub(rf"\1{_MASK}\2", text)
    return _BEARER.sub(rf"\1{_MASK}", text)


def from_response(resp: Any) -> gex.GoogleAPICallError:
    """The google-api-core exception for a failed HTTP response (``from_http_response``)."""
    exc: gex.GoogleAPICallError = gex.from_http_response(resp)  # type: ignore[no-untyped-call]
    return exc


def status_of(exc: BaseException) -> int:
    """The HTTP status of a google-api-core error (``exc.code``), else 0."""
    code = getattr(exc, "code", None) if isinstance(exc, gex.GoogleAPICallError) else None
    return int(code) if isinstance(code, int) else 0


def _transport_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [gauth.TransportError, TimeoutError, ConnectionError]
    try:
        import requests

        found += [requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError]
    except ImportError:  # pragma: no cover - requests ships with google-cloud-storage
        pass
    try:
        from urllib3 import exceptions as u3e

        found.append(u3e.HTTPError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(found)


_TRANSPORT = _transport_errors()


def translate(
    exc: BaseException, key: str | None, *, bucket: str, secrets: Iterable[str] = ()
) -> RemoteStoreError | None:
    """Map a native exception of the GCS SDK stack to a `remote_store.errors` class.

    Args:
        exc: The native exception.
        key: Backend key of the operation (None for bucket-level calls).
        bucket: Bucket name, for messages.
        secrets: Strings (the service-account key file's text) never to appear in a message.

    Returns:
        The translated error, or None when ``exc`` belongs to no library of the GCS stack.

    Mapping (google-api-core class / HTTP status → error):

    - ``NotFound`` 404 → `NotFound` (a missing *bucket* → `ConfigError`);
    - ``PreconditionFailed`` 412, ``Conflict`` / ``AlreadyExists`` / ``Aborted`` 409 →
      `AlreadyExists` (failed ``ifGenerationMatch=0`` create);
    - ``Forbidden`` / ``PermissionDenied`` 403, ``Unauthorized`` / ``Unauthenticated`` 401,
      google-auth ``RefreshError`` → `PermissionDenied`;
    - ``ServerError`` 5xx (``DeadlineExceeded``, ``ServiceUnavailable``, ``DataLoss``,
      ``Unknown`` …), ``TooManyRequests`` 429, ``RetryError``, resumable-transfer errors,
      connection errors and timeouts (requests, urllib3, google-auth ``TransportError``) →
      `BackendUnavailable`;
    - ``BadRequest`` 400 family (``InvalidArgument``, ``OutOfRange``, ``FailedPrecondition``),
      411, 416 → `InvalidPath`;
    - google-auth ``DefaultCredentialsError`` / ``MalformedError`` and other
      ``GoogleAuthError`` → `ConfigError`;
    - every other ``GoogleAPIError`` (redirections, 405, 501 …) → `RemoteStoreError`.
    """
    secrets = [s for s in secrets if s]
    where = f"bucket {bucket!r}"
    if isinstance(exc, gex.GoogleAPICallError):
        status = status_of(exc)
        detail = scrub(str(getattr(exc, "message", "") or exc), secrets)
        text = f"GCS request failed: {type(exc).__name__}" + (f" ({status})" if status else "") + f": {detail}"
        if isinstance(exc, gex.NotFound):
            if key is None or ("bucket" in detail.lower() and "does not exist" in detail.lower()):
                return ConfigError(f"{text} ({where})", path=key)
            return NotFound(text, path=key)
        if isinstance(exc, (gex.PreconditionFailed, gex.Conflict)):
            return AlreadyExists(text, path=key)
        if isinstance(exc, (gex.Forbidden, gex.Unauthorized)):
            return PermissionDenied(text, path=key)
        if isinstance(exc, (gex.ServerError, gex.TooManyRequests, gex.ResumableTransferError)):
            return BackendUnavailable(text, path=key)
        if isinstance(exc, (gex.BadRequest, gex.LengthRequired, gex.RequestRangeNotSatisfiable)):
            return InvalidPath(text, path=key)
        return RemoteStoreError(text, path=key)
    if isinstance(exc, gex.RetryError):
        cause = exc.cause
        detail = scrub(f"{type(cause).__name__}: {cause}" if cause is not None else str(exc), secrets)
        return BackendUnavailable(f"GCS request failed after retrying: {detail}", path=key)
    if isinstance(exc, gex.GoogleAPIError):
        return RemoteStoreError(f"GCS client error: {type(exc).__name__}: {scrub(str(exc), secrets)}", path=key)
    if isinstance(exc, gauth.RefreshError):
        return PermissionDenied(f"GCS credentials refused: {type(exc).__name__}: {scrub(str(exc), secrets)}", path=key)
    if isinstance(exc, gauth.TransportError):
        return BackendUnavailable(f"GCS unreachable: {type(exc).__name__}: {scrub(str(exc), secrets)}", path=key)
    if isinstance(exc, gauth.GoogleAuthError):
        return ConfigError(f"GCS credentials: {type(exc).__name__}: {scrub(str(exc), secrets)}", path=key)
    if isinstance(exc, _TRANSPORT):
        return BackendUnavailable(f"GCS unreachable: {type(exc).__name__}: {scrub(str(exc), secrets)}", path=key)
    try:
        from google.resumable_media import common as rmc
    except ImportError:  # pragma: no cover - a dependency of google-cloud-storage
        return None
    if isinstance(exc, rmc.DataCorruption):
        return BackendUnavailable(f"GCS transfer corrupted (checksum mismatch): {scrub(str(exc), secrets)}", path=key)
    if isinstance(exc, rmc.InvalidResponse):
        status = getattr(getattr(exc, "response", None), "status_code", 0) or 0
        text = f"GCS answered HTTP {status}: {scrub(str(exc.args[0] if exc.args else exc), secrets)}"
        if status == 404:
            return NotFound(text, path=key)
        if status == 412:
            return AlreadyExists(text, path=key)
        if status in (401, 403):
            return PermissionDenied(text, path=key)
        if status >= 500 or status == 429:
            return BackendUnavailable(text, path=key)
        return RemoteStoreError(text, path=key)
    return None
