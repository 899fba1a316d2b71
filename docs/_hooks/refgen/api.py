"""API reference pages: one mkdocstrings ``:::`` page per public module, found by walking the packages."""

from __future__ import annotations

import importlib
import pkgutil

#: Public modules documented, in nav order; each package's public submodules are added below it.
ROOTS = (
    "remote_store",
    "remote_store.errors",
    "remote_store.backends",
    "remote_store.kit",
    "remote_store.aio",
    "remote_store_s3",
    "remote_store_sftp",
    "remote_store_azure",
    "remote_store_gcs",
    "remote_store_sql",
    "remote_store_ext",
    "remote_store_conformance",
)
#: Packages whose public submodules (no leading underscore) get their own page.
WALK = ("remote_store_ext", "remote_store_conformance", "remote_store.aio")


def _public_submodules(package: str) -> list[str]:
    mod = importlib.import_module(package)
    return sorted(
        f"{package}.{info.name}" for info in pkgutil.iter_modules(mod.__path__) if not info.name.startswith("_")
    )


def modules() -> list[str]:
    """Every module that gets an API page, in order."""
    found: list[str] = []
    for root in ROOTS:
        found.append(root)
        if root in WALK:
            found += _public_submodules(root)
    return found


def api_pages() -> dict[str, str]:
    """``{"reference/api/<module>.md": markdown}`` for every module, plus the index page."""
    pages = {}
    for name in modules():
        pages[f"reference/api/{name}.md"] = f"# `{name}`\n\n::: {name}\n"
    index = ["# API reference", "", "Generated from the docstrings by mkdocstrings.", ""]
    index += [f"- [`{name}`]({name}.md)" for name in modules()]
    pages["reference/api/index.md"] = "\n".join(index) + "\n"
    return pages
