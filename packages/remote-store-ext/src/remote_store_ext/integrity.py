"""Client-side content checksums, independent of whether the backend reports digests.

Every function streams in 1 MiB chunks, so memory stays constant whatever the file size.
Algorithms: any ``hashlib`` algorithm (``"md5"``, ``"sha1"``, ``"sha256"``, ``"sha512"``,
``"blake2b"`` …) and ``"crc32"``; digests are lower-case hex in a `remote_store.ContentDigest`.
"""

from __future__ import annotations

import hmac
import io
from collections.abc import Iterable

from remote_store import ContentDigest, Store
from remote_store.errors import ConfigError
from remote_store_ext._hashing import CHUNK_SIZE, hash_chunks, normalize_algorithm, stream_chunks

DEFAULT_ALGORITHM = "sha256"


def content_digest(
    content: bytes | bytearray | memoryview | io.IOBase | Iterable[bytes], algorithm: str = DEFAULT_ALGORITHM
) -> ContentDigest:
    """Checksum local content: bytes, a binary stream (read to its end from its current
    position, in chunks) or an iterable of byte chunks.

    Args:
        content: What to hash.
        algorithm: Hash algorithm name.

    Returns:
        The `ContentDigest`.

    Raises:
        ConfigError: Unknown ``algorithm``.
        TypeError: ``content`` is a str, a text stream, or of another type.
    """
    normalize_algorithm(algorithm)
    if isinstance(content, (bytes, bytearray, memoryview)):
        return hash_chunks([bytes(content)], algorithm)[0]
    if isinstance(content, (str, io.TextIOBase)):
        raise TypeError("content_digest() takes bytes or a binary stream, not text")
    if hasattr(content, "read"):
        return hash_chunks(stream_chunks(content), algorithm)[0]  # type: ignore[arg-type]
    if isinstance(content, Iterable):
        return hash_chunks(content, algorithm)[0]
    raise TypeError(f"cannot hash content of type {type(content).__name__}")


def checksum(
    store: Store, path: str, algorithm: str = DEFAULT_ALGORITHM, *, chunk_size: int = CHUNK_SIZE
) -> ContentDigest:
    """Checksum the file at ``path`` by streaming it (`Store.read`: ``GetObject``, ``open`` …).

    Args:
        store: The store holding the file.
        path: Store-relative file path.
        algorithm: Hash algorithm name.
        chunk_size: Bytes read per call (memory used is about this much).

    Returns:
        The file's `ContentDigest`.

    Raises:
        ConfigError: Unknown ``algorithm`` or ``chunk_size`` < 1.
        NotFound: No such file.
        InvalidPath: ``path`` is malformed or a folder.
        CapabilityNotSupported: The store cannot READ.
        BackendUnavailable: The service failed (also part-way through the stream).
    """
    normalize_algorithm(algorithm)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
    with store.read(path) as stream:
        return hash_chunks(stream_chunks(stream, chunk_size), algorithm)[0]


def verify(store: Store, path: str, expected: ContentDigest) -> bool:
    """Whether the file at ``path`` has the digest ``expected`` (recomputed client-side).

    Args:
        store: The store holding the file.
        path: Store-relative file path.
        expected: Digest to compare with (its ``algorithm`` is used; hex case is ignored).

    Returns:
        True when the content matches.

    Raises:
        TypeError: ``expected`` is not a `ContentDigest`.
        ConfigError: Unknown algorithm.
        NotFound, InvalidPath, CapabilityNotSupported, BackendUnavailable: As `checksum`.
    """
    if not isinstance(expected, ContentDigest):
        raise TypeError(f"expected must be a ContentDigest, got {type(expected).__name__}")
    actual = checksum(store, path, expected.algorithm)
    return hmac.compare_digest(actual.value.encode(), expected.value.strip().lower().encode("utf-8", "replace"))


def verify_hex(store: Store, path: str, hexdigest: str, algorithm: str = DEFAULT_ALGORITHM) -> bool:
    """Whether the file at ``path`` hashes to ``hexdigest`` with ``algorithm``.

    Args:
        store: The store holding the file.
        path: Store-relative file path.
        hexdigest: Expected digest as hex (any case).
        algorithm: Hash algorithm name.

    Returns:
        True when the content matches.

    Raises:
        TypeError: ``hexdigest`` is not a str.
        ConfigError: Unknown algorithm.
        NotFound, InvalidPath, CapabilityNotSupported, BackendUnavailable: As `checksum`.
    """
    if not isinstance(hexdigest, str):
        raise TypeError(f"hexdigest must be a str, got {type(hexdigest).__name__}")
    return verify(store, path, ContentDigest(normalize_algorithm(algorithm), hexdigest))


__all__ = ["checksum", "content_digest", "verify", "verify_hex"]
