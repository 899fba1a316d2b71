"""Hook implementations: register the ``jsondir`` backend type and URL scheme."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from remote_store import BackendSpec, hookimpl


@hookimpl
def remote_store_register_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register ``jsondir`` (class named by a string: nothing is imported until it is used)."""
    register(
        BackendSpec(
            type="jsondir",
            target="remote_store_jsondir._backend:JsonDirBackend",
            package="remote-store-jsondir",
            schemes=("jsondir",),
            from_url="remote_store_jsondir._plugin:from_url",
            description="One JSON document per file in a local folder (example plugin)",
        )
    )


def from_url(url: urllib.parse.SplitResult) -> tuple[dict[str, object], str]:
    """``jsondir:///abs/folder`` → ``JsonDirBackend(root="/abs/folder")`` at the store root."""
    return {"root": urllib.parse.unquote(url.path) or "/"}, ""
