"""Plugin hooks: registers the ``azure`` backend type and the ``az://`` / ``azure://`` URL schemes.

Imports no Azure SDK: the backend class is named by a string target and imported only
when a store of type ``azure`` is built.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from remote_store import BackendSpec, hookimpl


@hookimpl
def remote_store_register_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register `AzureBackend` as type ``azure`` with schemes ``az`` and ``azure``; its native
    async twin `AsyncAzureBackend` (``remote_store.aio.AsyncAzureBackend``) is the async target."""
    register(
        BackendSpec(
            "azure",
            "remote_store_azure._backend:AzureBackend",
            "remote-store-azure",
            ("az", "azure"),
            "remote_store_azure._plugin:azure_from_url",
            "Azure Blob Storage (azure-storage-blob)",
            async_target="remote_store_azure._aio_backend:AsyncAzureBackend",
        )
    )


def azure_from_url(url: urllib.parse.SplitResult) -> tuple[dict[str, object], str]:
    """``az://container/prefix`` or ``az://container@account/prefix`` → options and store root.

    The account (and credentials) otherwise come from the environment
    (``AZURE_STORAGE_CONNECTION_STRING``, ``AZURE_STORAGE_ACCOUNT_NAME`` …).

    Returns:
        ``({"container": ..., ["account_name": ...]}, "prefix")``.
    """
    container, _, account = url.netloc.partition("@")
    options: dict[str, object] = {"container": urllib.parse.unquote(container)}
    if account:
        options["account_name"] = urllib.parse.unquote(account.split(".", 1)[0])
    return options, urllib.parse.unquote(url.path).strip("/")
