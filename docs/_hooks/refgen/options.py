"""One options table per backend type, from its `OptionTable` / options dataclass / constructor docstrings."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any

from refgen._util import cell, code, doc_items, summary

MiB = 1024 * 1024


def _modules(cls: type) -> list[Any]:
    """The backend's module and, when it exists, its package's ``_options`` module."""
    mods = [importlib.import_module(cls.__module__)]
    package = cls.__module__.rpartition(".")[0]
    try:
        mods.append(importlib.import_module(f"{package}._options"))
    except ImportError:
        pass
    return mods


def _table_and_dataclass(cls: type) -> tuple[Any, Any]:
    """The `OptionTable` the backend validates against and the options dataclass documenting it."""
    from remote_store.kit import OptionTable

    table = dc = None
    for mod in _modules(cls):
        for value in vars(mod).values():
            if table is None and isinstance(value, OptionTable):
                table = value
            if (
                dc is None
                and isinstance(value, type)
                and dataclasses.is_dataclass(value)
                and value.__module__ == mod.__name__
                and value.__name__.endswith("Options")
            ):
                dc = value
    return table, dc


def _default(value: Any) -> str:
    from remote_store.kit import REQUIRED

    if value is REQUIRED or value is inspect.Parameter.empty:
        return "required"
    shown = code(repr(value.value if hasattr(value, "value") and not isinstance(value, (int, str)) else value))
    if isinstance(value, int) and not isinstance(value, bool) and value >= MiB and value % MiB == 0:
        shown += f" ({value // MiB} MiB)"
    return shown


def _rows(cls: type) -> tuple[list[tuple[str, str, str, str]], str]:
    """``(name, type, default, description)`` per option, and where they came from."""
    table, dc = _table_and_dataclass(cls)
    described = doc_items(cls)
    rows: list[tuple[str, str, str, str]] = []
    if table is not None:
        types = {f.name: str(f.type) for f in dataclasses.fields(dc)} if dc is not None else {}
        described = {**described, **(doc_items(dc) if dc is not None else {})}
        for name, row in table.rows.items():
            text = described.get(name) or row.doc
            if row.aliases:
                text += " Also accepted as " + ", ".join(f"`{a}`" for a in row.aliases) + "."
            rows.append((name, types.get(name, ""), _default(row.default), text))
        source = f"`{table.owner}` option table" + (f" and `{dc.__module__}.{dc.__name__}`" if dc else "")
        return rows, source
    params = inspect.signature(cls).parameters.values()
    for p in params:
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        annotation = "" if p.annotation is inspect.Parameter.empty else str(p.annotation)
        rows.append((p.name, annotation, _default(p.default), described.get(p.name, "")))
    return rows, f"`{cls.__module__}.{cls.__qualname__}` constructor"


def render_options() -> str:
    """The page ``reference/options.md``."""
    import remote_store

    host = remote_store.get_plugin_host()
    lines = [
        "# Backend options",
        "",
        "Generated at build time from each installed backend's option table, options dataclass",
        "and constructor docstrings. Every option can be set in a config file",
        '(`options.<name> = ...` under `[backends.<name>]`, next to `type = "<type>"`) or passed as',
        "a keyword argument to the backend class. Strings from `${VAR}` substitution or URL query",
        'parameters are converted (`"true"`, `"8"`). An unknown option raises `ConfigError`',
        "naming it.",
        "",
    ]
    names = sorted(host.backend_types())
    lines += ["Backends: " + " · ".join(f"[`{n}`](#{n})" for n in names), ""]
    for name in names:
        spec = host.backend_spec(name)
        cls = host.backend_class(name)
        rows, source = _rows(cls)
        if name.startswith("sql-") and name == min(n for n in names if n.startswith("sql-")):
            lines.append('<a id="sql"></a>')
            lines.append("")
        schemes = ", ".join(f"`{s}://`" for s in spec.schemes) or "none (config only)"
        lines += [
            f"## `{name}` {{#{name}}}",
            "",
            f"{spec.description}. Package `{spec.package}`; class `{cls.__module__}.{cls.__qualname__}`;"
            f" URL schemes: {schemes}.",
            "",
            f"> {summary(cls)}",
            "",
            f"From the {source}.",
            "",
            "| option | type | default | description |",
            "|---|---|---|---|",
        ]
        for opt, typ, default, text in rows:
            lines.append(f"| `{opt}` | {code(typ) if typ else ''} | {default} | {cell(text)} |")
        lines.append("")
    return "\n".join(lines)
