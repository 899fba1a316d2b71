"""Hypothesis strategies for hostile store paths.

A path is built from segments of many hostile families (``..`` and its encodings, backslashes,
drive letters, NUL and control characters, unicode look-alikes and normalisation forms, very
long names, trailing dots and spaces, reserved device names, URL and glob syntax), joined by
``/`` or look-alike separators, with optional absolute or UNC prefixes and trailing slashes.
Plain segments are mixed in so hostile parts also show up below ordinary folders.
"""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

#: ``..`` and the ways people spell it past a naive check.
DOT_SEGMENTS = [
    "..",
    ".",
    "...",
    "....",
    ". .",
    ".. ",
    " ..",
    "..\t",
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    "%2e.",
    "%252e%252e",
    "%u002e%u002e",
    "..%2f",
    "..%2F",
    "%2e%2e%2f",
    "..%5c",
    "%2e%2e%5c",
    "..%c0%af",
    "..%c1%9c",
    "%c0%ae%c0%ae",
    "\uff0e\uff0e",  # fullwidth full stops
    "\u2024\u2024",  # one dot leader
    "\u2025",  # two dot leader
    "\u0660\u0660",
    "..\u200b",
    "\u200b..",
    ".\u0301.",
]

#: Separators and roots from other systems.
SEPARATOR_SEGMENTS = [
    "\\",
    "\\\\",
    "..\\",
    "..\\..\\canary",
    "a\\..\\..\\b",
    "\\\\server\\share",
    "\\\\?\\C:\\x",
    "\\\\.\\pipe\\x",
    "\uff0f",  # fullwidth solidus
    "\u2215",  # division slash
    "\u2044",  # fraction slash
    "\u29f8",  # big solidus
    "\uff3c",  # fullwidth reverse solidus
    "%2f",
    "%2F",
    "%5c",
    "%252f",
]

#: Windows drive letters, device names and ADS.
WINDOWS_SEGMENTS = [
    "C:",
    "c:",
    "C:\\",
    "C:\\Windows\\win.ini",
    "C:..",
    "Z:x",
    "CON",
    "con.txt",
    "NUL",
    "nul.tar.gz",
    "AUX",
    "PRN",
    "COM1",
    "LPT9",
    "CONIN$",
    "file.txt::$DATA",
    "a:stream",
]

#: URL, shell and glob syntax.
SYNTAX_SEGMENTS = [
    "file:",
    "file:..",
    "s3:",
    "http:",
    "~",
    "~root",
    "$HOME",
    "${HOME}",
    "%USERPROFILE%",
    "?",
    "#",
    "?x=1",
    "#frag",
    ";x",
    "*",
    "**",
    "[a-z]",
    "[!a]",
    "{a,b}",
    "\\*",
    "'",
    '"',
    "`id`",
    "$(id)",
    "a b",
    " ",
    "  ",
    "@",
    "&",
    "+",
    "=",
    "%",
    "%00",
    "%0a",
    "%",
    "%%",
    "%zz",
]

#: Trailing dots and spaces (stripped by some services and filesystems).
TRAILING_SEGMENTS = ["a.", "a..", "a...", "a ", "a. ", "a .", "a.\u200b", ".a", "..a", "a..b", "-", "--", "-rf"]

_CONTROL = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029", "\u202e", "\u200b", "\ufeff", "\ufffe"]
#: Look-alikes whose normalisation forms differ (NFC/NFD/NFKC/NFKD).
_UNICODE_WORDS = [
    "é",
    "café",
    "Å",
    "\u212b",
    "ﬁle",
    "Ⅻ",
    "\uff43\uff4f\uff4e",  # fullwidth "con"
    "ß",
    "ǆ",
    "\u1e9b\u0323",
    "한국어",
    "ñ",
    "Ω",
    "\u2126",
]
_FORMS = ["NFC", "NFD", "NFKC", "NFKD"]


def _pool() -> list[str]:
    """Every literal hostile segment, precomputed (sampling one costs hypothesis a single draw)."""
    out = DOT_SEGMENTS + SEPARATOR_SEGMENTS + WINDOWS_SEGMENTS + SYNTAX_SEGMENTS + TRAILING_SEGMENTS
    out += sorted({unicodedata.normalize(form, word) for word in _UNICODE_WORDS for form in _FORMS})
    out += [a + c + b for c in _CONTROL for a, b in (("", ""), ("a", "b"), ("..", ""), ("", ".."))]
    # 255 bytes is the usual name limit (ext4; NTFS counts UTF-16 units); 1,024 the S3/GCS key limit.
    out += [ch * n for ch in ("a", "é", "\U0001f600", ".") for n in (64, 85, 127, 128, 254, 255, 256, 300, 1024, 1025)]
    out += ["a" * 4097]
    # Lone surrogates cannot be encoded as UTF-8: a backend must refuse them with a typed error.
    out += ["a\ud800", "\udfff", "x\udc80y"]
    return out


POOL = _pool()
PLAIN = st.text(alphabet="abcxyz019_-", min_size=1, max_size=6)


def segments(extra: list[str] | None = None) -> st.SearchStrategy[str]:
    """One path segment: a hostile literal from `POOL` (about half the draws), a plain name,
    or any short text hypothesis comes up with.

    Args:
        extra: More literal segments (e.g. names of symlinks in a local root).
    """
    pool = st.sampled_from(POOL + (extra or []))
    return st.one_of(pool, pool, PLAIN, st.text(min_size=1, max_size=3))


_LEADING = ["", "", "", "/", "//", "///", "\\", "./", "/./", "C:/", "C:\\", "\\\\?\\", "file://", "../", "~/"]
_SEPARATORS = ["/", "/", "/", "//", "/./", "\\", "/\\"]
_TRAILING = ["", "", "", "/", "//", "/.", "/..", ".", " ", "\\", "\x00"]


def hostile_paths(extra: list[str] | None = None, exclude: str = "") -> st.SearchStrategy[str]:
    """A store path built from 1-4 `segments` with hostile leading, joining and trailing parts.

    Args:
        extra: More literal segments (see `segments`).
        exclude: Characters replaced by ``_`` (for emulators that cannot list some names).
    """

    parts_strategy = st.lists(segments(extra), min_size=1, max_size=4)

    @st.composite
    def build(draw: st.DrawFn) -> str:
        parts = draw(parts_strategy)
        out = draw(st.sampled_from(_LEADING)) + parts[0]
        for part in parts[1:]:
            out += draw(st.sampled_from(_SEPARATORS)) + part
        return out + draw(st.sampled_from(_TRAILING))

    if exclude:
        return build().map(lambda p: "".join("_" if c in exclude else c for c in p))
    return build()
