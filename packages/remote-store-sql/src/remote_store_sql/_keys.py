"""Key limits and the key arithmetic behind prefix range scans (pure functions, no I/O)."""

from __future__ import annotations

from remote_store.errors import InvalidPath

#: Longest key accepted, in UTF-8 bytes (the index limits of every supported database fit it).
MAX_KEY_BYTES = 1024
#: Most ``/``-separated segments a key may have (1024 bytes hold at most 512 one-byte segments).
MAX_KEY_DEPTH = 512


def check_key(key: str) -> None:
    """Refuse a key no database can store, before any statement runs.

    Raises:
        InvalidPath: ``key`` is not UTF-8 encodable, longer than `MAX_KEY_BYTES` bytes, or has
            more than `MAX_KEY_DEPTH` segments (the message names the limit).
    """
    try:
        n = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidPath("key is not encodable as UTF-8", path=key) from None
    if n > MAX_KEY_BYTES:
        raise InvalidPath(f"key is {n} bytes long; the sql-blob limit is {MAX_KEY_BYTES} bytes (UTF-8)", path=key)
    depth = key.count("/") + 1
    if depth > MAX_KEY_DEPTH:
        raise InvalidPath(f"key has {depth} segments; the sql-blob limit is {MAX_KEY_DEPTH}", path=key)


def parents(key: str) -> list[str]:
    """Every ancestor key of ``key``: ``"a/b/c"`` → ``["a", "a/b"]``."""
    parts = key.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def folder_upper(key: str) -> str:
    """Smallest string above every ``key + '/' + …`` (``'/'`` + 1 is ``'0'``)."""
    return key + "0"


def next_string(prefix: str) -> str | None:
    """Smallest string greater than every string starting with ``prefix`` (None if unbounded)."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF and not (0xD7FF <= last < 0xDFFF):
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None


def glob_literal(pattern: str) -> str:
    """The literal text a glob pattern starts with (``[c]`` one-character classes count as literal)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch in "*?":
            break
        if ch == "[":
            if i + 2 < n and pattern[i + 2] == "]" and pattern[i + 1] not in "!^]":
                out.append(pattern[i + 1])
                i += 3
                continue
            break
        out.append(ch)
        i += 1
    return "".join(out)
