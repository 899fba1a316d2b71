"""``remote_store.ext``: the import path of the extensions, which live in the ``remote-store-ext`` wheel.

The extensions (batch, cache, glob, integrity, observe, partition, streams, transfer,
write, …) are shipped by a separate distribution whose import package is
``remote_store_ext``. Two wheels never share one import package, so this package holds
no extension code: importing it installs a small meta-path finder that makes
``remote_store.ext.<name>`` an alias of ``remote_store_ext.<name>`` — the *same* module
object, registered under both names in ``sys.modules``::

    from remote_store.ext.cache import CachedStore   # is remote_store_ext.cache.CachedStore

When ``remote-store-ext`` is not installed the import raises `ModuleNotFoundError`
whose message says what to install (``pip install remote-store-ext``, with the extra
where the module needs one). ``import remote_store`` never imports this package.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

#: The import package that holds the extension modules.
TARGET_PACKAGE = "remote_store_ext"
#: The distribution to install for it.
DISTRIBUTION = "remote-store-ext"

_PREFIX = __name__ + "."

#: Extension modules that need an extra of ``remote-store-ext`` (module name → extra).
EXTRAS: dict[str, str] = {
    "arrow": "arrow",
    "dagster": "dagster",
    "fsspec": "fsspec",
    "otel": "otel",
    "parquet": "arrow",
    "pydantic": "pydantic",
    "yaml": "yaml",
}


def install_hint(name: str) -> str:
    """The ``pip install`` command that provides ``remote_store.ext.<name>``.

    Args:
        name: Module name below ``remote_store.ext`` (``"cache"``, ``"yaml"``, ``"cache.sub"``).
    """
    extra = EXTRAS.get(name.partition(".")[0])
    return f'pip install "{DISTRIBUTION}[{extra}]"' if extra else f"pip install {DISTRIBUTION}"


class _AliasLoader:
    """Loads ``remote_store.ext.X`` by importing ``remote_store_ext.X`` and returning that module.

    A duck-typed loader (``importlib.abc`` is not imported: on 3.11 it pulls in
    ``importlib.resources``, ``tempfile`` and ``shutil``)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._spec: Any = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        try:
            module = importlib.import_module(self.target)
        except ModuleNotFoundError as exc:
            # The extension is installed but a dependency of its extra is not (pyarrow for
            # ``arrow``): name the ``pip install`` that brings it, keeping the original chained.
            missing = exc.name or ""
            if missing.startswith(("remote_store", TARGET_PACKAGE)):
                raise
            name = spec.name[len(_PREFIX) :]
            raise ModuleNotFoundError(
                f"{spec.name} needs the {missing!r} package, which is not installed: {install_hint(name)}",
                name=missing,
            ) from exc
        # The import machinery replaces ``__spec__`` on the module it is handed; keep the
        # real one so reload(), pickling and tooling see ``remote_store_ext.X``.
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        if self._spec is not None:
            module.__spec__ = self._spec


class _AliasFinder:
    """Meta-path finder for ``remote_store.ext.*`` (answers only for that prefix)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_PREFIX):
            return None
        name = fullname[len(_PREFIX) :]
        real = f"{TARGET_PACKAGE}.{name}"
        try:
            found = importlib.util.find_spec(real)
        except ModuleNotFoundError as exc:
            if exc.name != TARGET_PACKAGE:
                raise
            raise _missing(fullname, name) from None
        if found is None:
            return None
        is_package = found.submodule_search_locations is not None
        loader: Any = _AliasLoader(real)
        return importlib.machinery.ModuleSpec(fullname, loader, is_package=is_package)


def _missing(fullname: str, name: str) -> ModuleNotFoundError:
    return ModuleNotFoundError(
        f"{fullname} is provided by the {DISTRIBUTION} distribution, which is not installed: {install_hint(name)}",
        name=fullname,
    )


_FINDER = _AliasFinder()


def _install() -> None:
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)


_install()

__all__ = ["DISTRIBUTION", "EXTRAS", "TARGET_PACKAGE", "install_hint"]
