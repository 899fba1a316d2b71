"""Glob patterns over ``/``-separated paths, with the semantics of ``Store.glob``.

``*`` matches within one segment, ``?`` one character other than ``/``, ``[abc]`` /
``[!abc]`` / ``[^abc]`` a class (never ``/``), ``**`` as a whole segment any number of
segments (none included). Empty and ``.`` segments and leading/trailing ``/`` are ignored.
An unclosed ``[`` is a literal. Matching is case-sensitive.
"""

from __future__ import annotations

import re

from remote_store.errors import InvalidPath

_WILD = "*?["


def segments(pattern: str) -> list[str]:
    """The pattern's meaningful segments."""
    return [s for s in pattern.split("/") if s not in ("", ".")]


def literal_base(parts: list[str]) -> list[str]:
    """The leading segments without wildcards, excluding the last segment."""
    base: list[str] = []
    for part in parts[:-1]:
        if any(ch in part for ch in _WILD):
            break
        base.append(part)
    return base


def _class(seg: str, start: int) -> tuple[str, int] | None:
    """Translate the class opening at ``seg[start] == '['``; None when it never closes."""
    j = start + 1
    negate = j < len(seg) and seg[j] in "!^"
    if negate:
        j += 1
    first = j
    if j < len(seg) and seg[j] == "]":
        j += 1  # a ']' right after the opening is a member
    while j < len(seg) and seg[j] != "]":
        j += 1
    if j >= len(seg):
        return None
    members = seg[first:j].replace("\\", "\\\\").replace("[", "\\[")
    return ("[^/" if negate else "[") + members + "]", j + 1


def _segment(seg: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(seg):
        ch = seg[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            translated = _class(seg, i)
            if translated is not None:
                out.append(translated[0])
                i = translated[1]
                continue
            out.append(re.escape(ch))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern`` to a regex matched against whole store-relative paths.

    Raises:
        InvalidPath: The pattern has a malformed character class (e.g. a reversed range ``[z-a]``).
    """
    parts = segments(pattern)
    pieces: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            pieces.append(".*" if last else "(?:[^/]+/)*")
        else:
            pieces.append(_segment(part) + ("" if last else "/"))
    try:
        return re.compile("".join(pieces), re.DOTALL)
    except re.error as exc:
        raise InvalidPath(f"malformed glob pattern: {exc}", path=pattern) from None
