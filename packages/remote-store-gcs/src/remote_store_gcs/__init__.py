"""remote-store-gcs: Google Cloud Storage for remote-store, on google-cloud-storage.

Installing the distribution makes ``type = "gcs"`` and ``gs://bucket/prefix`` work::

    import remote_store

    store = remote_store.open_store("gs://my-bucket/reports?project=my-project")

or build the backend directly::

    from remote_store import Store
    from remote_store_gcs import GCSBackend

    store = Store(GCSBackend("my-bucket", prefix="reports", credentials="/path/key.json"))

google-cloud-storage is imported only when `GCSBackend` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remote_store_gcs._options import GCSOptions

if TYPE_CHECKING:
    from remote_store_gcs._backend import GCSBackend

__all__ = ["GCSBackend", "GCSOptions"]


def __getattr__(name: str) -> Any:
    if name == "GCSBackend":
        from remote_store_gcs._backend import GCSBackend

        return GCSBackend
    raise AttributeError(f"module 'remote_store_gcs' has no attribute {name!r}")
