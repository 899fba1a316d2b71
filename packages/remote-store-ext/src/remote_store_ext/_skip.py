"""``skip_existing`` for `remote_store_ext.transfer`: is the destination already this file?

A destination is "the same file" when its size equals the source's and, where both sides
know a content MD5, the MD5s are equal. A store knows one when its etag is a bare
32-digit hex MD5 (S3 single-part objects, the memory and sql-blob backends); a local file
knows one when the other side does (it is hashed then, a local read). ETags of other
shapes (S3 multipart ``…-N``, local ``mtime-size``, Azure ``0x…``) say nothing about
content across two stores, so only the size is compared for them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping

from remote_store import FileInfo, Store
from remote_store.errors import InvalidPath, NotFound

_MD5_HEX = re.compile(r"[0-9a-f]{32}")
_CHUNK = 1024 * 1024


def md5_etag(etag: str | None) -> str | None:
    """The lower-case content MD5 an etag carries, or None when it is not a bare MD5."""
    if etag is None:
        return None
    value = etag.strip('"').lower()
    return value if _MD5_HEX.fullmatch(value) else None


def local_md5(path: str) -> str:
    """MD5 hex of a local file, read in 1 MiB chunks (raises OSError)."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def same_content(
    src_size: int, src_md5: str | None, dst_size: int, dst_md5: str | None, local: Callable[[], str] | None = None
) -> bool:
    """Whether a destination of ``dst_size`` bytes holds the source's content.

    Args:
        src_size: Source size in bytes.
        src_md5: Source content MD5 (from `md5_etag`), or None.
        dst_size: Destination size in bytes.
        dst_md5: Destination content MD5, or None.
        local: For a local side whose MD5 is unknown: computes it (called only when the
            sizes match and the other side's MD5 is known).
    """
    if src_size != dst_size:
        return False
    if local is not None and (src_md5 is None) != (dst_md5 is None):
        digest = local()
        src_md5, dst_md5 = (digest, dst_md5) if src_md5 is None else (src_md5, digest)
    if src_md5 is not None and dst_md5 is not None:
        return src_md5 == dst_md5
    return True


def store_files(store: Store, path: str, *, folder: bool) -> Mapping[str, FileInfo]:
    """Destination files already in ``store``: everything below folder ``path`` (one listing),
    or file ``path`` alone (one ``get_file_info``); empty when there is nothing there."""
    if folder:
        if path.strip("/") and not store.is_folder(path):
            return {}
        return {info.path: info for info in store.list_files(path, recursive=True)}
    try:
        return {path: store.get_file_info(path)}
    except (NotFound, InvalidPath):
        return {}
