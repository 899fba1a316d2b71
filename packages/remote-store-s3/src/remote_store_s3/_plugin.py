"""Plugin hooks: registers the ``s3`` backend type and the ``s3://`` URL scheme, and ``s3-pyarrow``.

Imports no boto3: the backend class is named by a string target and imported only
when a store of type ``s3`` is built.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from remote_store import BackendSpec, hookimpl
from remote_store.errors import ConfigError


@hookimpl
def remote_store_register_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register ``type = "s3"`` (`remote_store_s3.S3Backend`) with the ``s3`` URL scheme, and
    ``type = "s3-pyarrow"`` (`S3PyArrowBackend`, PyArrow's ``S3FileSystem``; extra ``pyarrow``)."""
    register(
        BackendSpec(
            "s3",
            "remote_store_s3._backend:S3Backend",
            "remote-store-s3",
            ("s3",),
            "remote_store_s3._plugin:from_url",
            "Amazon S3 and S3-compatible object stores (boto3)",
        )
    )
    register(
        BackendSpec(
            "s3-pyarrow",
            "remote_store_s3._pyarrow_backend:S3PyArrowBackend",
            "remote-store-s3[pyarrow]",
            (),
            None,
            "Amazon S3 and S3-compatible object stores through PyArrow's C++ S3FileSystem",
        )
    )


def from_url(url: urllib.parse.SplitResult) -> tuple[dict[str, object], str]:
    """``s3://bucket/prefix?endpoint_url=…&region=…`` → ``S3Backend`` options and the store root.

    The bucket is the URL's host part, the path becomes the store's root folder, and every
    query parameter is passed as an `S3Options` field (strings are converted to the field's
    type by `S3Options`; unknown names raise `ConfigError` when the backend is built).

    Raises:
        ConfigError: The URL has no bucket, or repeats a query parameter.
    """
    if not url.netloc:
        raise ConfigError("s3 URL needs a bucket: s3://bucket/prefix")
    if "@" in url.netloc:
        raise ConfigError("s3 URL must not carry credentials; use options or the AWS credential chain")
    options: dict[str, object] = {"bucket": urllib.parse.unquote(url.netloc)}
    for name, value in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
        if name in options:
            raise ConfigError(f"s3 URL repeats the query parameter {name!r}")
        options[name] = value
    return options, urllib.parse.unquote(url.path).strip("/")
