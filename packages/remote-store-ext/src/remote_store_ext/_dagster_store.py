"""Opening a Store from Dagster config: a store name, a URL, or a backend config table.

Shared by `DagsterStoreResource` and `RemoteStoreComputeLogManager` (both read the same
three keys); imports no Dagster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remote_store import Store, open_store
from remote_store.errors import ConfigError

#: The name the one-store config built from a ``backend`` table gives its backend and store.
_INLINE = "dagster"


def open_configured_store(
    store: str | None,
    backend: Mapping[str, Any] | None,
    root_path: str = "",
    config_file: str | None = None,
) -> Store:
    """Open the store that exactly one of ``store`` / ``backend`` describes.

    Args:
        store: A store name from the remote-store config sources (or from ``config_file``),
            or a URL (``"s3://bucket/prefix"``, ``"file:///data"``).
        backend: A backend table as in ``remote-store.toml``: ``{"type": "s3", "options":
            {...}}``. Option values may be ``${VAR}`` / ``${VAR:-default}`` placeholders,
            resolved from the environment when the store is opened, so credentials need not
            appear in Dagster's run config.
        root_path: Folder below the store's (or backend's) root to use as the root (``""``:
            the root itself).
        config_file: A TOML/YAML config file to look ``store`` up in instead of the usual
            sources (`remote_store.open_store`'s ``config``).

    Returns:
        A new store; the caller closes it.

    Raises:
        ConfigError: Both or neither of ``store`` and ``backend`` are given, ``backend`` is
            not a ``type``/``options`` table, ``config_file`` is given with ``backend`` or a
            URL, or opening fails (unknown store name — a `ConfigKeyError` —, unknown backend
            type, invalid options, an unset variable).
        InvalidPath: ``root_path`` is malformed or leaves the store root.
    """
    if (store is None) == (backend is None):
        raise ConfigError("give exactly one of 'store' (a store name or URL) and 'backend' (a backend table)")
    root = root_path.strip("/")
    if backend is not None:
        if config_file is not None:
            raise ConfigError("'config_file' names where 'store' is looked up; it cannot be used with 'backend'")
        if not isinstance(backend, Mapping) or not isinstance(backend.get("type"), str):
            raise ConfigError("'backend' must be a table with a 'type' string and an 'options' table", path="backend")
        config = {
            "backends": {_INLINE: dict(backend)},
            "stores": {_INLINE: {"backend": _INLINE, "root_path": root}},
        }
        return open_store(_INLINE, config=config)
    assert store is not None
    if "://" in store:
        if config_file is not None:
            raise ConfigError("'config_file' names where 'store' is looked up; a URL needs none")
        opened = open_store(store)
    else:
        opened = open_store(store, config=config_file) if config_file is not None else open_store(store)
    if not root:
        return opened
    try:
        return opened.child(root)
    except Exception:
        opened.close()
        raise
