"""`open_store`: a store by name (from the installed config sources) or by URL."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from remote_store import _path
from remote_store._config import BackendConfig, RegistryConfig
from remote_store._plugins._host import PluginHost, get_plugin_host
from remote_store._registry import Registry, build_backend, did_you_mean
from remote_store._store import Store
from remote_store.errors import ConfigError, ConfigKeyError


def _as_config(config: RegistryConfig | Mapping[str, Any] | str | os.PathLike[str]) -> RegistryConfig:
    if isinstance(config, RegistryConfig):
        return config
    if isinstance(config, Mapping):
        return RegistryConfig.from_dict(config)
    path = os.fspath(config)
    if path.endswith((".yaml", ".yml")):
        from remote_store._plugins._specs import import_target

        try:
            from_yaml = import_target("remote_store_ext.yaml:from_yaml")
        except ImportError:
            raise ConfigError(
                f"{path}: YAML config needs remote-store-ext[yaml] (pip install 'remote-store-ext[yaml]')"
            ) from None
        result: RegistryConfig = from_yaml(path)
        return result
    if os.path.basename(path) == "pyproject.toml":
        return RegistryConfig.from_toml(path, table="tool.remote-store")
    return RegistryConfig.from_toml(path)


def find_store_config(name: str, *, host: PluginHost | None = None) -> RegistryConfig:
    """Return the first config, in source-priority order, that defines store ``name``.

    Raises:
        ConfigKeyError: No source defines it (the message suggests the closest store name
            any source defines and lists the sources consulted); it is also a ``KeyError``.
        ConfigError: A source's file is invalid.
    """
    host = host or get_plugin_host()
    consulted: list[str] = []
    names: list[str] = []
    for source in host.config_sources():
        config = source.load()
        if config is None:
            continue
        consulted.append(f"{source.name} ({config.source or 'in-memory'})")
        if name in config.stores:
            return config
        names.extend(config.stores)
    where = (
        "; consulted: " + ", ".join(consulted)
        if consulted
        else "; no config source found (set REMOTE_STORE_CONFIG or create ./remote-store.toml)"
    )
    raise ConfigKeyError(f"no store named '{name}'{did_you_mean(name, names)}{where}")


def check_file_url(url: str) -> None:
    """Refuse a ``file://`` URL naming a host other than this machine.

    Only ``file:///path`` and ``file://localhost/path`` name local files; in
    ``file://otherhost/tmp/x`` (or ``file://tmp/x``, a missing slash) the host part would
    otherwise be silently ignored.

    Raises:
        ConfigError: The URL has a host other than ``localhost``.
    """
    if url[:7].lower() != "file://":
        return
    import urllib.parse  # lazily: keeps `import remote_store` cheap

    host = urllib.parse.urlsplit(url).netloc
    if host and host.lower() != "localhost":
        raise ConfigError(
            f"file:// URL names host '{host}': only local files can be opened; write file:///path "
            f"(three slashes) or file://localhost/path (got {url!r})"
        )


def open_url(url: str, *, host: PluginHost | None = None, **options: Any) -> Store:
    """Open a store from a URL: ``file:///data``, ``memory://``, ``s3://bucket/prefix`` …

    Extra keyword ``options`` are passed to the backend (overriding what the URL implies).

    Raises:
        ConfigError: No installed backend handles the scheme (naming the package to install),
            the URL is malformed, or a ``file://`` URL names a remote host (see `check_file_url`).
    """
    check_file_url(url)
    host = host or get_plugin_host()
    res = host.resolve_url(url)
    merged = {**dict(res.options), **options}
    backend = build_backend(BackendConfig(res.type, merged), host=host)
    return Store(backend, _path.normalize_path(res.root_path))


def open_store(
    name_or_url: str,
    *,
    config: RegistryConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    **options: Any,
) -> Store:
    """Open a store by name or URL.

    A string containing ``://`` is a URL (see `open_url`). Otherwise it is a store name,
    looked up in ``config`` when given (a `RegistryConfig`, a dict, or a TOML/YAML file
    path), else in the installed config sources in this order:

    1. the file named by the ``REMOTE_STORE_CONFIG`` environment variable;
    2. ``./remote-store.toml`` in the current directory;
    3. the ``[tool.remote-store]`` table of ``./pyproject.toml``;
    4. the user config file: ``$XDG_CONFIG_HOME/remote-store/config.toml``
       (default ``~/.config/remote-store/config.toml``);
    5. sources registered by plugins (by their priority).

    The returned store owns its backend: ``store.close()`` (or ``with``) releases it.

    Raises:
        ConfigKeyError: Unknown store name (a `ConfigError` that is also a ``KeyError``).
        ConfigError: Invalid config (naming the file and key path), unknown backend type or
            URL scheme (naming the package to install).
    """
    if "://" in name_or_url:
        return open_url(name_or_url, **options)
    cfg = _as_config(config) if config is not None else find_store_config(name_or_url)
    return Registry(cfg).get_store(name_or_url)
