"""Incremental hashers by algorithm name (hashlib algorithms plus CRC-32)."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from typing import IO, Protocol

from remote_store import ContentDigest
from remote_store.errors import ConfigError

#: Bytes read per chunk when hashing a stream.
CHUNK_SIZE = 1024 * 1024

#: Algorithms every installation supports (``hashlib.algorithms_available`` may add more).
ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b", "blake2s", "crc32")


class Hasher(Protocol):
    """What `new_hasher` returns: ``update(bytes)`` and ``hexdigest()``."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


class _Crc32:
    """CRC-32 (zlib / ISO-HDLC) as 8 lower-case hex digits, big-endian."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self._value = zlib.crc32(data, self._value)

    def hexdigest(self) -> str:
        return f"{self._value & 0xFFFFFFFF:08x}"


def normalize_algorithm(algorithm: str) -> str:
    """Lower-case ``algorithm`` and check it is supported.

    Raises:
        ConfigError: Unknown algorithm (or not a str).
    """
    if not isinstance(algorithm, str):
        raise ConfigError(f"algorithm must be a str, got {type(algorithm).__name__}")
    name = algorithm.lower().replace("-", "")
    if name == "crc32" or name in hashlib.algorithms_available:
        if name.startswith("shake_"):
            raise ConfigError(f"variable-length digest {algorithm!r} is not supported")
        return name
    raise ConfigError(f"unknown checksum algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")


def new_hasher(algorithm: str) -> Hasher:
    """Return a fresh incremental hasher for ``algorithm``.

    Raises:
        ConfigError: Unknown algorithm.
    """
    name = normalize_algorithm(algorithm)
    if name == "crc32":
        return _Crc32()
    return hashlib.new(name)


def digest_of(hasher: Hasher, algorithm: str) -> ContentDigest:
    """Wrap ``hasher``'s current value as a `ContentDigest`."""
    return ContentDigest(algorithm=normalize_algorithm(algorithm), value=hasher.hexdigest())


def hash_chunks(chunks: Iterable[bytes], algorithm: str) -> tuple[ContentDigest, int]:
    """Hash an iterable of byte chunks; return the digest and the byte count."""
    hasher = new_hasher(algorithm)
    size = 0
    for chunk in chunks:
        hasher.update(chunk)
        size += len(chunk)
    return digest_of(hasher, algorithm), size


def stream_chunks(stream: IO[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield chunks of at most ``chunk_size`` bytes until ``stream`` is exhausted.

    Raises:
        TypeError: The stream returns str (a text stream).
    """
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise TypeError("expected a binary stream, got text")
        yield chunk
