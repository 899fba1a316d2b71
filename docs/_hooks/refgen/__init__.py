"""Generators of the reference pages (capability matrix, options, CLI, API, hooks).

Each ``render_*`` function returns one page's Markdown, built from what is installed and
declared at build time — nothing here is copied by hand. ``docs/_hooks/reference.py``
(an MkDocs hook) adds the pages to the build; ``tests/test_docs_site.py`` checks the result.
"""

from refgen.api import api_pages
from refgen.capabilities import render_capabilities
from refgen.cli import render_cli
from refgen.options import render_options

__all__ = ["api_pages", "render_capabilities", "render_cli", "render_options"]
