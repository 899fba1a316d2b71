"""Writes that always return a client-side content digest, whatever the backend reports.

The digest is computed while the content streams to the backend (one pass, constant
memory) and returned in the `WriteResult`'s ``digest`` with
``source=WriteSource.SIDECAR``; the backend's other fields (etag, version id,
last-modified) are kept::

    from remote_store.ext.write import open_atomic_with_hash, write_with_hash

    result = write_with_hash(store, "data.bin", chunks, algorithm="sha256")
    result.digest            # ContentDigest("sha256", "…")

    with open_atomic_with_hash(store, "out.bin") as f:
        f.write(b"...")
    f.result.digest
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO

from remote_store import ContentDigest, Store, WritableContent, WriteResult, WriteSource
from remote_store_ext._hashing import digest_of, new_hasher, normalize_algorithm
from remote_store_ext.integrity import checksum
from remote_store_ext.streams import ChecksumReader, ChecksumWriter


def _with_digest(result: WriteResult, digest: ContentDigest) -> WriteResult:
    return dataclasses.replace(result, digest=digest, source=WriteSource.SIDECAR)


def write_with_hash(
    store: Store,
    path: str,
    content: WritableContent,
    *,
    algorithm: str = "sha256",
    overwrite: bool = False,
    metadata: Mapping[str, str] | None = None,
    atomic: bool = False,
) -> WriteResult:
    """Write ``content`` (`Store.write`, or `Store.write_atomic` when ``atomic``) and hash it on the way.

    Args:
        store: Target store.
        path: Store-relative file path.
        content: Bytes-like, a binary stream (read once, from its current position), or an
            iterable of byte chunks; never loaded whole.
        algorithm: Hash algorithm name (``"sha256"``, ``"md5"``, ``"crc32"`` …).
        overwrite: Replace an existing file.
        metadata: User metadata (needs USER_METADATA).
        atomic: Use `Store.write_atomic` (needs ATOMIC_WRITE).

    Returns:
        The backend's `WriteResult` with ``digest`` = the client-side digest and
        ``source`` = `WriteSource.SIDECAR`.

    Raises:
        ConfigError: Unknown ``algorithm``.
        AlreadyExists, InvalidPath, CapabilityNotSupported, BackendUnavailable: As `Store.write`.
        TypeError: ``content`` is a str or of another type.
    """
    algorithm = normalize_algorithm(algorithm)
    hashed: int
    if isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
        hasher = new_hasher(algorithm)
        hasher.update(data)
        source: WritableContent = data
        hashed = len(data)

        def digest() -> ContentDigest:
            return digest_of(hasher, algorithm)

        def count() -> int:
            return hashed
    elif isinstance(content, (str, io.TextIOBase)):
        raise TypeError("write_with_hash() takes bytes or a binary stream; encode text first")
    elif hasattr(content, "read"):
        reader = ChecksumReader(content, algorithm, close_inner=False)  # type: ignore[arg-type]
        source = reader  # type: ignore[assignment]

        def digest() -> ContentDigest:
            return reader.digest()

        def count() -> int:
            return reader.bytes_read
    elif isinstance(content, Iterable):
        hasher = new_hasher(algorithm)
        seen = [0]

        def chunks(it: Iterable[bytes]) -> Iterator[bytes]:
            for chunk in it:
                if isinstance(chunk, (bytes, bytearray, memoryview)):
                    hasher.update(chunk)
                    seen[0] += len(chunk)
                yield chunk

        source = chunks(content)

        def digest() -> ContentDigest:
            return digest_of(hasher, algorithm)

        def count() -> int:
            return seen[0]
    else:
        raise TypeError(f"cannot write content of type {type(content).__name__}")
    write = store.write_atomic if atomic else store.write
    result = write(path, source, overwrite=overwrite, metadata=metadata)
    if count() != result.size:
        # The backend did not consume exactly what was hashed: hash what was stored instead.
        return _with_digest(result, checksum(store, path, algorithm))
    return _with_digest(result, digest())


class HashedAtomicHandle(ChecksumWriter):
    """The stream `open_atomic_with_hash` yields: hashes what is written; ``result`` after a clean exit.

    Attributes:
        result: The `WriteResult` (with the client-side ``digest``) once the block exited cleanly.
        bytes_written: Bytes written so far.
    """

    result: WriteResult | None

    def __init__(self, stream: IO[bytes], algorithm: str) -> None:
        super().__init__(stream, algorithm, close_inner=False)
        self.result = None


@contextmanager
def open_atomic_with_hash(
    store: Store,
    path: str,
    *,
    algorithm: str = "sha256",
    overwrite: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> Iterator[HashedAtomicHandle]:
    """`Store.open_atomic` that hashes the streamed bytes: ``with open_atomic_with_hash(s, p) as f: f.write(...)``.

    The file is published only when the block exits cleanly; then ``f.result`` is the
    `WriteResult` with the client-side ``digest`` (``source=SIDECAR``). If the block raises,
    nothing is published and the previous file stays intact.

    Args:
        store: Target store (needs ATOMIC_WRITE).
        path: Store-relative file path.
        algorithm: Hash algorithm name.
        overwrite: Replace an existing file.
        metadata: User metadata (needs USER_METADATA).

    Raises:
        ConfigError: Unknown ``algorithm``.
        CapabilityNotSupported: No ATOMIC_WRITE (or metadata without USER_METADATA).
        AlreadyExists: ``overwrite`` is False and the file exists (at open or at commit).
        InvalidPath, BackendUnavailable: As `Store.open_atomic`.
    """
    algorithm = normalize_algorithm(algorithm)
    with store.open_atomic(path, overwrite=overwrite, metadata=metadata) as raw:
        handle = HashedAtomicHandle(raw, algorithm)  # type: ignore[arg-type]
        yield handle
    assert raw.result is not None
    handle.result = _with_digest(raw.result, handle.digest())


__all__ = ["HashedAtomicHandle", "open_atomic_with_hash", "write_with_hash"]
