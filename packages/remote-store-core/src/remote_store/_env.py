"""``${VAR}`` placeholder resolution in config data."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from remote_store.errors import ConfigKeyError

_PLACEHOLDER = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def resolve_env(
    data: Any, *, environ: Mapping[str, str] | None = None, source: str | None = None, _path: str = ""
) -> Any:
    """Return a copy of ``data`` with ``${VAR}`` and ``${VAR:-default}`` in every str replaced.

    ``$${`` is an escape for a literal ``${``. Mappings and lists are walked recursively;
    other values are returned unchanged.

    Args:
        data: Config data (dicts, lists, scalars).
        environ: Variables to use (defaults to ``os.environ``).
        source: File name for error messages.

    Raises:
        ConfigKeyError: A variable without a default is not set (a `ConfigError` and a ``KeyError``); the message names the key path
            (``backends.main.options.bucket``) and the file.
    """
    env = os.environ if environ is None else environ
    if isinstance(data, Mapping):
        return {
            k: resolve_env(v, environ=env, source=source, _path=f"{_path}.{k}" if _path else str(k))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [resolve_env(v, environ=env, source=source, _path=f"{_path}[{i}]") for i, v in enumerate(data)]
    if isinstance(data, tuple):
        return tuple(resolve_env(v, environ=env, source=source, _path=f"{_path}[{i}]") for i, v in enumerate(data))
    if not isinstance(data, str) or "$" not in data:
        return data

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        where = f" in {source}" if source else ""
        raise ConfigKeyError(f"environment variable '{name}' is not set (key '{_path}'{where})", path=_path or None)

    return _PLACEHOLDER.sub(repl, data)
