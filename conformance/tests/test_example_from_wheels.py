"""The example third-party backend, installed from built wheels into a fresh venv, passes the suite."""

from __future__ import annotations

import shutil
from pathlib import Path

from testing.wheels import REPO_ROOT, WheelSet, build_wheel, install, make_venv, run_in_venv, workspace_wheels

__all__ = ["workspace_wheels"]  # the session fixture, used by name below

EXAMPLE = REPO_ROOT / "examples" / "third_party_backend"


def test_example_backend_passes_the_suite_from_wheels(workspace_wheels: WheelSet, tmp_path: Path) -> None:
    core, conformance = workspace_wheels.require("remote-store-core", "remote-store-conformance")
    example = build_wheel(EXAMPLE, tmp_path / "example-wheel")
    python = make_venv(tmp_path / "venv")
    install(python, core, conformance, example, "pytest>=8")

    # Run from a folder outside the repository so no workspace conftest or config applies.
    work = tmp_path / "run"
    shutil.copytree(EXAMPLE / "tests", work / "tests")
    check = run_in_venv(
        python,
        ["-c", "import remote_store, remote_store_conformance, remote_store_jsondir; print(remote_store.__file__)"],
        cwd=work,
    )
    assert check.returncode == 0, check.stderr
    assert str(tmp_path / "venv") in check.stdout, "imports must come from the fresh venv, not the workspace"

    proc = run_in_venv(python, ["-m", "pytest", "tests", "-q", "-rs", "-p", "no:cacheprovider"], cwd=work)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    summary = output.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed >= 300, summary
