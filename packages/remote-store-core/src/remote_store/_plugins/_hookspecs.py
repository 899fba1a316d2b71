"""pluggy hook specifications. Every hook is prefixed ``remote_store_``; the project name
and entry-point group are both ``remote_store``."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from remote_store._plugins._specs import BackendSpec, ConfigSource, MiddlewareSpec, UrlResolution

PROJECT = "remote_store"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorator for hook implementations in plugins: ``@remote_store.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)


class RemoteStoreHookSpecs:
    """The hooks a plugin may implement (as module-level functions decorated with `hookimpl`)."""

    @hookspec
    def remote_store_register_backends(self, register: Callable[[BackendSpec], None]) -> None:
        """Call ``register(BackendSpec(...))`` once per backend type the plugin provides.

        Do not import the SDK here: give the class as a string ``target``.
        """

    @hookspec
    def remote_store_register_middleware(self, register: Callable[[MiddlewareSpec], None]) -> None:
        """Call ``register(MiddlewareSpec(...))`` once per store middleware the plugin provides."""

    @hookspec
    def remote_store_register_config_sources(self, register: Callable[[ConfigSource], None]) -> None:
        """Call ``register(ConfigSource(...))`` once per place named stores may be defined."""

    @hookspec(firstresult=True)
    def remote_store_resolve_url(self, url: str) -> UrlResolution | None:
        """Return how to open ``url`` (backend type, options, root) if this plugin handles it, else None.

        The first non-None result wins; the built-in implementation (which runs last) maps
        the URL scheme to a registered `BackendSpec`.
        """
