"""The core's own plugin: built-in backends and config sources, registered through the
same hooks as any third-party plugin."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from remote_store._config import RegistryConfig
from remote_store._plugins._hookspecs import hookimpl
from remote_store._plugins._specs import BackendSpec, ConfigSource, UrlResolution, import_target


@hookimpl
def remote_store_register_backends(register: Callable[[BackendSpec], None]) -> None:
    register(
        BackendSpec(
            "local",
            "remote_store.backends._local:LocalBackend",
            "remote-store-core",
            ("file",),
            "remote_store._builtin_plugin:local_from_url",
            "Local filesystem folder",
        )
    )
    register(
        BackendSpec(
            "memory",
            "remote_store.backends._memory:MemoryBackend",
            "remote-store-core",
            ("memory",),
            "remote_store._builtin_plugin:memory_from_url",
            "In-process memory (tests)",
            async_target="remote_store.aio._memory:AsyncMemoryBackend",
        )
    )
    register(
        BackendSpec(
            "http",
            "remote_store.backends._http:HttpBackend",
            "remote-store-core",
            ("http", "https"),
            "remote_store._builtin_plugin:http_from_url",
            "Read-only HTTP(S) with Range requests",
        )
    )


def local_from_url(url: urllib.parse.SplitResult) -> tuple[dict[str, object], str]:
    """``file:///abs/path`` → ``LocalBackend(root="/abs/path")``."""
    path = urllib.parse.unquote(url.path)
    if url.netloc and url.netloc != "localhost":
        path = f"/{url.netloc}{path}" if not url.path.startswith("/") else path
    return {"root": path or "/"}, ""


def memory_from_url(url: urllib.parse.SplitResult) -> tuple[dict[str, object], str]:
    """``memory://name/prefix`` → shared ``MemoryBackend(name="name")`` rooted at ``prefix``."""
    options: dict[str, object] = {"name": url.netloc} if url.netloc else {}
    return options, urllib.parse.unquote(url.path)


def http_from_url(url: urllib.parse.SplitResult) -> tuple[dict[str, object], str]:
    """``https://host/base/`` → ``HttpBackend(base_url="https://host/base/")``."""
    return {"base_url": urllib.parse.urlunsplit(url)}, ""


@hookimpl(trylast=True)
def remote_store_resolve_url(url: str) -> UrlResolution | None:
    from remote_store._plugins._host import get_plugin_host

    parts = urllib.parse.urlsplit(url)
    for spec in get_plugin_host().backend_types().values():
        if parts.scheme in spec.schemes:
            if spec.from_url:
                options, root = import_target(spec.from_url)(parts)
            else:
                options, root = {}, f"{parts.netloc}{parts.path}"
            return UrlResolution(spec.type, options, root)
    return None


def _env_source() -> RegistryConfig | None:
    path = os.environ.get("REMOTE_STORE_CONFIG")
    if not path:
        return None
    from remote_store._open import _as_config

    return _as_config(path)


def _cwd_toml() -> RegistryConfig | None:
    path = Path.cwd() / "remote-store.toml"
    return RegistryConfig.from_toml(path) if path.is_file() else None


def _pyproject() -> RegistryConfig | None:
    import tomllib

    path = Path.cwd() / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if "remote-store" not in doc.get("tool", {}):
        return None
    return RegistryConfig.from_toml(path, table="tool.remote-store")


def user_config_path() -> Path:
    """``$XDG_CONFIG_HOME/remote-store/config.toml`` (default ``~/.config/remote-store/config.toml``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "remote-store" / "config.toml"


def _user_config() -> RegistryConfig | None:
    path = user_config_path()
    return RegistryConfig.from_toml(path) if path.is_file() else None


@hookimpl
def remote_store_register_config_sources(register: Callable[[ConfigSource], None]) -> None:
    register(ConfigSource("env", _env_source, 10, "file named by $REMOTE_STORE_CONFIG"))
    register(ConfigSource("cwd-toml", _cwd_toml, 20, "./remote-store.toml"))
    register(ConfigSource("pyproject", _pyproject, 30, "[tool.remote-store] in ./pyproject.toml"))
    register(ConfigSource("user", _user_config, 40, "~/.config/remote-store/config.toml"))
