"""The plugin host: a pluggy manager, lazily loaded entry points, and the registries
of backends, middleware and config sources built from the hooks."""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata as importlib_metadata

import pluggy

from remote_store._log import get_logger
from remote_store._plugins._hookspecs import PROJECT, RemoteStoreHookSpecs
from remote_store._plugins._specs import BackendSpec, ConfigSource, MiddlewareSpec, UrlResolution
from remote_store.errors import ConfigError

log = get_logger("remote_store")

#: Entry-point group plugins declare under ``[project.entry-points.remote_store]``.
ENTRY_POINT_GROUP = "remote_store"

#: Backend types of first-party plugin distributions, for "pip install …" hints.
KNOWN_PACKAGES: dict[str, tuple[str, str]] = {
    "s3": ("remote-store-s3", "S3Backend"),
    "sftp": ("remote-store-sftp", "SFTPBackend"),
    "azure": ("remote-store-azure", "AzureBackend"),
    "gcs": ("remote-store-gcs", "GCSBackend"),
    "sql-blob": ("remote-store-sql", "SQLBlobBackend"),
    "sql-query": ("remote-store-sql", "SQLQueryBackend"),
}
KNOWN_SCHEMES = {
    "s3": "s3",
    "sftp": "sftp",
    "az": "azure",
    "azure": "azure",
    "abfs": "azure",
    "gs": "gcs",
    "gcs": "gcs",
    "sqlite": "sql-blob",
    "sql": "sql-blob",
}


class PluginWarning(UserWarning):
    """A plugin failed to load or conflicted with another; the others still work."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One plugin as the host saw it.

    Attributes:
        name: Entry-point name (or the built-in / in-process plugin name).
        distribution: Providing distribution (``"remote-store-s3"``), "" for in-process plugins.
        version: Its version, "" when unknown.
        loaded: Whether it loaded and registered.
        error: Why it failed (exception type and message), "" when loaded.
        backends: Backend types it registered.
    """

    name: str
    distribution: str
    version: str
    loaded: bool
    error: str = ""
    backends: tuple[str, ...] = ()


class PluginHost:
    """Owns the pluggy `PluginManager` and the registries the hooks fill.

    Args:
        load_entry_points: Load plugins from the ``remote_store`` entry-point group on first use.
            Tests pass False and register in-process plugins with `register`.
        strict: Re-raise a plugin's load error instead of warning. Defaults to the
            ``REMOTE_STORE_STRICT_PLUGINS`` environment variable (``1``/``true``).
        builtins: Register the core's own plugin (local, memory, http, config sources).
    """

    def __init__(self, *, load_entry_points: bool = True, strict: bool | None = None, builtins: bool = True) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(RemoteStoreHookSpecs)
        self._load_eps = load_entry_points
        self._strict = (
            strict
            if strict is not None
            else os.environ.get("REMOTE_STORE_STRICT_PLUGINS", "").lower() in ("1", "true", "yes")
        )
        self._lock = threading.RLock()
        self._loaded = False
        self._infos: list[PluginInfo] = []
        self._backends: dict[str, BackendSpec] = {}
        self._backend_owner: dict[str, str] = {}
        self._middleware: dict[str, MiddlewareSpec] = {}
        self._sources: list[ConfigSource] = []
        self._dirty = True
        if builtins:
            from remote_store import _builtin_plugin

            self.pm.register(_builtin_plugin, name="remote_store.builtin")
            self._infos.append(PluginInfo("builtin", "remote-store-core", _version("remote-store-core"), True))

    # ------------------------------------------------------------------ loading
    def _ensure_loaded(self) -> None:
        if self._loaded and not self._dirty:
            return
        with self._lock:
            if not self._loaded:
                self._loaded = True
                if self._load_eps:
                    self._load_entry_points()
            if self._dirty:
                self._collect()

    def _load_entry_points(self) -> None:
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else ""
            version = dist.version if dist is not None else ""
            if self.pm.has_plugin(ep.name) or self.pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
                self.pm.register(plugin, name=ep.name)
            except Exception as exc:
                msg = f"{type(exc).__name__}: {exc}"
                self._infos.append(PluginInfo(ep.name, dist_name, version, False, msg))
                if self._strict:
                    raise
                warnings.warn(
                    f"remote-store plugin '{ep.name}' from {dist_name or '?'} {version} failed to load: {msg}",
                    PluginWarning,
                    stacklevel=3,
                )
                continue
            self._infos.append(PluginInfo(ep.name, dist_name, version, True))
        self._dirty = True

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register an in-process plugin (a module or object with hook implementations).

        Raises:
            ValueError: A plugin with that name is already registered.
        """
        with self._lock:
            registered = self.pm.register(plugin, name=name)
            if registered is None:
                raise ValueError(f"plugin {name!r} is blocked or already registered")
            self._infos.append(PluginInfo(registered, "", "", True))
            self._dirty = True

    def unregister(self, name: str) -> None:
        """Remove a plugin registered under ``name``."""
        with self._lock:
            self.pm.unregister(name=name)
            self._infos = [i for i in self._infos if i.name != name]
            self._dirty = True

    def _collect(self) -> None:
        backends: dict[str, BackendSpec] = {}
        owners: dict[str, str] = {}
        middleware: dict[str, MiddlewareSpec] = {}
        sources: list[ConfigSource] = []
        per_plugin: dict[str, list[str]] = {}

        for impl in self.pm.hook.remote_store_register_backends.get_hookimpls():
            plugin_name = impl.plugin_name

            def reg_backend(spec: BackendSpec, _owner: str = plugin_name) -> None:
                if not isinstance(spec, BackendSpec):
                    raise TypeError("register() takes a BackendSpec")
                if spec.type in backends:
                    warnings.warn(
                        f"backend type '{spec.type}' registered by both '{owners[spec.type]}' and '{_owner}'; "
                        f"keeping '{owners[spec.type]}'",
                        PluginWarning,
                        stacklevel=2,
                    )
                    return
                backends[spec.type] = spec
                owners[spec.type] = _owner
                per_plugin.setdefault(_owner, []).append(spec.type)

            self._call_impl(impl, reg_backend)

        for impl in self.pm.hook.remote_store_register_middleware.get_hookimpls():

            def reg_mw(spec: MiddlewareSpec, _owner: str = impl.plugin_name) -> None:
                if spec.name in middleware:
                    warnings.warn(
                        f"middleware '{spec.name}' registered twice; keeping the first", PluginWarning, stacklevel=2
                    )
                    return
                middleware[spec.name] = spec

            self._call_impl(impl, reg_mw)

        for impl in self.pm.hook.remote_store_register_config_sources.get_hookimpls():
            self._call_impl(impl, sources.append)

        self._backends, self._backend_owner, self._middleware = backends, owners, middleware
        self._sources = sorted(sources, key=lambda s: s.priority)
        self._infos = [
            PluginInfo(
                i.name, i.distribution, i.version, i.loaded, i.error, tuple(per_plugin.get(self._pm_name(i), ()))
            )
            for i in self._infos
        ]
        self._dirty = False

    def _pm_name(self, info: PluginInfo) -> str:
        return (
            "remote_store.builtin" if info.name == "builtin" and info.distribution == "remote-store-core" else info.name
        )

    def _call_impl(self, impl: pluggy.HookImpl, register: object) -> None:
        try:
            impl.function(register)
        except Exception as exc:
            if self._strict:
                raise
            self._infos = [
                PluginInfo(i.name, i.distribution, i.version, False, f"{type(exc).__name__}: {exc}")
                if self._pm_name(i) == impl.plugin_name
                else i
                for i in self._infos
            ]
            warnings.warn(
                f"remote-store plugin '{impl.plugin_name}' failed in {impl.function.__name__}: {exc}",
                PluginWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------------ queries
    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen: loaded ones and the ones that failed (with the error)."""
        self._ensure_loaded()
        return list(self._infos)

    def backend_types(self) -> dict[str, BackendSpec]:
        """Registered backend types by name."""
        self._ensure_loaded()
        return dict(self._backends)

    def backend_spec(self, type_name: str) -> BackendSpec:
        """Return the spec for ``type_name``.

        Raises:
            ConfigError: No installed plugin provides it; the message lists the installed
                types and which distribution to install.
        """
        self._ensure_loaded()
        spec = self._backends.get(type_name)
        if spec is not None:
            return spec
        installed = ", ".join(sorted(self._backends)) or "none"
        hint = ""
        if type_name in KNOWN_PACKAGES:
            hint = f"; install it with: pip install {KNOWN_PACKAGES[type_name][0]}"
        failed = [i for i in self._infos if not i.loaded]
        if failed:
            hint += "; plugins that failed to load: " + ", ".join(f"{i.name} ({i.error})" for i in failed)
        raise ConfigError(f"unknown backend type '{type_name}' (installed: {installed}){hint}")

    def backend_class(self, type_name: str) -> type:
        """Import and return the backend class of ``type_name``. Raises as `backend_spec`."""
        return self.backend_spec(type_name).load()

    def middleware(self, name: str) -> MiddlewareSpec:
        """Return the middleware spec called ``name``.

        Raises:
            ConfigError: None is registered under that name.
        """
        self._ensure_loaded()
        try:
            return self._middleware[name]
        except KeyError:
            known = ", ".join(sorted(self._middleware)) or "none"
            raise ConfigError(f"unknown middleware '{name}' (installed: {known})") from None

    def middleware_specs(self) -> dict[str, MiddlewareSpec]:
        """Registered middleware by name."""
        self._ensure_loaded()
        return dict(self._middleware)

    def config_sources(self) -> list[ConfigSource]:
        """Config sources in the order `open_store` consults them."""
        self._ensure_loaded()
        return list(self._sources)

    def resolve_url(self, url: str) -> UrlResolution:
        """Ask the plugins how to open ``url``.

        Raises:
            ConfigError: No plugin handles the URL's scheme.
        """
        self._ensure_loaded()
        result: UrlResolution | None = self.pm.hook.remote_store_resolve_url(url=url)
        if result is None:
            scheme = url.split("://", 1)[0]
            schemes = sorted({s for spec in self._backends.values() for s in spec.schemes})
            hint = ""
            if scheme in KNOWN_SCHEMES:
                hint = f"; install it with: pip install {KNOWN_PACKAGES[KNOWN_SCHEMES[scheme]][0]}"
            raise ConfigError(
                f"no installed backend opens '{scheme}://' URLs (known schemes: {', '.join(schemes)}){hint}"
            )
        return result


def _version(dist: str) -> str:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return ""


_host: PluginHost | None = None
_host_lock = threading.Lock()


def get_plugin_host() -> PluginHost:
    """The process-wide plugin host (created, with entry points, on first call)."""
    global _host
    if _host is None:
        with _host_lock:
            if _host is None:
                _host = PluginHost()
    return _host


@contextlib.contextmanager
def use_plugin_host(host: PluginHost) -> Iterator[PluginHost]:
    """Make ``host`` the process-wide host inside the ``with`` block (for tests)."""
    global _host
    with _host_lock:
        previous, _host = _host, host
    try:
        yield host
    finally:
        with _host_lock:
            _host = previous


def plugins() -> list[PluginInfo]:
    """Report every plugin: loaded ones with their backend types, failed ones with the error."""
    return get_plugin_host().plugins()
