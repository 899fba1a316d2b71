"""``remote_store.aio.ext``: async extensions; their code lives in the ``remote-store-ext`` wheel.

``remote_store.aio.ext.<name>`` re-exports ``remote_store_ext.aio_<name>`` (the same
objects). Without ``remote-store-ext`` installed, importing one raises
`ModuleNotFoundError` naming ``pip install remote-store-ext``.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def load(name: str) -> ModuleType:
    """Import ``remote_store_ext.aio_<name>``.

    Raises:
        ModuleNotFoundError: remote-store-ext is not installed (the message names the install command).
    """
    try:
        return importlib.import_module(f"remote_store_ext.aio_{name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("remote_store_ext"):
            raise ModuleNotFoundError(
                f"remote_store.aio.ext.{name} is provided by remote-store-ext, which is not installed: "
                "pip install remote-store-ext",
                name=exc.name,
            ) from None
        raise


__all__ = ["load"]
