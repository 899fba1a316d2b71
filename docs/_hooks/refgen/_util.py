"""Small helpers shared by the generators: Google-style docstring sections, table cells."""

from __future__ import annotations

import inspect
from typing import Any


def doc_items(obj: Any, kinds: tuple[str, ...] = ("parameters", "attributes")) -> dict[str, str]:
    """Name → description from the ``Args:`` / ``Attributes:`` sections of ``obj``'s docstring."""
    from griffe import Docstring

    text = inspect.getdoc(obj) or ""
    found: dict[str, str] = {}
    # Out of context (no signature), griffe would warn about every untyped parameter: the
    # strict build checks docstrings through mkdocstrings, which sees the annotations.
    sections = Docstring(text).parse("google", warnings=False)
    for section in sections:
        if section.kind.value in kinds:
            for item in section.value:
                found.setdefault(item.name.lstrip("*"), item.description)
    return found


def summary(obj: Any) -> str:
    """The first paragraph of ``obj``'s docstring, on one line."""
    text = inspect.getdoc(obj) or ""
    return " ".join(text.split("\n\n", 1)[0].split())


def cell(text: str) -> str:
    """Text made safe for one Markdown table cell (one line, pipes escaped)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text: str) -> str:
    """``text`` as an inline code span inside a table cell (the tables extension keeps pipes in code)."""
    text = " ".join(str(text).split())
    ticks = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"
