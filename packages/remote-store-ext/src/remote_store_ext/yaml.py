"""Load a `remote_store.RegistryConfig` from a YAML file (``pip install "remote-store-ext[yaml]"``).

The document has the same shape as the TOML config (``backends`` and ``stores`` tables)::

    backends:
      primary:
        type: s3
        options: {bucket: my-bucket, secret_access_key: "${AWS_SECRET_ACCESS_KEY}"}
    stores:
      data: {backend: primary, root: data/}

With remote-store-ext installed, ``open_store("data")`` also finds stores defined in
``./remote-store.yaml`` (or ``.yml``): the package registers that file as a config source
(priority 25: after ``$REMOTE_STORE_CONFIG`` and ``./remote-store.toml``, before
``pyproject.toml``). Parsing uses ``yaml.safe_load`` (no arbitrary Python objects).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

try:
    import yaml as _yaml
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ModuleNotFoundError(
        'remote_store.ext.yaml needs PyYAML: pip install "remote-store-ext[yaml]"', name="yaml"
    ) from exc

from remote_store import RegistryConfig
from remote_store.errors import ConfigError


def from_yaml(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    resolve_env_vars: bool = True,
    environ: Mapping[str, str] | None = None,
) -> RegistryConfig:
    """Load a `RegistryConfig` from a YAML file.

    Args:
        path: The YAML file.
        key: Dotted key of the mapping holding the config (``"tool.remote-store"``);
            None = the whole document.
        resolve_env_vars: Replace ``${VAR}`` / ``${VAR:-default}`` placeholders.
        environ: Variables for placeholders (default ``os.environ``).

    Returns:
        The `RegistryConfig` (its ``source`` names the file).

    Raises:
        ConfigError: The file is missing or unreadable, not valid YAML, the key is missing,
            or the content is invalid as for `RegistryConfig.from_dict` (the message names
            the file and never contains resolved secret values).
    """
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as f:
            doc: Any = _yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {source}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {source}: {exc.strerror}") from None
    except _yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ConfigError(f"invalid YAML in {source}{where}") from None
    if doc is None:
        doc = {}
    if key:
        for part in key.split("."):
            if not isinstance(doc, Mapping) or part not in doc:
                raise ConfigError(f"{source}: no '{key}' mapping")
            doc = doc[part]
    return RegistryConfig.from_dict(doc, resolve_env_vars=resolve_env_vars, environ=environ, source=source)


__all__ = ["from_yaml"]
