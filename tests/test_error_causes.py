"""`NotFound.__cause__` is the native exception wherever the service raised one (README, docs/guides/errors.md).

Per backend kind and operation, on a missing file: the class the cause must be an instance of,
or None where no native exception exists — memory and sql-blob have none (a missing row or
dict entry), and on the object stores `get_file_info` / `delete` / `copy` / `move` /
`delete_folder` learn of the missing key from a HEAD (or listing) primitive that answers "none"
without raising, which keeps `exists()` free of exceptions — except Azure's `delete`, a single
Delete Blob whose 404 is the SDK's error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest

from remote_store import Store
from remote_store.errors import NotFound, RemoteStoreError
from testing.backends import STORE_KINDS, open_store

OPS: dict[str, Callable[[Store], Any]] = {
    "read_bytes": lambda s: s.read_bytes("missing.txt"),
    "read_bytes below a file": lambda s: s.read_bytes("f/a.txt/x"),
    "get_file_info": lambda s: s.get_file_info("missing.txt"),
    "delete": lambda s: s.delete("missing.txt"),
    "copy": lambda s: s.copy("missing.txt", "b.txt"),
    "move": lambda s: s.move("missing.txt", "b.txt"),
    "delete_folder": lambda s: s.delete_folder("nofolder"),
}

_OS = "builtins.OSError"
_NONE = dict.fromkeys(OPS)
_READS = ("read_bytes", "read_bytes below a file")

#: kind -> op -> "module.Class" the cause is an instance of (None: no cause).
EXPECTED: dict[str, dict[str, str | None]] = {
    "memory": _NONE,
    "local": dict.fromkeys(OPS, _OS),
    "sftp": dict.fromkeys(OPS, _OS),
    "s3": {**_NONE, **dict.fromkeys(_READS, "botocore.exceptions.ClientError")},
    # Azure's delete is one Delete Blob whose 404 is the SDK error (no HEAD first).
    "azure": {**_NONE, **dict.fromkeys((*_READS, "delete"), "azure.core.exceptions.ResourceNotFoundError")},
    "gcs": {**_NONE, **dict.fromkeys(_READS, "google.api_core.exceptions.NotFound")},
    "sqlite": _NONE,
    "postgres": _NONE,
    "mysql": _NONE,
    "fsspec-memory": _NONE,
}
assert set(EXPECTED) == set(STORE_KINDS)


def _class(dotted: str) -> type[BaseException]:
    module, _, name = dotted.rpartition(".")
    cls: type[BaseException] = getattr(importlib.import_module(module), name)
    return cls


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_not_found_chains_the_native_exception(kind: str, request: pytest.FixtureRequest) -> None:
    store = open_store(kind, request)
    store.write("f/a.txt", b"x")
    wrong: dict[str, str] = {}
    for op, call in OPS.items():
        with pytest.raises(NotFound) as info:
            call(store)
        cause, want = info.value.__cause__, EXPECTED[kind][op]
        if want is None:
            if cause is not None:
                wrong[op] = f"expected no cause, got {type(cause).__module__}.{type(cause).__name__}"
        elif not isinstance(cause, _class(want)) or isinstance(cause, RemoteStoreError):
            wrong[op] = f"expected a {want}, got {type(cause).__module__}.{type(cause).__name__}"
    assert not wrong, wrong
