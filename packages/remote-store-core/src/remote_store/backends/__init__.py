"""Backend classes: the built-ins, and plugin backends resolved by class name on demand.

``from remote_store.backends import S3Backend`` works once ``remote-store-s3`` is
installed; before that it raises ``ImportError`` saying which package to install.
"""

from __future__ import annotations

from typing import Any

from remote_store.backends._local import LocalBackend
from remote_store.backends._memory import MemoryBackend

__all__ = ["HttpBackend", "LocalBackend", "MemoryBackend", "ReadOnlyHttpBackend"]


def __getattr__(name: str) -> Any:
    if name in ("HttpBackend", "ReadOnlyHttpBackend"):
        from remote_store.backends._http import HttpBackend

        return HttpBackend
    if not name.endswith("Backend"):
        raise AttributeError(f"module 'remote_store.backends' has no attribute {name!r}")
    from remote_store._plugins._host import KNOWN_PACKAGES, get_plugin_host
    from remote_store.errors import ConfigError

    host = get_plugin_host()
    for spec in host.backend_types().values():
        if spec.class_name == name:
            try:
                return spec.load()
            except ConfigError as exc:
                raise ImportError(str(exc)) from exc
    for package, class_name in KNOWN_PACKAGES.values():
        if class_name == name:
            raise ImportError(f"{name} is provided by {package}: pip install {package}")
    raise ImportError(f"no installed remote-store plugin provides {name}")


def __dir__() -> list[str]:
    return sorted(__all__)
