"""remote-store-jsondir: an example third-party backend (one JSON document per file).

The backend class is loaded lazily so ``import remote_store_jsondir`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["JsonDirBackend"]


def __getattr__(name: str) -> Any:
    if name == "JsonDirBackend":
        from remote_store_jsondir._backend import JsonDirBackend

        return JsonDirBackend
    raise AttributeError(f"module 'remote_store_jsondir' has no attribute {name!r}")
