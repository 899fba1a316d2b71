"""Building the azure-storage-blob client of an `AzureBackend` from its `AzureOptions`.

Retries, timeouts and TLS verification are the SDK's own machinery: `Backoff` is an
azure-storage `ExponentialRetry` (the storage retry policy: connection errors, timeouts, 408
and 5xx, with the storage-specific secondary-host and stream-rewind handling) narrowed by
the shared options (``retries``, ``retry_backoff`` doubling up to ``retry_backoff_max``,
``retry_budget``, ``retry_on``; see `remote_store_azure._retry`); ``connect_timeout`` / ``read_timeout`` /
``verify`` are the transport's ``connection_timeout`` / ``read_timeout`` /
``connection_verify``.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from azure.storage.blob import BlobServiceClient

from remote_store.errors import ConfigError
from remote_store_azure._options import (
    ENV_ACCOUNT_KEY,
    ENV_ACCOUNT_NAME,
    ENV_CONNECTION_STRING,
    ENV_SAS_TOKEN,
    AzureOptions,
    MiB,
    _env,
)
from remote_store_azure._retry import Backoff


def client_kwargs(o: AzureOptions) -> dict[str, Any]:
    """Keyword arguments of `BlobServiceClient` for ``o``: retry policy, timeouts, TLS, sizes."""
    kwargs: dict[str, Any] = {
        "retry_policy": Backoff(
            o.retries, o.retry_backoff, o.retry_backoff_max, budget=o.retry_budget, retry_on=o.retry_on
        ),
        "connection_verify": o.verify,
        "connection_timeout": o.connect_timeout,
        "read_timeout": o.read_timeout,
        "max_single_put_size": o.max_single_put_size,
        "max_block_size": o.block_size,
        "max_chunk_get_size": o.block_size,
        "max_single_get_size": max(o.block_size, 32 * MiB),
    }
    if o.api_version:
        kwargs["api_version"] = o.api_version
    return kwargs


def account_from_url(url: str) -> str | None:
    """Account name from ``https://<name>.blob…`` or path-style ``http://host:port/<name>``."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ".blob." in host:
        return host.split(".", 1)[0]
    segment = parts.path.strip("/").split("/", 1)[0]
    return segment or None


def credential(o: AzureOptions, account_name: str | None, account_url: str) -> Any:
    """The SDK credential for ``o`` (see `AzureOptions` for the order).

    Raises:
        ConfigError: An account key without an account name, or no credential at all and
            azure-identity is not installed.
    """
    key = o.account_key.reveal() if o.account_key else _env(ENV_ACCOUNT_KEY)
    if key:
        name = account_name or account_from_url(account_url)
        if not name:
            raise ConfigError("azure option 'account_name': needed with account_key", path="account_name")
        return {"account_name": name, "account_key": key}
    sas = o.sas_token.reveal() if o.sas_token else _env(ENV_SAS_TOKEN)
    if sas:
        return sas.lstrip("?")
    if o.credential is not None:
        return o.credential
    if o.anonymous:
        return None
    try:
        from azure.identity import DefaultAzureCredential  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise ConfigError(
            "azure option 'credential': no credentials given (connection_string, account_key, sas_token, "
            "credential or anonymous=true) and azure-identity is not installed: "
            "pip install remote-store-azure[identity]",
            path="credential",
        ) from None
    return DefaultAzureCredential()


def build_service(o: AzureOptions) -> BlobServiceClient:
    """A `BlobServiceClient` for ``o`` (connection string first, else account URL + credential).

    Raises:
        ConfigError: A malformed connection string, or see `credential`.
    """
    kwargs = client_kwargs(o)
    conn = o.connection_string.reveal() if o.connection_string else None
    if conn is None and not (o.account_url or o.account_name):
        conn = _env(ENV_CONNECTION_STRING)
    if conn:
        explicit = None
        if o.account_key or o.sas_token or o.credential is not None:
            explicit = credential(o, o.account_name, o.account_url or "")
        try:
            return BlobServiceClient.from_connection_string(conn, credential=explicit, **kwargs)
        except ValueError:
            raise ConfigError(
                "azure option 'connection_string': malformed connection string", path="connection_string"
            ) from None
    account_name = o.account_name or (None if o.account_url else _env(ENV_ACCOUNT_NAME))
    url = o.account_url or f"https://{account_name}.blob.core.windows.net"
    return BlobServiceClient(url, credential=credential(o, account_name, url), **kwargs)
