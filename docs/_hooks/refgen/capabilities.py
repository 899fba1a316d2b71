"""The capability matrix: one row per installed backend type, one column per `Capability`."""

from __future__ import annotations

import inspect
from typing import Any

from refgen._util import summary


def _conditional(cls: type, declared: Any) -> tuple[list[Any], str]:
    """Capabilities an instance may add at run time, and the note saying when.

    A backend whose ``capabilities`` property is its own (not `Backend`'s) documents there what
    changes per instance; members named in that docstring but not declared by the class are
    the conditional ones (``SFTP``: ATOMIC_MOVE once the server offers posix-rename).
    """
    from remote_store import Backend, Capability

    prop = inspect.getattr_static(cls, "capabilities", None)
    if prop is None or prop is inspect.getattr_static(Backend, "capabilities"):
        return [], ""
    note = summary(prop)
    named = [c for c in Capability if c.name in note and c not in declared]
    return named, note


def _required_args(cls: type) -> list[str]:
    params = inspect.signature(cls).parameters.values()
    return [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _rows() -> list[tuple[str, str, type, Any]]:
    """``(type, package, class, declared capabilities)`` of every installed backend (sync, then async twins)."""
    import remote_store

    host = remote_store.get_plugin_host()
    rows: list[tuple[str, str, type, Any]] = []
    for name in sorted(host.backend_types()):
        spec = host.backend_spec(name)
        cls: Any = host.backend_class(name)
        rows.append((name, spec.package, cls, cls.CAPABILITIES))
    for name in sorted(host.backend_types()):
        spec = host.backend_spec(name)
        if spec.async_target:
            module, _, attr = spec.async_target.partition(":")
            cls = getattr(__import__(module, fromlist=[attr]), attr)
            declared = cls.CAPABILITIES
            if not declared and not _required_args(cls):
                # An adapter (AsyncMemoryBackend wraps MemoryBackend) declares per instance.
                declared = cls().capabilities
            rows.append((f"{name} (async)", spec.package, cls, declared))
    return rows


def render_capabilities() -> str:
    """The page ``reference/capabilities.md``."""
    from remote_store import Capability

    members = list(Capability)
    lines = [
        "# Capability matrix",
        "",
        "Generated at build time from each installed backend's declared `CAPABILITIES`",
        "(`remote-store plugins` prints the same sets). A method whose capability is missing raises",
        "`CapabilityNotSupported` before any I/O; `store.supports(Capability.X)` asks first.",
        "",
        "✓ declared by the backend class · **opt** declared by an instance only under the",
        "condition in the notes below · — not supported.",
        "",
        "| backend | package | " + " | ".join(f"`{c.name}`" for c in members) + " |",
        "|---|---|" + "|".join(":-:" for _ in members) + "|",
    ]
    notes: list[str] = []
    for name, package, cls, declared in _rows():
        conditional, note = _conditional(cls, declared)
        label = f"`{name}`"
        if note:
            notes.append(f"- **`{name}`** (`{cls.__module__}.{cls.__qualname__}`): {note}")
            label += " [*](#instance-dependent-capabilities)"
        cells = ["✓" if c in declared else "**opt**" if c in conditional else "—" for c in members]
        lines.append(f"| {label} | `{package}` | " + " | ".join(cells) + " |")
    if notes:
        lines += [
            "",
            "## Instance-dependent capabilities",
            "",
            "These backends compute their capabilities per instance; the rule, from each one's",
            "`capabilities` docstring:",
            "",
            *notes,
        ]
    lines += [
        "",
        "## What each capability means",
        "",
        "From the `Capability` docstring:",
        "",
        *[f"> {line}" if line else ">" for line in (inspect.getdoc(Capability) or "").splitlines()],
        "",
        "| capability | value |",
        "|---|---|",
        *[f"| `{c.name}` | `{c.value}` |" for c in members],
    ]
    return "\n".join(lines) + "\n"
