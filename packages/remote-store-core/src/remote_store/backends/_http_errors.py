"""Errors of `HttpBackend`: status and changed-file exceptions, and their mapping to `remote_store.errors`."""

from __future__ import annotations

import http.client
import ssl

from remote_store.errors import (
    BackendUnavailable,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)


class HttpStatusError(Exception):
    """An HTTP status the backend does not handle itself; mapped by `translate_http_error`.

    Attributes:
        status: HTTP status code.
        reason: Reason phrase the server sent.
        key: Backend key the request was for ("" for the base URL).
    """

    def __init__(self, status: int, reason: str, key: str) -> None:
        self.status = status
        self.reason = reason
        self.key = key
        super().__init__(f"HTTP {status} {reason}".strip())


class FileChangedError(Exception):
    """The file changed on the server between two ranged reads of one open stream."""


def translate_http_error(exc: Exception, key: str | None) -> RemoteStoreError | None:
    """Map HTTP statuses and ``http.client`` / ``requests`` / TLS errors to `remote_store.errors`.

    404/410 → `NotFound`; 401/403/407 → `PermissionDenied`; 5xx, 408, 429, dropped or timed-out
    connections, truncated bodies and TLS failures → `BackendUnavailable`; a file that changed
    mid-read → `RemoteStoreError`. Returns None for anything else (the portable mapping applies).
    Messages carry the status and key, never header values or URL query strings.
    """
    if isinstance(exc, HttpStatusError):
        text = f"HTTP {exc.status} {exc.reason}".strip()
        path = key if key is not None else exc.key
        if exc.status in (404, 410):
            return NotFound(f"file not found ({text})", path=path)
        if exc.status in (401, 403, 407):
            return PermissionDenied(f"access denied ({text})", path=path)
        if exc.status >= 500 or exc.status in (408, 429):
            return BackendUnavailable(f"server error ({text})", path=path)
        if exc.status == 416:
            return RemoteStoreError(f"range not satisfiable ({text}); the file may have changed", path=path)
        return RemoteStoreError(f"unexpected HTTP status ({text})", path=path)
    if isinstance(exc, FileChangedError):
        return RemoteStoreError(f"file changed on the server while it was being read: {exc}", path=key)
    if isinstance(exc, ssl.SSLError):
        return BackendUnavailable(f"TLS error: {type(exc).__name__}: {exc.reason or exc}", path=key)
    if isinstance(exc, http.client.IncompleteRead):
        return BackendUnavailable(
            f"connection closed after {len(exc.partial)} bytes of the body (expected {exc.expected} more)", path=key
        )
    if isinstance(exc, http.client.HTTPException):
        return BackendUnavailable(f"HTTP protocol error: {type(exc).__name__}: {exc}", path=key)
    module = type(exc).__module__
    if module.startswith(("requests", "urllib3")):
        name = type(exc).__name__
        if "SSL" in name:
            return BackendUnavailable(f"TLS error: {name}", path=key)
        return BackendUnavailable(f"HTTP transport error: {name}", path=key)
    return None
