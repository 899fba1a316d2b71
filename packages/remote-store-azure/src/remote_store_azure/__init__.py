"""remote-store-azure: Azure Blob Storage backend for remote-store.

Installing the distribution registers backend type ``azure`` and the ``az://`` /
``azure://`` URL schemes. `AzureBackend` is imported lazily (first attribute access), so
``import remote_store_azure`` does not import the Azure SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remote_store_azure._backend import AzureBackend
    from remote_store_azure._options import AzureOptions

__all__ = ["AzureBackend", "AzureOptions"]


def __getattr__(name: str) -> Any:
    if name == "AzureBackend":
        from remote_store_azure._backend import AzureBackend

        return AzureBackend
    if name == "AzureOptions":
        from remote_store_azure._options import AzureOptions

        return AzureOptions
    raise AttributeError(f"module 'remote_store_azure' has no attribute {name!r}")
