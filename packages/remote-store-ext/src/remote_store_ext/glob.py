"""Portable glob for stores whose backend does not declare ``Capability.GLOB`` (memory, SFTP …).

`glob_files` lists recursively from the pattern's literal leading folder (``LIST``) and
matches client-side, with exactly the pattern semantics of `Store.glob`: ``*`` within one
segment, ``?`` one character, ``[abc]`` / ``[!abc]`` classes, ``**`` any number of segments
(none included), case-sensitive, against store-relative paths.

Core keeps its matcher private, so this module carries its own implementation of the same
rules (checked against `Store.glob` by property-based tests).
"""

from __future__ import annotations

from collections.abc import Iterator

from remote_store import Capability, FileInfo, Store
from remote_store.errors import InvalidPath
from remote_store_ext._globmatch import compile_pattern, literal_base, segments


def glob_files(store: Store, pattern: str, *, native: bool = True) -> Iterator[FileInfo]:
    """Yield `FileInfo` for every file whose store-relative path matches ``pattern``, lazily.

    Args:
        store: The store to search (needs LIST, or GLOB when ``native``).
        pattern: Glob over store-relative paths (``"logs/**/*.json"``, ``"a/?.txt"``).
        native: Use `Store.glob` when the backend declares GLOB (the service filters by
            prefix); False always lists and matches client-side.

    Returns:
        An iterator of `FileInfo` (order unspecified).

    Raises:
        InvalidPath: ``pattern`` is not a str, contains ``..`` or NUL, or has a malformed class.
        CapabilityNotSupported: The store has neither GLOB nor LIST.
        BackendUnavailable: The service failed (possibly while iterating).
    """
    if not isinstance(pattern, str):
        raise InvalidPath(f"pattern must be a str, got {type(pattern).__name__}", path=repr(pattern))
    if "\x00" in pattern or ".." in pattern.split("/"):
        raise InvalidPath("glob patterns may not contain '..' segments or NUL", path=pattern.replace("\x00", "\\x00"))
    parts = segments(pattern)
    if not parts:
        return iter(())  # an empty pattern matches nothing (as Store.glob on local/memory)
    if native and store.supports(Capability.GLOB):
        return store.glob(pattern)
    regex = compile_pattern(pattern)
    base = literal_base(parts)
    rest = parts[len(base) :]
    recursive = len(rest) > 1 or "**" in rest
    listing = store.list_files("/".join(base), recursive=recursive)
    return (info for info in listing if regex.fullmatch(info.path))


__all__ = ["glob_files"]
