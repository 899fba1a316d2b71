"""`open_store_async`: an `AsyncStore` by store name or URL, native async where a plugin provides it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from remote_store import _path
from remote_store._config import BackendConfig, RegistryConfig
from remote_store._open import _as_config, find_store_config
from remote_store._plugins._host import PluginHost, get_plugin_host
from remote_store._registry import Registry, build_backend
from remote_store.aio._backend import AsyncBackend
from remote_store.aio._store import AsyncStore
from remote_store.aio._sync_adapter import SyncBackendAdapter
from remote_store.errors import ConfigError, ConfigKeyError


def build_async_backend(config: BackendConfig, *, name: str = "", host: PluginHost | None = None) -> AsyncBackend:
    """Construct the async backend a `BackendConfig` describes.

    The plugin's native async class (`BackendSpec.async_target`) when it registers one,
    else the sync backend (built exactly as `remote_store.Registry` builds it) wrapped in a
    `SyncBackendAdapter`.

    Raises:
        ConfigError: Unknown type (naming the package to install), or options the class rejects.
    """
    host = host or get_plugin_host()
    cls = host.backend_spec(config.type).load_async()
    if cls is None:
        return SyncBackendAdapter(build_backend(config, name=name, host=host))
    where = f"backends.{name}.options" if name else "options"
    try:
        return cls(**dict(config.options))
    except ConfigError:
        raise
    except TypeError as exc:
        raise ConfigError(
            f"{where}: invalid options for async backend type '{config.type}': {exc}", path=where
        ) from None


def open_store_async(
    name_or_url: str,
    *,
    config: RegistryConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    host: PluginHost | None = None,
    **options: Any,
) -> AsyncStore:
    """Open an `AsyncStore` by store name or URL, like `remote_store.open_store`. No I/O.

    A string containing ``://`` is a URL (``memory://``, ``file:///data``, ``s3://bucket/p``);
    extra keyword ``options`` go to the backend. Otherwise it is a store name looked up in
    ``config`` or in the installed config sources (same order as `open_store`).

    The backend is the plugin's native async class when the plugin registers one
    (`BackendSpec.async_target`) and the store has no middleware; otherwise the sync
    backend (with its middleware) runs in a `SyncBackendAdapter`. The store owns its
    backend: ``await store.aclose()`` (or ``async with``) releases it.

    Raises:
        ConfigKeyError: Unknown store name (a `ConfigError` and a ``KeyError``).
        ConfigError: Invalid config, unknown backend type or URL scheme (naming the package).
    """
    host = host or get_plugin_host()
    if "://" in name_or_url:
        res = host.resolve_url(name_or_url)
        merged = {**dict(res.options), **options}
        backend = build_async_backend(BackendConfig(res.type, merged), host=host)
        return AsyncStore(backend, _path.normalize_path(res.root_path))
    cfg = _as_config(config) if config is not None else find_store_config(name_or_url, host=host)
    profile = cfg.stores.get(name_or_url)
    if profile is None:
        raise ConfigKeyError(f"no store named '{name_or_url}'")
    backend_cfg = cfg.backends.get(profile.backend)
    native = backend_cfg is not None and not profile.middleware
    if backend_cfg is not None and native and host.backend_spec(backend_cfg.type).async_target is not None:
        return AsyncStore(
            build_async_backend(backend_cfg, name=profile.backend, host=host),
            profile.root_path,
            strict_keys=profile.strict_keys,
        )
    store = Registry(cfg, host=host).get_store(name_or_url)
    return AsyncStore(SyncBackendAdapter(store.backend), str(store.root_path), strict_keys=store.strict_keys)
