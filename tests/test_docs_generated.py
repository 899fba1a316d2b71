"""Generated documentation stays current, and the author guide cites only suite tests that exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_hooks_page_is_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_hooks_doc.py"), "--check"], cwd=ROOT)
    assert proc.returncode == 0, "docs/hooks.md is stale: run `uv run python scripts/gen_hooks_doc.py`"


def test_hooks_page_lists_every_hook() -> None:
    from remote_store._plugins._hookspecs import RemoteStoreHookSpecs

    page = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    hooks = [n for n in vars(RemoteStoreHookSpecs) if n.startswith("remote_store_")]
    assert hooks
    for name in hooks:
        assert f"## `{name}`" in page


def test_the_author_guide_cites_only_existing_suite_tests() -> None:
    import remote_store_conformance

    suite = Path(remote_store_conformance.__file__).parent
    defined = set(re.findall(r"def (test_\w+)\(", "".join(p.read_text(encoding="utf-8") for p in suite.glob("*.py"))))
    guide = (ROOT / "docs" / "write-a-backend.md").read_text(encoding="utf-8")
    cited = set(re.findall(r"`(test_\w+)`", guide))
    assert len(cited) >= 15
    assert not cited - defined, f"the guide cites tests the suite does not have: {sorted(cited - defined)}"
