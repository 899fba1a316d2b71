"""API reference pages: one mkdocstrings ``:::`` page per public module, found by walking the packages."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from typing import Any

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


def _static_names(module: Any) -> set[str]:
    """Names the module's source binds at top level (``if TYPE_CHECKING:`` imports included)."""
    names: set[str] = set()
    pending = list(ast.parse(inspect.getsource(module)).body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.If, ast.Try)):  # if TYPE_CHECKING: / try: import ...
            pending += node.body + node.orelse + [s for h in getattr(node, "handlers", []) for s in h.body]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _lazy_exports(name: str) -> list[tuple[str, list[str]]]:
    """``(defining path, exported names)`` of the classes / functions the module exports only
    through a module ``__getattr__`` (griffe cannot see those, so they get their own ``:::``)."""
    module = importlib.import_module(name)
    static = _static_names(module)
    targets: dict[str, list[str]] = {}
    for export in getattr(module, "__all__", []):
        if export in static:
            continue
        obj = getattr(module, export)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            targets.setdefault(f"{obj.__module__}.{obj.__qualname__}", []).append(export)
    return list(targets.items())


def _page(name: str) -> str:
    lines = [f"# `{name}`", "", f"::: {name}", ""]
    for path, exports in _lazy_exports(name):
        shown = " / ".join(f"`{name}.{e}`" for e in exports)
        lines += [
            f"## {shown}",
            "",
            f"Exported by `{name}` on first access (it imports `{path.rpartition('.')[0]}` lazily).",
            "",
            f"::: {path}",
            "    options:",
            "      show_root_heading: false",
            "      heading_level: 3",
            "",
        ]
    return "\n".join(lines)


def api_pages() -> dict[str, str]:
    """``{"reference/api/<module>.md": markdown}`` for every module, plus the index page."""
    pages = {f"reference/api/{name}.md": _page(name) for name in modules()}
    index = [
        "# API reference",
        "",
        "Generated at build time from the docstrings by mkdocstrings: one page per public module.",
        "",
    ]
    for name in modules():
        doc = inspect.getdoc(importlib.import_module(name)) or ""
        first = " ".join(doc.split("\n\n", 1)[0].split())
        index.append(f"- [`{name}`]({name}.md): {first}" if first else f"- [`{name}`]({name}.md)")
    pages["reference/api/index.md"] = "\n".join(index) + "\n"
    return pages
