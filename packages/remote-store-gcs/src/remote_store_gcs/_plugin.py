"""Plugin hooks: registers the ``gcs`` backend type and the ``gs://`` / ``gcs://`` URL schemes.

Imports no Google SDK: the backend class is named by a string target and imported only
when a store of type ``gcs`` is built.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from remote_store import BackendSpec, hookimpl
from remote_store.errors import ConfigError


@hookimpl
def remote_store_register_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register ``type = "gcs"`` (`remote_store_gcs.GCSBackend`) with the ``gs`` and ``gcs`` schemes."""
    register(
        BackendSpec(
            "gcs",
            "remote_store_gcs._backend:GCSBackend",
            "remote-store-gcs",
            ("gs", "gcs"),
            "remote_store_gcs._plugin:from_url",
            "Google Cloud Storage (google-cloud-storage)",
        )
    )


def from_url(url: urllib.parse.SplitResult) -> tuple[dict[str, object], str]:
    """``gs://bucket/prefix?project=…&endpoint=…`` → ``GCSBackend`` options and the store root.

    The bucket is the host part, the path the store's root folder; every query parameter is
    passed as a `GCSOptions` field (converted and validated when the backend is built).

    Raises:
        ConfigError: No bucket, credentials in the URL, or a repeated query parameter.
    """
    if not url.netloc:
        raise ConfigError("gs URL needs a bucket: gs://bucket/prefix")
    if "@" in url.netloc:
        raise ConfigError("gs URL must not carry credentials; use the credentials option or ADC")
    options: dict[str, object] = {"bucket": urllib.parse.unquote(url.netloc)}
    for name, value in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
        if name in options:
            raise ConfigError(f"gs URL repeats the query parameter {name!r}")
        options[name] = value
    return options, urllib.parse.unquote(url.path).strip("/")
