"""Hive-style partition paths: ``prefix/key=value/key=value/filename``.

Keys and values are escaped as Hive does it (``FileUtils.escapePathName``): the characters
``"  #  %  '  *  /  :  =  ?  \\  {  [  ]  ^``, DEL and the control characters become
``%XX`` (upper-case hex); everything else, non-ASCII included, is kept. Parsing decodes
every ``%XX`` escape, so paths written by Arrow's ``HivePartitioning`` (which URI-encodes
more characters) parse too. ``None`` and ``""`` are written as ``__HIVE_DEFAULT_PARTITION__``
and parse back as None. Values always parse as ``str`` (no type inference)::

    from remote_store.ext.partition import parse_partition, partition_path

    p = partition_path({"year": 2024, "city": "São Paulo/SP"}, filename="part-0.parquet", prefix="sales")
    # "sales/year=2024/city=São Paulo%2FSP/part-0.parquet"
    parse_partition(p).values     # {"year": "2024", "city": "São Paulo/SP"}
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from remote_store.errors import InvalidPath

#: The directory name Hive (and Arrow, Spark) use for a null or empty partition value.
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"

_ESCAPED = frozenset([chr(c) for c in range(0x00, 0x20)] + list("\"#%'*/:=?\\{[]^") + ["\x7f"])
_HEX = re.compile(r"%([0-9A-Fa-f]{2})")


def _escape(text: str) -> str:
    return "".join(f"%{ord(ch):02X}" if ch in _ESCAPED else ch for ch in text)


def _unescape(text: str) -> str:
    if "%" not in text:
        return text
    # Decode runs of escapes as UTF-8 (Arrow URI-encodes multi-byte characters byte by byte).
    out = bytearray()
    pos = 0
    for m in _HEX.finditer(text):
        out += text[pos : m.start()].encode("utf-8")
        out.append(int(m.group(1), 16))
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return out.decode("utf-8", errors="surrogateescape")


def _format_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (str, int, float)) or hasattr(value, "__str__"):
        return str(value)
    raise InvalidPath(f"cannot use {type(value).__name__} as a partition value")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class ParsedPartition:
    """A path split into its Hive partition parts.

    Attributes:
        prefix: Segments before the first ``key=value`` segment (``""`` when none).
        values: Partition key → decoded value (None for ``__HIVE_DEFAULT_PARTITION__``),
            in path order (read-only mapping).
        filename: What follows the partition segments (``""`` when the path ends with them).
    """

    prefix: str = ""
    values: Mapping[str, str | None] = field(default_factory=dict)
    filename: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    def to_path(self) -> str:
        """Rebuild the path with `partition_path` (canonical escaping)."""
        return partition_path(self.values, filename=self.filename or None, prefix=self.prefix)


def partition_path(
    values: Mapping[str, Any] | Iterable[tuple[str, Any]],
    *,
    filename: str | None = None,
    prefix: str = "",
) -> str:
    """Build ``prefix/k1=v1/k2=v2[/filename]`` with Hive escaping.

    Args:
        values: Partition keys and values in order (a mapping or ``(key, value)`` pairs).
            Values: str, int, float, bool (``true``/``false``), date/datetime (ISO 8601),
            or anything with ``str()``; None and ``""`` become ``__HIVE_DEFAULT_PARTITION__``.
        filename: Trailing file name or sub-path (kept as is; ``/`` separates segments).
        prefix: Leading folder (kept as is).

    Returns:
        The store-relative path.

    Raises:
        InvalidPath: A key is empty or not a str, a key repeats, ``prefix`` / ``filename``
            contain ``..`` segments or NUL, or a prefix segment or the first filename segment
            contains ``=`` (it would parse as a partition).
    """
    items = list(values.items()) if isinstance(values, Mapping) else list(values)
    segs: list[str] = []
    for extra, what in ((prefix, "prefix"), (filename or "", "filename")):
        if not isinstance(extra, str) or "\x00" in extra or ".." in extra.split("/"):
            raise InvalidPath(f"partition {what} may not contain '..' segments or NUL", path=str(extra))
    segs.extend(s for s in prefix.split("/") if s)
    tail = [s for s in (filename or "").split("/") if s]
    if any("=" in s for s in segs) or (tail and "=" in tail[0]):
        raise InvalidPath("prefix segments and the first filename segment may not contain '='", path=prefix)
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise InvalidPath(f"partition values must be (key, value) pairs, got {item!r}")
        key, value = item
        if not isinstance(key, str) or not key:
            raise InvalidPath(f"partition keys must be non-empty str, got {key!r}")
        if key in seen:
            raise InvalidPath(f"partition key {key!r} given twice")
        seen.add(key)
        text = _format_value(value)
        segs.append(f"{_escape(key)}={DEFAULT_PARTITION if not text else _escape(text)}")
    segs.extend(tail)
    return "/".join(segs)


def parse_partition(path: str) -> ParsedPartition:
    """Split ``path`` into prefix, partition values and filename.

    The partition part is the first run of consecutive ``key=value`` segments; segments
    before it are the ``prefix`` and segments after it the ``filename``. Each segment is
    split at its first ``=``.

    Args:
        path: A store-relative path (``"sales/year=2024/month=01/part-0.parquet"``).

    Returns:
        The `ParsedPartition` (empty ``values`` when the path has no partition segment).

    Raises:
        InvalidPath: ``path`` is not a str, a segment has an empty key (``"=x"``), or a key repeats.
    """
    if not isinstance(path, str):
        raise InvalidPath(f"path must be a str, got {type(path).__name__}", path=repr(path))
    segs = [s for s in path.split("/") if s]
    start = next((i for i, s in enumerate(segs) if "=" in s), len(segs))
    end = start
    values: dict[str, str | None] = {}
    while end < len(segs) and "=" in segs[end]:
        raw_key, _, raw_value = segs[end].partition("=")
        if not raw_key:
            raise InvalidPath("partition segment without a key", path=path)
        key = _unescape(raw_key)
        if key in values:
            raise InvalidPath(f"partition key {key!r} repeats", path=path)
        values[key] = None if raw_value in (DEFAULT_PARTITION, "") else _unescape(raw_value)
        end += 1
    return ParsedPartition("/".join(segs[:start]), values, "/".join(segs[end:]))


__all__ = ["DEFAULT_PARTITION", "ParsedPartition", "parse_partition", "partition_path"]
