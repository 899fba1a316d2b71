"""Write docs/hooks.md: every plugin hook with its signature, generated from the hook specs.

Run ``uv run python scripts/gen_hooks_doc.py`` after changing a hook specification;
``tests/test_docs_generated.py`` fails while the committed page is out of date.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


def render() -> str:
    """The page's Markdown text."""
    from remote_store._plugins import _hookspecs

    lines = [
        "# Plugin hooks",
        "",
        "Generated from `remote_store._plugins._hookspecs` by `scripts/gen_hooks_doc.py`; do not edit.",
        "",
        "A plugin is a module with functions decorated `@remote_store.hookimpl`, named by an entry",
        'point in the `remote_store` group (`[project.entry-points.remote_store] name = "pkg._plugin"`).',
        "Implement any subset; each function takes only the arguments it names.",
        "",
    ]
    specs = _hookspecs.RemoteStoreHookSpecs
    for name, fn in sorted(inspect.getmembers(specs, inspect.isfunction)):
        if not name.startswith("remote_store_"):
            continue
        sig = inspect.signature(fn)
        params = ", ".join(
            f"{p.name}: {p.annotation}" if p.annotation is not p.empty else p.name
            for p in sig.parameters.values()
            if p.name != "self"
        )
        shown = f"({params}) -> {sig.return_annotation}"
        opts = getattr(fn, "remote_store_spec", None) or getattr(fn, f"{_hookspecs.PROJECT}_spec", {})
        first = " (first result wins)" if isinstance(opts, dict) and opts.get("firstresult") else ""
        # A signature, not a runnable example: ``text`` keeps the docs example test from running it.
        lines += [f"## `{name}`{first}", "", "```text", f"def {name}{shown}: ...", "```", ""]
        doc = inspect.getdoc(fn) or ""
        lines += [doc, ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    """Write the page; with ``--check``, exit 1 if the committed page differs."""
    text = render()
    if "--check" in sys.argv:
        return 0 if OUT.read_text(encoding="utf-8") == text else 1
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
