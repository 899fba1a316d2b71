"""`Registry`: builds backends and stores from a `RegistryConfig`, lazily."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from remote_store._backend import Backend
from remote_store._config import BackendConfig, RegistryConfig
from remote_store._log import get_logger
from remote_store._plugins._host import PluginHost, get_plugin_host
from remote_store._store import Store
from remote_store.errors import ConfigError, ConfigKeyError, RemoteStoreError

log = get_logger("remote_store")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` naming the closest of ``choices`` (`difflib`), or ``""``."""
    import difflib  # lazily: only error messages pay for it

    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def build_backend(
    config: BackendConfig, *, name: str = "", host: PluginHost | None = None, source: str | None = None
) -> Backend:
    """Construct the backend a `BackendConfig` describes.

    Args:
        config: Type and options.
        name: The backend's name in the config (for messages: ``backends.<name>``).
        host: Plugin host resolving the type (default: the process-wide one).
        source: Config file name (for messages).

    Raises:
        ConfigKeyError: An environment variable its options use is unset (`BackendConfig.env_error`).
        ConfigError: Unknown type (naming the key path, the file, the closest installed type
            and the package to install); an unknown option or a missing required option
            (naming it and listing the options the backend type accepts); options the
            backend class rejects (naming the key path ``backends.<name>.options``).
    """
    host = host or get_plugin_host()
    config.check_env(name)
    where = f"backends.{name}.options" if name else "options"
    in_file = f" in {source}" if source else ""
    types = host.backend_types()
    if config.type not in types:
        try:
            host.backend_spec(config.type)
        except ConfigError as exc:
            type_key = f"backends.{name}.type" if name else "type"
            raise ConfigError(
                f"{type_key}: {exc.message}{did_you_mean(config.type, types)}{in_file}", path=type_key
            ) from None
    cls = host.backend_class(config.type)
    try:
        sig = inspect.signature(cls)
        params = {k: p for k, p in sig.parameters.items() if k != "self"}
        accepted = ", ".join(sorted(k for k, p in params.items() if p.kind not in _VARIADIC)) or "none"
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            unknown = sorted(set(config.options) - set(params))
            if unknown:
                hint = did_you_mean(unknown[0], params) if len(unknown) == 1 else ""
                raise ConfigError(
                    f"{where}: unknown option(s) {unknown} for backend type '{config.type}'"
                    f"{hint} (accepted: {accepted}){in_file}",
                    path=where,
                )
        missing = [
            k
            for k, p in params.items()
            if p.default is inspect.Parameter.empty and p.kind not in _VARIADIC and k not in config.options
        ]
        if missing:
            raise ConfigError(
                f"{where}: missing required option(s) {', '.join(repr(m) for m in missing)} for backend type"
                f" '{config.type}' (options: {accepted}){in_file}",
                path=where,
            )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
    try:
        backend: Backend = cls(**dict(config.options))
    except ConfigError as exc:
        if where not in exc.message:
            exc.message = f"{where}: {exc.message}{in_file}"
            exc.args = (exc.message,)
        raise
    except TypeError as exc:
        raise ConfigError(
            f"{where}: invalid options for backend type '{config.type}': {exc}{in_file}", path=where
        ) from None
    return backend


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def apply_middleware(backend: Backend, profile_middleware: Any, host: PluginHost) -> Backend:
    """Wrap ``backend`` in each configured middleware, innermost first, in config order."""
    for mw in profile_middleware:
        factory = host.middleware(mw.name).load()
        backend = factory(backend, **dict(mw.options))
        if not isinstance(backend, Backend):
            raise ConfigError(f"middleware '{mw.name}' did not return a Backend")
    return backend


class Registry:
    """Named stores from a `RegistryConfig`.

    Backends are constructed on first use and shared by every store naming them;
    `close` closes each one (all of them, even if one raises). Picklable by configuration.

    Args:
        config: The configuration.
        host: Plugin host to resolve backend types (default: the process-wide one).
    """

    def __init__(self, config: RegistryConfig, *, host: PluginHost | None = None) -> None:
        if not isinstance(config, RegistryConfig):
            raise TypeError("Registry needs a RegistryConfig")
        self._config = config
        self._host = host
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()

    @property
    def config(self) -> RegistryConfig:
        """The configuration this registry was built from."""
        return self._config

    def _plugin_host(self) -> PluginHost:
        return self._host or get_plugin_host()

    def get_backend(self, name: str) -> Backend:
        """Return the backend called ``name``, constructing it on first use.

        Raises:
            ConfigKeyError: No such backend (a `ConfigError` and a ``KeyError``).
            ConfigError: It cannot be constructed.
        """
        with self._lock:
            backend = self._backends.get(name)
            if backend is None:
                try:
                    cfg = self._config.backends[name]
                except KeyError:
                    known = ", ".join(sorted(self._config.backends)) or "none"
                    raise ConfigKeyError(f"no backend named '{name}' (defined: {known})") from None
                backend = build_backend(cfg, name=name, host=self._plugin_host(), source=self._config.source)
                self._backends[name] = backend
            return backend

    def get_store(self, name: str) -> Store:
        """Return the store called ``name``.

        Raises:
            ConfigKeyError: No such store (the message suggests the closest defined name), or
                an environment variable its table or its backend's options use is unset
                (naming the store, the variable and the key path). A `ConfigError` and a ``KeyError``.
            ConfigError: Its backend/middleware cannot be constructed.
        """
        try:
            profile = self._config.stores[name]
        except KeyError:
            stores = self._config.stores
            known = ", ".join(sorted(stores)) or "none"
            where = f" in {self._config.source}" if self._config.source else ""
            raise ConfigKeyError(
                f"no store named '{name}'{did_you_mean(name, stores)} (defined: {known}){where}"
            ) from None
        if profile.env_error is not None:
            raise ConfigKeyError(f"store '{name}': {profile.env_error}", path=f"stores.{name}")
        cfg = self._config.backends[profile.backend]
        if cfg.env_error is not None:
            raise ConfigKeyError(
                f"store '{name}' (backend '{profile.backend}'): {cfg.env_error}", path=f"backends.{profile.backend}"
            )
        backend = self.get_backend(profile.backend)
        if profile.middleware:
            backend = apply_middleware(backend, profile.middleware, self._plugin_host())
        return Store(backend, profile.root_path, strict_keys=profile.strict_keys)

    store = get_store

    def close(self) -> None:
        """Close every constructed backend; raises the first error after trying them all."""
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        first: BaseException | None = None
        for backend in backends:
            try:
                backend.close()
            except Exception as exc:
                log.warning("closing backend %s failed: %s", backend.type_name, type(exc).__name__)
                first = first or exc
        if first is not None:
            if isinstance(first, RemoteStoreError):
                raise first
            raise RemoteStoreError(f"closing a backend failed: {type(first).__name__}") from first

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        return (Registry, (self._config,))

    def __repr__(self) -> str:
        return f"Registry(backends={sorted(self._config.backends)}, stores={sorted(self._config.stores)})"
