"""Wrapped backends described by value, so adapter ``options`` compare equal and rebuild."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remote_store.errors import ConfigError


def describe(backend: object, options: Mapping[str, Any]) -> dict[str, Any]:
    """``{"class": "module:Qualname", "options": {...}}`` for a wrapped backend."""
    cls = type(backend)
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "options": dict(options)}


def rebuild(spec: Mapping[str, Any], base: type) -> Any:
    """Rebuild a backend from `describe` output, checking it is a ``base`` subclass.

    Raises:
        ConfigError: The mapping is malformed, the class cannot be imported or is not a ``base``.
    """
    from remote_store._plugins._specs import import_target

    target, options = spec.get("class"), spec.get("options", {})
    if not isinstance(target, str) or not isinstance(options, Mapping):
        raise ConfigError("a wrapped backend is described as {'class': 'module:Class', 'options': {...}}")
    try:
        cls = import_target(target)
    except ImportError as exc:
        raise ConfigError(f"wrapped backend class {target!r} cannot be imported: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(f"wrapped backend class {target!r} is not a {base.__module__}.{base.__name__}")
    return cls(**dict(options))
