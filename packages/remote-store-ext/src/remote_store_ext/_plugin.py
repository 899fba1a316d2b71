"""remote-store-ext's plugin: ``./remote-store.yaml`` as a config source for ``open_store``,
the ``cache`` / ``observe`` / ``otel`` store middleware and the ``fsspec`` backend type.

Hook implementations only; PyYAML, fsspec and OpenTelemetry are imported when used (the
middleware factories and the backend class are named by ``"module:attr"`` strings).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from remote_store import BackendSpec, ConfigSource, MiddlewareSpec, hookimpl
from remote_store.errors import ConfigError

if TYPE_CHECKING:
    from remote_store import RegistryConfig

#: File names looked for in the current directory, in order.
YAML_NAMES = ("remote-store.yaml", "remote-store.yml")


def cwd_yaml() -> RegistryConfig | None:
    """Load ``./remote-store.yaml`` (or ``.yml``) if present, else None.

    Raises:
        ConfigError: The file exists but PyYAML is not installed, or it is invalid.
    """
    for name in YAML_NAMES:
        path = Path.cwd() / name
        if path.is_file():
            try:
                from remote_store_ext.yaml import from_yaml
            except ImportError:
                raise ConfigError(f'{path}: YAML config needs PyYAML: pip install "remote-store-ext[yaml]"') from None
            return from_yaml(path)
    return None


@hookimpl
def remote_store_register_config_sources(register: Callable[[ConfigSource], None]) -> None:
    """Register ``./remote-store.yaml`` (priority 25, after ``./remote-store.toml``)."""
    register(ConfigSource("cwd-yaml", cwd_yaml, 25, "./remote-store.yaml (remote-store-ext[yaml])"))


#: The middleware this plugin registers: (name, factory target, priority, description).
#: Lower priority wraps first (innermost): cache inside observe inside otel.
MIDDLEWARE = (
    ("cache", "remote_store_ext.middleware:CacheMiddleware", 10, "read-through cache (ttl, max_bytes, directory)"),
    ("observe", "remote_store_ext.middleware:ObserveMiddleware", 50, "one StoreEvent per call (callback, level)"),
    (
        "otel",
        "remote_store_ext.middleware:OtelMiddleware",
        60,
        "OpenTelemetry spans and metrics (remote-store-ext[otel])",
    ),
)


@hookimpl
def remote_store_register_middleware(register: Callable[[MiddlewareSpec], None]) -> None:
    """Register the ``cache``, ``observe`` and ``otel`` middleware (see `remote_store_ext.middleware`)."""
    for name, target, priority, description in MIDDLEWARE:
        register(MiddlewareSpec(name, target, priority, "remote-store-ext", description))


@hookimpl
def remote_store_register_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register ``type = "fsspec"`` (`remote_store_ext.fsspec_backend.FsspecBackend`, extra ``fsspec``)."""
    register(
        BackendSpec(
            "fsspec",
            "remote_store_ext.fsspec_backend:FsspecBackend",
            "remote-store-ext[fsspec]",
            description="any fsspec file system: protocol + storage_options",
        )
    )
