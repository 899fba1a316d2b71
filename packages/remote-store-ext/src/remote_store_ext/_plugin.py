"""remote-store-ext's plugin: ``./remote-store.yaml`` as a config source for ``open_store``.

Hook implementations only; PyYAML is imported when the file exists and is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from remote_store import ConfigSource, hookimpl
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
