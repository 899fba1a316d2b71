"""Async writes that return a client-side content digest: `write_with_hash` for `AsyncStore`.

Imported as ``remote_store.aio.ext.write``. The digest is computed while the content
streams to the backend (one pass, constant memory) and returned in the `WriteResult`'s
``digest`` with ``source=WriteSource.SIDECAR``; the backend's other fields are kept::

    from remote_store.aio.ext.write import write_with_hash

    result = await write_with_hash(store, "data.bin", chunks(), algorithm="sha256")
    result.digest            # ContentDigest("sha256", "…")
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, AsyncIterator, Mapping

from remote_store import ContentDigest, WriteResult, WriteSource
from remote_store.aio import AsyncStore
from remote_store_ext._hashing import digest_of, new_hasher, normalize_algorithm


def _with_digest(result: WriteResult, digest: ContentDigest) -> WriteResult:
    return dataclasses.replace(result, digest=digest, source=WriteSource.SIDECAR)


async def _stored_digest(store: AsyncStore, path: str, algorithm: str) -> ContentDigest:
    hasher = new_hasher(algorithm)
    async with store.read(path) as stream:
        async for chunk in stream:
            hasher.update(chunk)
    return digest_of(hasher, algorithm)


async def write_with_hash(
    store: AsyncStore,
    path: str,
    content: bytes | bytearray | memoryview | AsyncIterable[bytes],
    *,
    algorithm: str = "sha256",
    overwrite: bool = False,
    metadata: Mapping[str, str] | None = None,
    atomic: bool = False,
) -> WriteResult:
    """Write ``content`` (`AsyncStore.write`, or `AsyncStore.write_atomic` when ``atomic``), hashing it on the way.

    Args:
        store: Target async store.
        path: Store-relative file path.
        content: Bytes-like, or an async iterable of byte chunks (consumed once, never loaded whole).
        algorithm: Hash algorithm name (``"sha256"``, ``"md5"``, ``"crc32"`` …).
        overwrite: Replace an existing file.
        metadata: User metadata (needs USER_METADATA).
        atomic: Use `AsyncStore.write_atomic` (needs ATOMIC_WRITE).

    Returns:
        The backend's `WriteResult` with ``digest`` = the client-side digest and
        ``source`` = `WriteSource.SIDECAR`. If the backend stored a different byte count
        than was hashed, the stored file is read back and hashed instead.

    Raises:
        ConfigError: Unknown ``algorithm``.
        AlreadyExists, InvalidPath, CapabilityNotSupported, BackendUnavailable: As `AsyncStore.write`.
        TypeError: ``content`` is a str or of another type.
    """
    algorithm = normalize_algorithm(algorithm)
    hasher = new_hasher(algorithm)
    seen = 0
    source: bytes | AsyncIterator[bytes]
    if isinstance(content, (bytes, bytearray, memoryview)):
        source = bytes(content)
        hasher.update(source)
        seen = len(source)
    elif isinstance(content, str):
        raise TypeError("write_with_hash() takes bytes or an async iterable of bytes; encode text first")
    elif isinstance(content, AsyncIterable):

        async def chunks(it: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
            nonlocal seen
            async for chunk in it:
                if isinstance(chunk, (bytes, bytearray, memoryview)):
                    hasher.update(chunk)
                    seen += len(chunk)
                yield chunk

        source = chunks(content)
    else:
        raise TypeError(f"cannot write content of type {type(content).__name__}")
    write = store.write_atomic if atomic else store.write
    result = await write(path, source, overwrite=overwrite, metadata=metadata)
    if seen != result.size:
        return _with_digest(result, await _stored_digest(store, path, algorithm))
    return _with_digest(result, digest_of(hasher, algorithm))


__all__ = ["write_with_hash"]
