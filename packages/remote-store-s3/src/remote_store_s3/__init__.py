"""remote-store-s3: Amazon S3 and S3-compatible object stores for remote-store, on boto3.

Installing the distribution makes ``type = "s3"`` and ``s3://bucket/prefix`` work::

    import remote_store

    store = remote_store.open_store("s3://my-bucket/reports?region=eu-west-1")

or build the backend directly::

    from remote_store import Store
    from remote_store_s3 import S3Backend

    store = Store(S3Backend("my-bucket", prefix="reports", region="eu-west-1"))

boto3 is imported only when `S3Backend` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remote_store_s3._options import S3Options

if TYPE_CHECKING:
    from remote_store_s3._backend import S3Backend

__all__ = ["S3Backend", "S3Options"]


def __getattr__(name: str) -> Any:
    if name == "S3Backend":
        from remote_store_s3._backend import S3Backend

        return S3Backend
    raise AttributeError(f"module 'remote_store_s3' has no attribute {name!r}")
