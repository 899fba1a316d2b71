"""remote-store: one file-storage API over local disk, memory, HTTP, S3, SFTP, Azure and SQL.

A `Store` is a folder; which backend holds it is configuration::

    from remote_store import Store
    from remote_store.backends import LocalBackend

    store = Store(LocalBackend(root="/tmp/data"))
    store.write_text("hello.txt", "Hello")
    store.read_text("hello.txt")

Or by name from config / by URL: ``remote_store.open_store("reports")``,
``remote_store.open_store("s3://bucket/prefix")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remote_store._backend import AtomicWriter, Backend, SpooledAtomicWriter
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._content import WritableContent
from remote_store._models import (
    ContentDigest,
    FileInfo,
    FolderEntry,
    FolderInfo,
    ResolutionPlan,
    WriteResult,
    WriteSource,
)
from remote_store._secret import Secret
from remote_store._store import AtomicWriteHandle, Store
from remote_store._streams import RangeReader, SeekableReader, open_range_reader
from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    ConfigKeyError,
    ContentChanged,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)

if TYPE_CHECKING:
    from pluggy import HookimplMarker

    from remote_store._config import BackendConfig, MiddlewareConfig, RegistryConfig, StoreProfile
    from remote_store._env import resolve_env
    from remote_store._open import open_store, open_url
    from remote_store._plugins._host import PluginHost, PluginInfo, get_plugin_host, plugins, use_plugin_host
    from remote_store._plugins._specs import BackendSpec, ConfigSource, MiddlewareSpec, UrlResolution
    from remote_store._registry import Registry

    hookimpl: HookimplMarker

__version__ = "0.1.0"

# Names whose modules import pluggy, the plugin machinery or the config layer: loaded on
# first access so ``import remote_store`` stays cheap and never discovers plugins.
_LAZY = {
    "BackendConfig": "remote_store._config",
    "MiddlewareConfig": "remote_store._config",
    "RegistryConfig": "remote_store._config",
    "StoreProfile": "remote_store._config",
    "resolve_env": "remote_store._env",
    "open_store": "remote_store._open",
    "open_url": "remote_store._open",
    "Registry": "remote_store._registry",
    "PluginHost": "remote_store._plugins._host",
    "PluginInfo": "remote_store._plugins._host",
    "get_plugin_host": "remote_store._plugins._host",
    "use_plugin_host": "remote_store._plugins._host",
    "plugins": "remote_store._plugins._host",
    "BackendSpec": "remote_store._plugins._specs",
    "ConfigSource": "remote_store._plugins._specs",
    "MiddlewareSpec": "remote_store._plugins._specs",
    "UrlResolution": "remote_store._plugins._specs",
    "hookimpl": "remote_store._plugins._hookspecs",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'remote_store' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


__all__ = [
    "AlreadyExists",
    "AtomicWriteHandle",
    "AtomicWriter",
    "Backend",
    "BackendConfig",
    "BackendSpec",
    "BackendUnavailable",
    "Capability",
    "CapabilityNotSupported",
    "CapabilitySet",
    "ConfigError",
    "ConfigKeyError",
    "ConfigSource",
    "ContentChanged",
    "ContentDigest",
    "DirectoryNotEmpty",
    "FileInfo",
    "FolderEntry",
    "FolderInfo",
    "InvalidPath",
    "MiddlewareConfig",
    "MiddlewareSpec",
    "NotFound",
    "PermissionDenied",
    "PluginHost",
    "PluginInfo",
    "RangeReader",
    "Registry",
    "RegistryConfig",
    "RemoteStoreError",
    "ResolutionPlan",
    "Secret",
    "SeekableReader",
    "SpooledAtomicWriter",
    "Store",
    "StoreProfile",
    "UrlResolution",
    "WritableContent",
    "WriteResult",
    "WriteSource",
    "__version__",
    "get_plugin_host",
    "hookimpl",
    "open_range_reader",
    "open_store",
    "open_url",
    "plugins",
    "resolve_env",
    "use_plugin_host",
]
