"""The one place where PyArrow's S3 ``OSError`` texts become `remote_store.errors` classes.

PyArrow reports AWS SDK failures as ``OSError`` whose message names the AWS error
(``AWS Error NETWORK_CONNECTION``, ``AWS Error ACCESS_DENIED`` …) and has no errno; the
deletes that go through boto3 raise botocore errors, mapped by `remote_store_s3._errors`.
"""

from __future__ import annotations

from collections.abc import Iterable

from remote_store.errors import BackendUnavailable, NotFound, PermissionDenied, RemoteStoreError
from remote_store_s3._errors import _scrub

#: Fragments of PyArrow / AWS SDK messages, by the error they become (first match wins).
_MARKERS: tuple[tuple[type[RemoteStoreError], tuple[str, ...]], ...] = (
    (NotFound, ("NO_SUCH_KEY", "NO_SUCH_BUCKET", "RESOURCE_NOT_FOUND", "HTTP response code: 404")),
    (
        PermissionDenied,
        ("ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH", "HTTP response code: 403"),
    ),
    (
        BackendUnavailable,
        (
            "NETWORK_CONNECTION",
            "curlCode",
            "Couldn't connect",
            "SLOW_DOWN",
            "THROTTLING",
            "SERVICE_UNAVAILABLE",
            "INTERNAL_FAILURE",
            "REQUEST_TIMEOUT",
            "HTTP response code: 5",
        ),
    ),
)


def translate(exc: Exception, key: str | None, *, bucket: str, secrets: Iterable[str] = ()) -> RemoteStoreError | None:
    """Map a PyArrow ``OSError`` or a botocore exception to a `remote_store.errors` class.

    Args:
        exc: The native exception.
        key: Backend key the operation was about (None for bucket-level calls).
        bucket: Bucket name, for messages.
        secrets: Credential strings that must never appear in the message.

    Returns:
        The typed error (the native one is chained by `Store`), or None for the portable mapping.
    """
    module = type(exc).__module__
    if module.startswith(("botocore", "urllib3", "boto3")):
        from remote_store_s3._errors import translate as translate_botocore

        return translate_botocore(exc, key, bucket=bucket, secrets=secrets)
    if isinstance(exc, FileNotFoundError):
        return NotFound(f"no such object in bucket {bucket!r}", path=key, backend="s3-pyarrow")
    if not isinstance(exc, OSError) or exc.errno is not None:
        return None
    text = _scrub(str(exc), secrets)
    for cls, fragments in _MARKERS:
        if any(fragment in text for fragment in fragments):
            return cls(f"{text} (bucket {bucket!r})", path=key, backend="s3-pyarrow")
    return None
