"""The one place where azure-core / azure-storage-blob exceptions become `remote_store.errors`."""

from __future__ import annotations

import re

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)

BACKEND = "azure"

#: Service error codes (``x-ms-error-code``) with a fixed meaning.
_CODE_MAP: dict[str, type[RemoteStoreError]] = {
    "BlobNotFound": NotFound,
    "ContainerNotFound": NotFound,
    "CannotVerifyCopySource": NotFound,
    "ResourceNotFound": NotFound,
    "BlobAlreadyExists": AlreadyExists,
    "ConditionNotMet": AlreadyExists,
    "TargetConditionNotMet": AlreadyExists,
    "AuthorizationFailure": PermissionDenied,
    "AuthorizationPermissionMismatch": PermissionDenied,
    "AuthorizationResourceTypeMismatch": PermissionDenied,
    "AuthenticationFailed": PermissionDenied,
    "InsufficientAccountPermissions": PermissionDenied,
    "InvalidResourceName": InvalidPath,
    "InvalidUri": InvalidPath,
    "ServerBusy": BackendUnavailable,
    "InternalError": BackendUnavailable,
    "OperationTimedOut": BackendUnavailable,
    "ContainerBeingDeleted": BackendUnavailable,
}

_SECRET_PATTERNS = (
    re.compile(r"(sig=)[^&\s'\"]+", re.IGNORECASE),
    re.compile(r"(AccountKey=)[^;\s'\"]+", re.IGNORECASE),
    re.compile(r"(SharedAccessSignature=)[^;\s'\"]+", re.IGNORECASE),
    re.compile(r"(Authorization:\s*)\S+(\s+\S+)?", re.IGNORECASE),
    re.compile(r"(signature found in the HTTP request ')[^']*", re.IGNORECASE),
)


def redact(text: str) -> str:
    """Remove SAS signatures, account keys and Authorization values from ``text``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1REDACTED", text)
    return text


def error_code(exc: BaseException) -> str | None:
    """The service's error code of an azure exception (``"BlobNotFound"``), or None."""
    code = getattr(exc, "error_code", None)
    if code is None:
        return None
    return str(getattr(code, "value", code))


def _summary(exc: AzureError) -> str:
    code = error_code(exc)
    status = getattr(exc, "status_code", None)
    first = (str(getattr(exc, "reason", None) or exc.message or "") or type(exc).__name__).splitlines()[0]
    first = first.replace("Operation returned an invalid status ", "").strip("'\"")
    label = code or (f"HTTP {status}" if status else type(exc).__name__)
    return redact(f"{label}: {first}"[:300])


def _drop_responses(exc: BaseException | None) -> None:
    """Drop ``response`` from every azure error of the chain (it keeps the signed request URL).

    Status, error code and message stay on the exception, so it is still useful to debug.
    """
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        if isinstance(e, AzureError) and getattr(e, "response", None) is not None:
            e.response = None  # type: ignore[attr-defined]
        todo += [e.__cause__, e.__context__]


def translate(exc: BaseException, key: str | None, *, container: str | None = None) -> RemoteStoreError | None:
    """Map an azure-core / azure-storage-blob exception to a `remote_store.errors` class.

    Mapping (first match wins): service error code (``BlobNotFound``/``ContainerNotFound`` →
    `NotFound`; ``BlobAlreadyExists``/``ConditionNotMet`` → `AlreadyExists`; authorization
    failures → `PermissionDenied`; ``ServerBusy``/``InternalError`` → `BackendUnavailable`),
    then the exception class / HTTP status (404 → `NotFound`, 409 and 412 → `AlreadyExists`,
    401/403 → `PermissionDenied`, 408/429/5xx → `BackendUnavailable`), then connection
    errors after the retry policy gave up (`ServiceRequestError`, `ServiceResponseError`,
    credential failures without a response) → `BackendUnavailable`.

    Args:
        exc: The native exception.
        key: The key the operation was about (for the error's ``path``).
        container: The container name, named in messages about a missing container.

    Returns:
        The translated error, or None when ``exc`` is not an azure exception.
    """
    _drop_responses(exc)
    if isinstance(exc, RemoteStoreError):
        return exc
    if not isinstance(exc, AzureError):
        return None
    code = error_code(exc)
    status = getattr(exc, "status_code", None)
    summary = _summary(exc)
    if code == "InvalidBlockList":
        return RemoteStoreError(
            "InvalidBlockList: the service refused this upload's block list although its blocks were staged",
            path=key,
            backend=BACKEND,
        )
    if code == "ContainerNotFound":
        return NotFound(f"container {container!r} does not exist", path=key, backend=BACKEND)
    cls = _CODE_MAP.get(code or "")
    if cls is None:
        if isinstance(exc, ResourceNotFoundError) or status == 404:
            cls = NotFound
        elif isinstance(exc, (ResourceExistsError, ResourceModifiedError)) or status in (409, 412):
            cls = AlreadyExists
        elif status in (401, 403):
            cls = PermissionDenied
        elif isinstance(exc, ClientAuthenticationError):
            cls = BackendUnavailable
            summary = f"authentication failed: {summary}"
        elif status in (408, 429) or (isinstance(status, int) and status >= 500):
            cls = BackendUnavailable
        elif isinstance(exc, (ServiceRequestError, ServiceResponseError)):
            cls = BackendUnavailable
            summary = f"service unreachable: {summary}"
        elif isinstance(exc, HttpResponseError):
            cls = RemoteStoreError
        else:
            cls = RemoteStoreError
    return cls(summary, path=key, backend=BACKEND)
