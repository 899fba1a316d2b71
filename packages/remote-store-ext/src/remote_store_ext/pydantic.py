"""Store configuration from a Pydantic settings model (``pip install "remote-store-ext[pydantic]"``).

An application that already keeps its settings in a ``pydantic_settings.BaseSettings`` model
can hold its stores there, in the shape of the TOML config::

    from pydantic import BaseModel, SecretStr
    from pydantic_settings import BaseSettings

    class S3Options(BaseModel):
        bucket: str
        secret_access_key: SecretStr

    class Backend(BaseModel):
        type: str
        options: S3Options

    class AppSettings(BaseSettings):
        backends: dict[str, Backend] = {}
        stores: dict[str, dict[str, str]] = {}

    settings = AppSettings()
    config = from_pydantic(settings)                 # a RegistryConfig
    register_settings(settings)                      # or: let open_store() find them
    store = remote_store.open_store("reports")

Plain dicts work as well as nested models. ``SecretStr``/``SecretBytes`` values become
`remote_store.Secret` (whatever their key is called); credential-named keys are wrapped as
in every config. ``${VAR}`` / ``${VAR:-default}`` placeholders are resolved per backend,
as `remote_store.RegistryConfig.from_dict` does, secret values included.

**Discovery seam.** `register_settings` registers the model as a config source of the
plugin host (``remote_store_register_config_sources``), consulted by
`remote_store.open_store` at priority 15 by default: after ``$REMOTE_STORE_CONFIG``
(priority 10, so an operator can still point the app at another file) and before
``./remote-store.toml`` (20) and the other files. The model is read again at each look-up,
so later changes to it are seen. `unregister_settings` removes it. ``remote-store plugins``
lists it under "Config sources".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

try:
    import pydantic as _pydantic
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ModuleNotFoundError(
        'remote_store.ext.pydantic needs pydantic-settings: pip install "remote-store-ext[pydantic]"', name="pydantic"
    ) from exc

from remote_store import (
    BackendConfig,
    ConfigSource,
    MiddlewareConfig,
    PluginHost,
    RegistryConfig,
    Secret,
    StoreProfile,
    get_plugin_host,
    hookimpl,
)
from remote_store.errors import ConfigError

#: Default priority of `register_settings` (lower is consulted first).
DEFAULT_PRIORITY = 15
_PLUGIN_PREFIX = "remote_store_ext.pydantic:"


def _plain(value: Any, path: tuple[str, ...], secrets: set[tuple[str, ...]]) -> Any:
    """Pydantic values → plain data; records the key path of every SecretStr/SecretBytes."""
    if isinstance(value, (_pydantic.SecretStr, _pydantic.SecretBytes)):
        secrets.add(path)
        raw = value.get_secret_value()
        return raw.decode("utf-8") if isinstance(raw, bytes) else raw
    if isinstance(value, _pydantic.BaseModel):
        fields = type(value).model_fields
        return {name: _plain(getattr(value, name), (*path, name), secrets) for name in fields}
    if isinstance(value, Mapping):
        return {str(k): _plain(v, (*path, str(k)), secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, (*path, str(i)), secrets) for i, v in enumerate(value)]
    if isinstance(value, (PurePath, _pydantic.AnyUrl)):
        return str(value)
    return value


def _locate(settings: Any, field: str | None) -> tuple[Any, str]:
    if field:
        value = settings
        for part in field.split("."):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif hasattr(value, part):
                value = getattr(value, part)
            else:
                raise ConfigError(f"{type(settings).__name__} has no field '{field}'")
        return value, field
    names = set(type(settings).model_fields)
    if names & {"backends", "stores"}:
        return settings, ""
    if "remote_store" in names:
        return settings.remote_store, "remote_store"
    raise ConfigError(
        f"{type(settings).__name__} has no 'backends'/'stores' fields and no 'remote_store' field; "
        "pass field='…' naming the part of the model that holds the store config"
    )


def _wrap(options: Mapping[str, Any], paths: set[tuple[str, ...]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in options.items():
        if (key,) in paths and isinstance(value, str):
            out[key] = Secret(value)
        elif isinstance(value, Mapping):
            out[key] = _wrap(value, {p[1:] for p in paths if p[:1] == (key,)})
        else:
            out[key] = value
    return out


def from_pydantic(
    settings: Any,
    *,
    field: str | None = None,
    resolve_env_vars: bool = True,
    environ: Mapping[str, str] | None = None,
) -> RegistryConfig:
    """Build a `RegistryConfig` from a Pydantic settings model (or any ``pydantic.BaseModel``).

    Args:
        settings: The model instance, e.g. a ``pydantic_settings.BaseSettings``.
        field: Dotted field holding the config (``"storage"``, ``"app.storage"``); None = the
            model itself when it has ``backends``/``stores`` fields, else its
            ``remote_store`` field. The value may be a nested model or a plain dict.
        resolve_env_vars: Replace ``${VAR}`` / ``${VAR:-default}`` placeholders (per backend:
            an unset variable fails only the stores on that backend, when they are opened).
        environ: Variables for placeholders (default ``os.environ``).

    Returns:
        The config; ``SecretStr``/``SecretBytes`` values are `remote_store.Secret`; its
        ``source`` names the settings class (for messages).

    Raises:
        ConfigError: ``settings`` is not a Pydantic model, the field is missing, or the content
            is invalid as for `RegistryConfig.from_dict` (the message names the key path).
    """
    if not isinstance(settings, _pydantic.BaseModel):
        raise ConfigError(f"from_pydantic needs a pydantic model instance, got {type(settings).__name__}")
    value, where = _locate(settings, field)
    secrets: set[tuple[str, ...]] = set()
    data = _plain(value, (), secrets)
    source = f"pydantic settings {type(settings).__name__}" + (f".{where}" if where else "")
    config = RegistryConfig.from_dict(data, resolve_env_vars=resolve_env_vars, environ=environ, source=source)
    if not secrets:
        return config
    backends = {
        name: BackendConfig(
            b.type, _wrap(b.options, {p[3:] for p in secrets if p[:3] == ("backends", name, "options")}), b.env_error
        )
        for name, b in config.backends.items()
    }
    stores = {
        name: StoreProfile(
            s.backend,
            s.root_path,
            tuple(
                MiddlewareConfig(
                    m.name,
                    _wrap(
                        m.options,
                        {p[5:] for p in secrets if p[:5] == ("stores", name, "middleware", str(i), "options")},
                    ),
                )
                for i, m in enumerate(s.middleware)
            ),
            s.env_error,
        )
        for name, s in config.stores.items()
    }
    return RegistryConfig(backends, stores, config.source)


@dataclass(frozen=True)
class _SettingsSource:
    """The plugin object `register_settings` registers: one config-source hook."""

    settings: Any
    name: str
    priority: int
    field: str | None

    def load(self) -> RegistryConfig:
        return from_pydantic(self.settings, field=self.field)

    @hookimpl
    def remote_store_register_config_sources(self, register: Any) -> None:
        register(
            ConfigSource(
                self.name,
                self.load,
                self.priority,
                f"pydantic settings {type(self.settings).__name__} (register_settings)",
            )
        )


def register_settings(
    settings: Any,
    *,
    name: str = "pydantic",
    priority: int = DEFAULT_PRIORITY,
    field: str | None = None,
    host: PluginHost | None = None,
) -> ConfigSource:
    """Let `remote_store.open_store` find the stores defined in ``settings``.

    Registering again under the same ``name`` replaces the earlier model.

    Args:
        settings: The model instance (see `from_pydantic`); read again at every look-up.
        name: Source name shown in messages and by ``remote-store plugins``.
        priority: Lower is consulted first (built-ins: 10 ``$REMOTE_STORE_CONFIG``,
            20 ``./remote-store.toml``, 25 ``./remote-store.yaml``, 30 ``pyproject.toml``,
            40 the user config).
        field: As for `from_pydantic`.
        host: Plugin host (default: the process-wide one).

    Returns:
        The registered `remote_store.ConfigSource`.

    Raises:
        ConfigError: ``settings`` is not a Pydantic model, or it holds no store config
            (checked now, so a wrong model fails at registration, not at the first look-up).
    """
    if not isinstance(settings, _pydantic.BaseModel):
        raise ConfigError(f"register_settings needs a pydantic model instance, got {type(settings).__name__}")
    _locate(settings, field)
    host = host or get_plugin_host()
    unregister_settings(name, host=host)
    plugin = _SettingsSource(settings, name, priority, field)
    host.register(plugin, name=_PLUGIN_PREFIX + name)
    return next(s for s in host.config_sources() if s.name == name and s.load == plugin.load)


def unregister_settings(name: str = "pydantic", *, host: PluginHost | None = None) -> bool:
    """Remove a model registered with `register_settings`.

    Args:
        name: The name it was registered under.
        host: Plugin host (default: the process-wide one).

    Returns:
        True when one was registered under ``name``.
    """
    host = host or get_plugin_host()
    if not host.pm.has_plugin(_PLUGIN_PREFIX + name):
        return False
    host.unregister(_PLUGIN_PREFIX + name)
    return True


__all__ = ["DEFAULT_PRIORITY", "from_pydantic", "register_settings", "unregister_settings"]
