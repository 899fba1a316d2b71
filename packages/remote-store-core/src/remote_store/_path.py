"""The key model: ``/``-separated, relative, never escaping the root."""

from __future__ import annotations

import posixpath

from remote_store.errors import InvalidPath


def normalize_path(path: str, *, allow_root: bool = True) -> str:
    """Validate and normalise a store-relative path.

    Leading/trailing slashes, empty segments and ``.`` segments are dropped.
    ``"/a//b/./c/"`` becomes ``"a/b/c"``; ``""`` and ``"/"`` mean the root.

    Args:
        path: The path as the caller gave it.
        allow_root: Whether the root (``""``) is acceptable (False for file operations).

    Returns:
        The normalised key without leading or trailing ``/``.

    Raises:
        InvalidPath: ``path`` is not a str, contains NUL or a lone surrogate (no UTF-8
            form: services would store a different name), has a ``..`` segment, or is the
            root while ``allow_root`` is False.
    """
    if type(path) is str and not path.isascii() and not _encodable(path):
        raise InvalidPath(
            "path is not valid unicode (lone surrogate)", path=path.encode("utf-8", "backslashreplace").decode()
        )
    if type(path) is str and path and path[0] != "/" and path[-1] != "/" and "//" not in path and "\x00" not in path:
        # Fast path for the common, already-normal key: no empty, "." or ".." segments.
        wrapped = f"/{path}/"
        if "/./" not in wrapped and "/../" not in wrapped:
            return path
    if not isinstance(path, str):
        raise InvalidPath(f"path must be a str, got {type(path).__name__}", path=repr(path))
    if "\x00" in path:
        raise InvalidPath("path contains a NUL character", path=path.replace("\x00", "\\x00"))
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            raise InvalidPath("'..' segments are not allowed", path=path)
        parts.append(segment)
    key = "/".join(parts)
    if not key and not allow_root:
        raise InvalidPath("a file path is required; the store root is not a file", path=path)
    return key


def canonical_path(path: str, *, allow_root: bool = True, folder: bool | None = None) -> str:
    """Validate a store-relative path that must already be canonical (strict keys).

    A canonical path has no leading slash, no empty (``//``) or ``.`` segments, and no
    trailing slash except one after a folder path (``allow_root`` True). Flat stores can
    hold native keys such as ``a//b`` or ``/a`` that `normalize_path` would silently read as
    ``a/b``; strict mode refuses them instead, so a caller never reaches another object.

    Args:
        path: The path as the caller gave it.
        allow_root: Whether the root (``""``) is acceptable.
        folder: Whether one trailing ``/`` is accepted (a folder argument); defaults to
            ``allow_root``. Probes (``exists``) pass False: ``a/`` may name another object.

    Returns:
        The key, as `normalize_path` would return it.

    Raises:
        InvalidPath: Everything `normalize_path` refuses, and any path it would change
            (the message shows the canonical form).
    """
    key = normalize_path(path, allow_root=allow_root)
    if folder is None:
        folder = allow_root
    given = path[:-1] if folder and path.endswith("/") and path != "/" else path
    if given != key:
        raise InvalidPath(
            f"not a canonical key (strict_keys is on): it would be read as {key!r}; "
            "reach such native keys through the backend's native escape hatch",
            path=path,
        )
    return key


def _encodable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def join_key(root: str, path: str) -> str:
    """Join a normalised root and a normalised relative path."""
    if not root:
        return path
    if not path:
        return root
    return f"{root}/{path}"


def strip_root(root: str, key: str) -> str:
    """Turn a backend key back into a store-relative path.

    Raises:
        InvalidPath: ``key`` is not inside ``root``.
    """
    if not root:
        return key
    if key == root:
        return ""
    if key.startswith(root + "/"):
        return key[len(root) + 1 :]
    raise InvalidPath("key is outside the store root", path=key)


def basename(key: str) -> str:
    """Last segment of a key (``"c"`` for ``"a/b/c"``)."""
    return key.rsplit("/", 1)[-1]


def parent(key: str) -> str:
    """Key of the parent folder (``""`` for a top-level key)."""
    return key.rsplit("/", 1)[0] if "/" in key else ""


def depth(relative: str) -> int:
    """Number of segments in a relative key (``"a/b"`` → 2, ``""`` → 0)."""
    return 0 if not relative else relative.count("/") + 1


def is_within(root: str, key: str) -> bool:
    """Whether ``key`` equals ``root`` or lies below it."""
    return not root or key == root or key.startswith(root + "/")


def posix_normpath(path: str) -> str:
    """``posixpath.normpath`` that keeps the empty path empty."""
    return "" if not path else posixpath.normpath(path)
