"""Descriptors plugins register: backends, middleware, config sources, URL resolutions."""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from remote_store.errors import ConfigError

if TYPE_CHECKING:
    from remote_store._backend import Backend
    from remote_store._config import RegistryConfig
    from remote_store.aio._backend import AsyncBackend


def import_target(target: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute.

    Raises:
        ImportError: The module or attribute cannot be imported.
    """
    module_name, _, attr = target.partition(":")
    if not attr:
        raise ImportError(f"import target {target!r} must look like 'module:attribute'")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ImportError(f"{module_name!r} has no attribute {attr!r}") from exc
    return obj


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """A backend type a plugin provides.

    Attributes:
        type: Config type name (``"s3"``), unique across plugins.
        target: ``"module:Class"`` of the `Backend` subclass; imported only when first used,
            so registering it never imports the SDK.
        package: Distribution that provides it (``"remote-store-s3"``), for messages.
        schemes: URL schemes it opens (``("s3",)``).
        from_url: Optional ``"module:function"``; the function takes a
            ``urllib.parse.SplitResult`` and returns ``(options: dict, root_path: str)``.
            Without it, ``scheme://netloc/path`` gives no options and root ``netloc/path``.
        description: One line for ``remote-store plugins``.
        async_target: Optional ``"module:Class"`` of a native `remote_store.aio.AsyncBackend`
            taking the same options; `remote_store.aio.open_store_async` builds it instead of
            wrapping the sync class in `SyncBackendAdapter`. Imported only when used.
    """

    type: str
    target: str
    package: str = ""
    schemes: tuple[str, ...] = ()
    from_url: str | None = None
    description: str = ""
    async_target: str | None = None

    @property
    def class_name(self) -> str:
        """Class name part of `target` (``"S3Backend"``)."""
        return self.target.rpartition(":")[2].rpartition(".")[2]

    def load(self) -> builtins.type[Backend]:
        """Import and return the backend class.

        Raises:
            ConfigError: The target cannot be imported (missing SDK, broken install).
        """
        from remote_store._backend import Backend

        try:
            cls = import_target(self.target)
        except ImportError as exc:
            hint = f"; reinstall it: pip install {self.package}" if self.package else ""
            raise ConfigError(
                f"backend type '{self.type}' could not be imported from {self.target}: {exc}{hint}"
            ) from exc
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            raise ConfigError(f"backend type '{self.type}': {self.target} is not a remote_store.Backend subclass")
        return cls

    def load_async(self) -> builtins.type[AsyncBackend] | None:
        """Import and return the native async backend class, or None when `async_target` is unset.

        Raises:
            ConfigError: The target cannot be imported, or is not an `AsyncBackend` subclass.
        """
        if self.async_target is None:
            return None
        from remote_store.aio._backend import AsyncBackend

        try:
            cls = import_target(self.async_target)
        except ImportError as exc:
            hint = f"; reinstall it: pip install {self.package}" if self.package else ""
            raise ConfigError(
                f"async backend of type '{self.type}' could not be imported from {self.async_target}: {exc}{hint}"
            ) from exc
        if not (isinstance(cls, type) and issubclass(cls, AsyncBackend)):
            raise ConfigError(
                f"backend type '{self.type}': {self.async_target} is not a remote_store.aio.AsyncBackend subclass"
            )
        return cls


@dataclass(frozen=True, slots=True)
class MiddlewareSpec:
    """A store middleware: wraps a `Backend` in another `Backend` (cache, observe, retry …).

    Attributes:
        name: Name used in a store profile's ``middleware`` list.
        target: ``"module:factory"``; ``factory(backend, **options) -> Backend``.
        priority: Default position when a profile lists several with ``order = "priority"``;
            lower wraps first (innermost). Config order is used otherwise.
        package: Providing distribution.
        description: One line for ``remote-store plugins``.
    """

    name: str
    target: str
    priority: int = 100
    package: str = ""
    description: str = ""

    def load(self) -> Callable[..., Backend]:
        """Import and return the factory.

        Raises:
            ConfigError: It cannot be imported.
        """
        try:
            fn: Callable[..., Backend] = import_target(self.target)
        except ImportError as exc:
            raise ConfigError(f"middleware '{self.name}' could not be imported from {self.target}: {exc}") from exc
        return fn


@dataclass(frozen=True, slots=True)
class ConfigSource:
    """A place `open_store` looks for named stores.

    Attributes:
        name: Short name shown in messages (``"env"``, ``"cwd-toml"``).
        load: Callable returning a `RegistryConfig`, or None when this source has nothing.
            Raises `ConfigError` (naming the file) when the source exists but is invalid.
        priority: Lower is consulted first. Built-ins: 10 env ``REMOTE_STORE_CONFIG``,
            20 ``./remote-store.toml``, 30 ``[tool.remote-store]`` in ``./pyproject.toml``,
            40 the user config file.
        description: One line for ``remote-store plugins``.
    """

    name: str
    load: Callable[[], RegistryConfig | None]
    priority: int = 50
    description: str = ""


@dataclass(frozen=True, slots=True)
class UrlResolution:
    """What a URL opens: backend type, its options and the store root inside it."""

    type: str
    options: Mapping[str, Any] = field(default_factory=dict)
    root_path: str = ""
