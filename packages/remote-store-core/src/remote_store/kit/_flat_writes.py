"""Writes of a `FlatKeyBackend`: one `MultipartWriter` over the backend's primitives, bound to one key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from remote_store._models import WriteResult
from remote_store.kit._multipart import MultipartPolicy, MultipartWriter

if TYPE_CHECKING:
    from remote_store.kit._flat import FlatKeyBackend

__all__ = ["ObjectTarget", "open_writer"]


def open_writer(
    backend: FlatKeyBackend, name: str, key: str, *, overwrite: bool, metadata: Mapping[str, str]
) -> MultipartWriter:
    """A `MultipartWriter` publishing native key ``name`` (one put when the class has no
    ``MULTIPART``); an upload whose abort failed is recorded for `collect_garbage`."""
    policy = backend._multipart
    if not backend.MULTIPART:
        policy = MultipartPolicy(policy.part_size, 2**62, 1, 1)
    return MultipartWriter(
        ObjectTarget(backend, name, key, overwrite=overwrite, metadata=metadata),
        policy,
        key=key,
        on_abandoned=lambda upload_id: backend._abandon(name, upload_id),
    )


class ObjectTarget:
    """The `MultipartTarget` of one write on a `FlatKeyBackend` (its primitives, bound to one key).

    Args:
        backend: The backend whose primitives are called.
        name: Native object key.
        key: Backend key (for results and messages).
        overwrite: When False the publishing call is a conditional create.
        metadata: User metadata of the new object.
    """

    def __init__(
        self, backend: FlatKeyBackend, name: str, key: str, *, overwrite: bool, metadata: Mapping[str, str]
    ) -> None:
        self._b = backend
        self._name = name
        self._key = key
        self._overwrite = overwrite
        self._metadata = metadata

    def put(self, data: bytes | bytearray, size: int) -> WriteResult:
        """`FlatKeyBackend.put_object`."""
        return self._b.put_object(self._name, data, key=self._key, overwrite=self._overwrite, metadata=self._metadata)

    def create(self) -> str:
        """`FlatKeyBackend.create_multipart`."""
        return self._b.create_multipart(self._name, metadata=self._metadata)

    def upload_part(self, upload_id: str, number: int, data: bytes | bytearray) -> Any:
        """`FlatKeyBackend.upload_part`."""
        return self._b.upload_part(self._name, upload_id, number, data)

    def complete(self, upload_id: str, parts: Sequence[Any], size: int) -> WriteResult:
        """`FlatKeyBackend.complete_multipart`."""
        return self._b.complete_multipart(
            self._name,
            upload_id,
            parts,
            key=self._key,
            size=size,
            overwrite=self._overwrite,
            metadata=self._metadata,
        )

    def abort(self, upload_id: str) -> None:
        """`FlatKeyBackend.abort_multipart`."""
        self._b.abort_multipart(self._name, upload_id)
