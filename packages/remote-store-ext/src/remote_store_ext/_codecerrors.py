"""Typed errors of `remote_store_ext.datastore` and `remote_store_ext.path` (all `RemoteStoreError`)."""

from __future__ import annotations

from remote_store.errors import InvalidPath, NotFound, RemoteStoreError


class CodecError(RemoteStoreError):
    """A value could not be encoded or a file could not be decoded.

    Raised for bytes a codec cannot parse (invalid JSON, a truncated Parquet file), for a
    codec whose library is not installed (the message names the ``pip install`` to run),
    and as the base of `NoCodec` and `PickleNotAllowed`.
    """


class NoCodec(CodecError, TypeError):
    """No registered codec handles the value's type, or the codec chosen by the key's
    extension cannot encode the value (``ds["x.csv"] = {"a": 1}``). Also a ``TypeError``."""


class PickleNotAllowed(NoCodec):
    """Pickle was needed but not enabled: unpickling runs arbitrary code, so a ``.pkl`` file is
    read or written only by a ``DataStore(store, allow_pickle=True)``. A `NoCodec` (no safe
    codec stores the value), hence also a ``TypeError``."""


class AmbiguousKey(InvalidPath):
    """A bare key names more than one file (``sales.csv`` and ``sales.parquet``).

    Deliberately not a ``KeyError``: ``ds.get(key)`` and ``ds.pop(key, None)`` must not
    mistake an ambiguous key for a missing one.

    Attributes:
        candidates: The store-relative paths of the matching files, sorted; read one of them
            by its full name (``ds["sales.csv"]``).
    """

    def __init__(
        self,
        message: str = "",
        *,
        path: str | None = None,
        backend: str | None = None,
        candidates: tuple[str, ...] = (),
    ) -> None:
        self.candidates = candidates
        super().__init__(message, path=path, backend=backend)


class KeyNotFound(NotFound, KeyError):
    """No file matches the key: a `NotFound` that is also a ``KeyError``, so ``dict``-style
    code (``ds.get(key)``, ``key in ds``, ``try: ... except KeyError``) keeps working."""
