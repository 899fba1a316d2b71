"""Blob names that store paths cannot address, and retry detection for SDK calls."""

from __future__ import annotations

from typing import Any


def unaddressable(key: str) -> bool:
    """Whether a blob name (relative to the backend root) is no key a `Store` path can name.

    Store paths are normalised (``"a//b"`` → ``"a/b"``, ``"./a"`` → ``"a"``, ``".."``
    refused), so a blob named with an empty segment (``//``, a leading ``/``), a ``.`` or
    ``..`` segment, or a trailing ``/`` can be listed by the service but never read, written
    or deleted through a path.

    Args:
        key: Blob name with the backend prefix removed.
    """
    if not key or key[0] == "/" or key[-1] == "/" or "//" in key:
        return True
    wrapped = f"/{key}/"
    return "/./" in wrapped or "/../" in wrapped


class Attempts:
    """A ``retry_hook`` for one SDK call: records whether azure-core's retry policy resent it.

    Pass an instance as ``retry_hook=`` to a blob operation; after the call, ``retried`` is
    True when at least one more attempt was sent (the first one may then have succeeded on
    the service although its response was lost).
    """

    __slots__ = ("retried",)

    def __init__(self) -> None:
        self.retried = False

    def __call__(self, **kwargs: Any) -> None:
        self.retried = True
