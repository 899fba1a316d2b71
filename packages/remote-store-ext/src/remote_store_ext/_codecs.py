"""The codec seam of `remote_store_ext.datastore`: the `Codec` ABC and the `CodecRegistry`.

Plugin mechanism (documented choice): core's hookspecs belong to core, so third-party codecs
are found through an entry-point group of this package, ``remote_store.codecs``, and can
be registered in-process with `register_codec`. Each entry point names either a `Codec`
instance or a function ``remote_store_register_codecs(register)`` that calls
``register(codec)`` once per codec (the collect-all ``register`` shape of core's hooks).
Entry points are loaded lazily, on the first use of the default registry, one at a time,
each in its own ``try``: a broken one becomes one warning naming its distribution and
version, and the others still load.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from types import ModuleType
from typing import Any, ClassVar

from remote_store.errors import ConfigError
from remote_store_ext._codecerrors import CodecError, NoCodec, PickleNotAllowed

#: The entry-point group third-party codecs are published under.
ENTRY_POINT_GROUP = "remote_store.codecs"


def require(module: str, extra: str, codec: str) -> ModuleType:
    """Import ``module`` for ``codec``, or raise `CodecError` naming the extra to install.

    Args:
        module: Dotted module name (``"pyarrow.parquet"``).
        extra: The ``remote-store-ext`` extra that brings it (``"arrow"``).
        codec: The codec's name, for the message.

    Raises:
        CodecError: The module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise CodecError(
            f'the {codec} codec needs the {module.partition(".")[0]!r} package: pip install "remote-store-ext[{extra}]"'
        ) from exc


class Codec(ABC):
    """Turns values of some Python types into file bytes and back, for some file extensions.

    Subclass it to teach `DataStore` and `StorePath` a new format (images, tensors …) and
    register an instance with `register_codec` or the ``remote_store.codecs`` entry-point
    group. A codec must import its library lazily (inside the methods), so registering it
    costs nothing when the library is absent.

    Class attributes:
        name: Unique codec name (``"json"``); registering a second codec of the same name
            raises `ConfigError` unless ``replace=True``.
        extensions: File extensions with the leading dot, lower case (``(".json",)``); the
            first one is used when a value is stored under a bare key.
        priority: Order in which codecs are asked `can_encode` when a value is stored under
            a bare key: lower first. Built-ins use 10 (bytes, text) to 1000 (pickle).
        unsafe: True when decoding can run code (pickle): such a codec is used only by a
            ``DataStore(..., allow_pickle=True)``.
    """

    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    priority: ClassVar[int] = 100
    unsafe: ClassVar[bool] = False

    @abstractmethod
    def can_encode(self, value: Any) -> bool:
        """Whether `encode` accepts ``value``; must not import a library that is not yet imported."""

    @abstractmethod
    def encode(self, value: Any) -> bytes:
        """Serialize ``value`` to the file's bytes.

        Raises:
            NoCodec: ``value`` cannot be represented in this format.
            CodecError: The codec's library is not installed.
        """

    @abstractmethod
    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """Parse a file's bytes.

        Args:
            data: The whole file.
            options: Reader options given to `DataStore` / `StorePath.load` (``frame``: the
                data-frame library to return, ``"pandas"``, ``"polars"`` or ``"arrow"``);
                a codec ignores the ones it does not know.

        Raises:
            CodecError: The bytes are not valid for the format, or the library is missing.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {' '.join(self.extensions)}>"


class CodecRegistry:
    """A set of codecs, looked up by value type or by file extension. Thread-safe.

    Args:
        codecs: Codecs to start with (use `CodecRegistry.default` for the built-ins plus
            the installed entry points).
    """

    def __init__(self, codecs: Iterable[Codec] = ()) -> None:
        self._lock = threading.RLock()
        self._codecs: dict[str, Codec] = {}
        for codec in codecs:
            self.register(codec)

    @classmethod
    def default(cls) -> CodecRegistry:
        """A new registry with the built-in codecs and those of the ``remote_store.codecs`` entry points."""
        from remote_store_ext._builtin_codecs import builtin_codecs

        registry = cls(builtin_codecs())
        registry.load_entry_points()
        return registry

    def register(self, codec: Codec, *, replace: bool = False) -> None:
        """Add ``codec``.

        Raises:
            ConfigError: ``codec`` is not a `Codec`, has no extensions, or its name or an
                extension is already taken and ``replace`` is False (the message names the
                codec holding it).
        """
        if not isinstance(codec, Codec):
            raise ConfigError(f"register_codec() takes a Codec instance, got {type(codec).__name__}")
        exts = tuple(e.lower() for e in codec.extensions)
        if not exts or not all(e.startswith(".") and len(e) > 1 and "/" not in e for e in exts):
            raise ConfigError(f"codec {codec.name!r} must declare extensions like '.json', got {codec.extensions!r}")
        with self._lock:
            if not replace:
                if codec.name in self._codecs:
                    raise ConfigError(f"a codec named {codec.name!r} is already registered")
                for other in self._codecs.values():
                    taken = set(exts) & set(other.extensions)
                    if taken:
                        raise ConfigError(
                            f"codec {codec.name!r}: extension {sorted(taken)[0]!r} is already "
                            f"handled by codec {other.name!r}"
                        )
            else:
                for name, other in list(self._codecs.items()):
                    if name == codec.name or set(exts) & set(other.extensions):
                        del self._codecs[name]
            self._codecs[codec.name] = codec

    def unregister(self, name: str) -> None:
        """Remove the codec called ``name`` (no error when absent)."""
        with self._lock:
            self._codecs.pop(name, None)

    def codecs(self) -> list[Codec]:
        """The registered codecs in `Codec.priority` order."""
        with self._lock:
            return sorted(self._codecs.values(), key=lambda c: (c.priority, c.name))

    def get(self, name: str) -> Codec:
        """The codec called ``name``.

        Raises:
            NoCodec: None is registered under that name.
        """
        with self._lock:
            codec = self._codecs.get(name)
        if codec is None:
            raise NoCodec(f"no codec named {name!r}; registered: {', '.join(sorted(self._codecs))}")
        return codec

    def for_extension(self, extension: str) -> Codec | None:
        """The codec for ``extension`` (``".csv"``, any case), or None."""
        ext = extension.lower()
        for codec in self.codecs():
            if ext in codec.extensions:
                return codec
        return None

    def for_value(self, value: Any, *, allow_unsafe: bool = False) -> Codec:
        """The first codec, by priority, whose `Codec.can_encode` accepts ``value``.

        Args:
            value: The value to store.
            allow_unsafe: Also consider unsafe codecs (pickle).

        Raises:
            PickleNotAllowed: Only an unsafe codec accepts it and ``allow_unsafe`` is False.
            NoCodec: No codec accepts it.
        """
        unsafe: Codec | None = None
        for codec in self.codecs():
            if codec.can_encode(value):
                if codec.unsafe and not allow_unsafe:
                    unsafe = unsafe or codec
                    continue
                return codec
        kind = type(value).__qualname__
        if unsafe is not None:
            raise PickleNotAllowed(
                f"no safe codec stores a {kind}; pickle could, but unpickling runs code: "
                f"use DataStore(store, allow_pickle=True) to enable it"
            )
        raise NoCodec(f"no codec stores a {kind}; register one with remote_store_ext.datastore.register_codec()")

    def load_entry_points(self, entry_points: Iterable[metadata.EntryPoint] | None = None) -> list[str]:
        """Register the codecs of the ``remote_store.codecs`` entry points.

        Args:
            entry_points: The entry points to load (default: the installed ones of the group).

        Returns:
            The names of the entry points that failed (each also issued a warning naming its
            distribution and version).
        """
        eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP)) if entry_points is None else list(entry_points)
        failed: list[str] = []
        for ep in eps:
            try:
                target = ep.load()
                if isinstance(target, Codec):
                    self.register(target)
                elif isinstance(target, type) and issubclass(target, Codec):
                    self.register(target())
                elif callable(target):
                    target(self.register)
                else:
                    raise ConfigError(f"{ep.value} is neither a Codec nor a register function")
            except Exception as exc:
                failed.append(ep.name)
                dist = getattr(ep, "dist", None)
                who = f"{dist.name} {dist.version}" if dist is not None else ep.value
                warnings.warn(
                    f"codec entry point {ep.name!r} ({who}) failed to load: {exc}", RuntimeWarning, stacklevel=2
                )
        return failed


_default: CodecRegistry | None = None
_default_lock = threading.Lock()


def default_registry() -> CodecRegistry:
    """The process-wide registry used when a `DataStore` or `StorePath` is given none.

    Built on first call: the built-in codecs plus the installed ``remote_store.codecs`` entry points.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = CodecRegistry.default()
        return _default


def register_codec(codec: Codec, *, replace: bool = False) -> None:
    """Register ``codec`` in the default registry (`default_registry`). Raises as `CodecRegistry.register`."""
    default_registry().register(codec, replace=replace)


#: The signature of an entry point's register function.
RegisterCodecs = Callable[[Callable[[Codec], None]], None]
