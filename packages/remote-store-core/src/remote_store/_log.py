"""The library's loggers. ``logging`` is imported only by modules that log (the plugin host,
the registry, the HTTP backend), so ``import remote_store`` stays cheap; the first of them
attaches the conventional `logging.NullHandler` to the ``remote_store`` logger."""

from __future__ import annotations

import logging

logging.getLogger("remote_store").addHandler(logging.NullHandler())


def get_logger(name: str = "remote_store") -> logging.Logger:
    """Return ``logging.getLogger(name)``; ``name`` is ``remote_store`` or ``remote_store.<part>``."""
    return logging.getLogger(name)
