"""Plugins, ours included, import only public core names (``remote_store``, ``remote_store.errors``,
``remote_store.kit``, ``remote_store.backends``): a third-party author can do everything we do."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_SOURCES = sorted(
    p
    for pattern in ("packages/remote-store-*/src/**/*.py", "examples/third_party_backend/src/**/*.py")
    for p in ROOT.glob(pattern)
    if "remote-store-core" not in p.parts
)


def private_core_imports(path: Path) -> list[str]:
    """Names of private core modules (``remote_store._x`` …) that ``path`` imports."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "remote_store" and any(part.startswith("_") for part in parts[1:]):
                found.append(name)
    return found


def test_there_are_plugin_sources_to_check() -> None:
    assert len(PLUGIN_SOURCES) > 20


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugin_imports_only_public_core_names(path: Path) -> None:
    assert private_core_imports(path) == []


def test_the_check_catches_a_private_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from remote_store._backend import compile_glob\nimport remote_store._secret\n")
    assert private_core_imports(bad) == ["remote_store._backend", "remote_store._secret"]
