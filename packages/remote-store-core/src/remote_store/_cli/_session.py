"""Addresses on the command line: local paths, ``STORE:path`` and URLs, and the stores they open."""

from __future__ import annotations

import logging
import os
import urllib.parse
import warnings
from dataclasses import dataclass
from typing import Any

from remote_store import _path
from remote_store._cli._parser import ADDRESS_HELP, UsageError
from remote_store._store import Store
from remote_store.errors import RemoteStoreError

log = logging.getLogger("remote_store.cli")

#: Printed (as a warning) when a command opens a memory store.
MEMORY_WARNING = (
    "memory:// stores live inside this one process: nothing written to them persists after the command exits"
)
_LOCAL_PREFIXES = ("/", "./", "../", "~")


def local_path(address: str) -> str | None:
    """The absolute local path ``address`` names, or None if it is a store address or URL.

    Local: it starts with ``/``, ``./``, ``../`` or ``~`` (or is ``.`` / ``..``), or it has no
    ``:`` and exists on disk. ``STORE:path`` and ``scheme://`` URLs are never local. A
    trailing ``/`` is kept (it means "into this folder").
    """
    explicit = address.startswith(_LOCAL_PREFIXES) or address in (".", "..", "~")
    if os.sep != "/" and (address.startswith(("." + os.sep, ".." + os.sep)) or _is_drive_path(address)):
        explicit = True
    if not explicit and (":" in address or not address or not os.path.lexists(address)):
        return None
    full = os.path.abspath(os.path.expanduser(address))
    if address.endswith(("/", os.sep)) and not full.endswith("/"):
        full += "/"
    return full


def _is_drive_path(address: str) -> bool:
    return len(address) >= 3 and address[0].isalpha() and address[1] == ":" and address[2] in "\\/"


@dataclass
class Location:
    """A parsed address: the store and the store-relative path inside it.

    Attributes:
        text: The address as typed (used in messages).
        store: The opened store.
        path: Normalised store-relative path (``""`` = the store root).
    """

    text: str
    store: Store
    path: str


class Session:
    """Opens the stores addresses name; one `Store` per store name or URL root, closed at the end.

    Args:
        config: ``--config`` file, or None to use the default config sources.
    """

    def __init__(self, config: str | None) -> None:
        self._config_path = config
        self._registries: dict[str, Any] = {}
        self._stores: dict[str, Store] = {}
        self._owned: list[Store] = []
        self._memory_warned = False

    def _registry_for(self, name: str) -> Any:
        from remote_store._open import _as_config, find_store_config
        from remote_store._registry import Registry

        if self._config_path is not None:
            key = "--config"
            if key not in self._registries:
                if not os.path.isfile(self._config_path):
                    raise UsageError(f"--config {self._config_path}: no such file")
                self._registries[key] = Registry(_as_config(self._config_path))
            return self._registries[key]
        cfg = find_store_config(name)
        key = f"{cfg.source or id(cfg)}"
        if key not in self._registries:
            self._registries[key] = Registry(cfg)
        return self._registries[key]

    def _url_store(self, url: str) -> tuple[Store, str]:
        from remote_store._config import BackendConfig
        from remote_store._open import check_file_url
        from remote_store._plugins._host import get_plugin_host
        from remote_store._registry import build_backend

        check_file_url(url)
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        res = get_plugin_host().resolve_url(url)
        if res.type == "local":
            # Root the store at "/" so the path can name a file or a folder that does not exist yet.
            cache, options, path = "file:///", {"root": "/"}, urllib.parse.unquote(parts.path)
        elif res.type == "http":
            base = urllib.parse.urlunsplit((scheme, parts.netloc, "/", "", ""))
            cache, options, path = base, {"base_url": base}, urllib.parse.unquote(parts.path)
        else:
            cache = f"{res.type}:{sorted((k, repr(v)) for k, v in res.options.items())}"
            options, path = dict(res.options), res.root_path
        store = self._stores.get(cache)
        if store is None:
            store = Store(build_backend(BackendConfig(res.type, options)))
            self._stores[cache] = store
            self._owned.append(store)
        return store, path

    def _local_store(self) -> Store:
        from remote_store._config import BackendConfig
        from remote_store._registry import build_backend

        store = self._stores.get("file:///")
        if store is None:
            # Rooted at "/" like file:// URLs, so a path can name a file or folder that does not exist yet.
            store = Store(build_backend(BackendConfig("local", {"root": "/"})))
            self._stores["file:///"] = store
            self._owned.append(store)
        return store

    def locate(self, address: str) -> Location:
        """Parse and open ``address``: a local path (see `local_path`), ``STORE:path`` or a URL.

        Raises:
            UsageError: It is empty or ``:path`` without a store name.
            ConfigError: Unknown store name or URL scheme, invalid config, a ``file://`` URL
                naming a remote host.
            InvalidPath: The path part is malformed.
        """
        local = local_path(address)
        if local is not None:
            store, path = self._local_store(), local
        elif "://" in address:
            store, path = self._url_store(address)
        elif ":" in address and not address.startswith(":"):
            name, _, path = address.partition(":")
            cached = self._stores.get(f"name:{name}")
            if cached is None:
                cached = self._registry_for(name).get_store(name)
                self._stores[f"name:{name}"] = cached
            store = cached
        else:
            raise UsageError(f"{address!r} is not an address. {ADDRESS_HELP}")
        self._warn_memory(store)
        log.debug("%s -> %s store, path %r", address, store.backend.type_name, path)
        return Location(address, store, _path.normalize_path(path))

    def local(self, path: str) -> Location:
        """A plain local path (``put``/``get`` arguments) as a location in the local store."""
        full = os.path.abspath(os.path.expanduser(path))
        return Location(path, self._local_store(), _path.normalize_path(full))

    def _warn_memory(self, store: Store) -> None:
        if store.backend.type_name == "memory" and not self._memory_warned:
            self._memory_warned = True
            warnings.warn(MEMORY_WARNING, UserWarning, stacklevel=2)

    def is_local_root(self, store: Store) -> bool:
        """Whether ``store`` is the local store rooted at ``/`` that local paths and ``file://`` URLs open."""
        return store is self._stores.get("file:///")

    def show_local_paths(self, exc: RemoteStoreError) -> None:
        """Make ``exc.path`` absolute (``/tmp/x``) when it is a path of the local files.

        Local paths and ``file://`` URLs open one local store rooted at ``/``, so its errors
        carry ``tmp/x``; that is rewritten unless another local store (a named one, with its
        own root) was opened too and the path could be relative to it.
        """
        root = self._stores.get("file:///")
        if root is None or exc.backend != "local" or not exc.path or exc.path.startswith("/"):
            return
        if any(s is not root and s.backend.type_name == "local" for s in self._stores.values()):
            return
        exc.path = "/" + exc.path

    def close(self) -> None:
        """Close every store and registry opened (errors while closing are ignored)."""
        for store in self._owned:
            try:
                store.close()
            except RemoteStoreError:
                pass
        for registry in self._registries.values():
            try:
                registry.close()
            except RemoteStoreError:
                pass
