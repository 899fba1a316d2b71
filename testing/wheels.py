"""Build workspace wheels and make fresh virtual environments, for install-from-wheel tests.

Usage in a test module::

    from testing.wheels import WheelSet, build_wheels, install, make_venv, run_in_venv, workspace_wheels

    def test_something(workspace_wheels: WheelSet, tmp_path):
        python = make_venv(tmp_path / "venv")
        install(python, *workspace_wheels.require("remote-store-core"), "pytest")

`workspace_wheels` is a session fixture: every workspace member is built once per test
session (``uv build --wheel``). A member that fails to build does not stop the others; its
error is kept and reported by `WheelSet.require` when a test needs that wheel.
Nothing here runs at import time, and nothing depends on files outside this repository.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: The repository root (the uv workspace root).
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Seconds a single ``uv`` call may take before the helper gives up.
UV_TIMEOUT = 600


def uv_executable() -> str:
    """Path of the ``uv`` binary (``$UV`` under ``uv run``, else from PATH).

    Raises:
        RuntimeError: uv cannot be found.
    """
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise RuntimeError("the `uv` executable is needed to build wheels and venvs; it is not on PATH")
    return found


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without the variables that tie a process to the workspace venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT", "PYTEST_ADDOPTS")
        and not k.startswith("PYTEST_")
    }
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    env.update(extra)
    return env


def _uv(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [uv_executable(), *args],
        cwd=cwd or REPO_ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=UV_TIMEOUT,
        check=False,
    )


def normalize_dist(name: str) -> str:
    """PEP 503 normalised distribution name (``Remote_Store.Core`` → ``remote-store-core``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def workspace_members(root: Path = REPO_ROOT) -> dict[str, Path]:
    """Map each workspace member's distribution name to its folder.

    Reads ``[tool.uv.workspace] members`` / ``exclude`` globs from the root ``pyproject.toml``.
    """
    with open(root / "pyproject.toml", "rb") as f:
        workspace = tomllib.load(f).get("tool", {}).get("uv", {}).get("workspace", {})
    excluded = {Path(p).resolve() for pattern in workspace.get("exclude", []) for p in glob.glob(str(root / pattern))}
    out: dict[str, Path] = {}
    for pattern in workspace.get("members", []):
        for match in sorted(glob.glob(str(root / pattern))):
            folder = Path(match).resolve()
            project = folder / "pyproject.toml"
            if folder in excluded or not project.is_file():
                continue
            with open(project, "rb") as f:
                name = tomllib.load(f).get("project", {}).get("name")
            if name:
                out[normalize_dist(name)] = folder
    return out


def wheel_dist_name(wheel: Path) -> str:
    """Distribution name of a wheel file (``remote_store_core-0.1.0-py3-none-any.whl`` → ``remote-store-core``)."""
    return normalize_dist(wheel.name.split("-", 1)[0])


def build_wheel(project: Path, out_dir: Path) -> Path:
    """Build one project folder into a wheel in ``out_dir`` with ``uv build --wheel``.

    Works for workspace members and for projects outside the workspace (``examples/…``).

    Returns:
        Path of the built wheel.

    Raises:
        RuntimeError: The build failed (message holds uv's output).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    before = set(out_dir.glob("*.whl"))
    proc = _uv("build", "--wheel", "--out-dir", str(out_dir), str(project))
    if proc.returncode != 0:
        raise RuntimeError(f"uv build {project} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    new = sorted(set(out_dir.glob("*.whl")) - before)
    if not new:
        # Rebuilt an identical wheel: pick it by name.
        with open(project / "pyproject.toml", "rb") as f:
            name = normalize_dist(tomllib.load(f)["project"]["name"])
        new = [w for w in out_dir.glob("*.whl") if wheel_dist_name(w) == name]
    if not new:
        raise RuntimeError(f"uv build {project} produced no wheel:\n{proc.stdout}\n{proc.stderr}")
    return new[-1]


@dataclass
class WheelSet:
    """Wheels built from the workspace.

    Attributes:
        dir: Folder holding the wheels.
        wheels: Distribution name → wheel path, for members that built.
        errors: Distribution name → build error, for members that did not.
    """

    dir: Path
    wheels: dict[str, Path] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def require(self, *names: str) -> list[Path]:
        """Return the wheels of ``names``; fail the calling test if one did not build or is unknown."""
        out: list[Path] = []
        for name in names:
            key = normalize_dist(name)
            if key in self.wheels:
                out.append(self.wheels[key])
            elif key in self.errors:
                pytest.fail(f"wheel of {name} did not build:\n{self.errors[key]}", pytrace=False)
            else:
                pytest.fail(f"{name} is not a workspace member (built: {sorted(self.wheels)})", pytrace=False)
        return out


def build_wheels(out_dir: Path, members: dict[str, Path] | None = None) -> WheelSet:
    """Build every workspace member (or ``members``) into ``out_dir``, collecting failures."""
    result = WheelSet(dir=out_dir)
    for name, folder in (members if members is not None else workspace_members()).items():
        try:
            result.wheels[name] = build_wheel(folder, out_dir)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            result.errors[name] = str(exc)
    return result


@pytest.fixture(scope="session")
def workspace_wheels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WheelSet]:
    """Session fixture: wheels of all workspace members, built once (see `WheelSet`)."""
    yield build_wheels(tmp_path_factory.mktemp("workspace-wheels"))


def make_venv(path: Path, python: str | None = None) -> Path:
    """Create a fresh virtual environment at ``path`` (``uv venv``) and return its python.

    Args:
        path: Folder for the venv (a test's ``tmp_path / "venv"``, or ``tmp_path`` itself).
        python: Interpreter to base it on; defaults to the one running the tests.

    Raises:
        RuntimeError: uv could not create it.
    """
    target = path if not path.exists() or not any(path.iterdir()) else path / "venv"
    proc = _uv("venv", "--python", python or sys.executable, str(target))
    if proc.returncode != 0:
        raise RuntimeError(f"uv venv failed:\n{proc.stdout}\n{proc.stderr}")
    exe = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not exe.exists():
        raise RuntimeError(f"uv venv created no interpreter at {exe}")
    return exe


def install(python: Path, *requirements: str | Path) -> None:
    """``uv pip install`` wheels (paths) and requirement strings (from PyPI) into a venv.

    Raises:
        RuntimeError: The install failed (message holds uv's output).
    """
    proc = _uv("pip", "install", "--python", str(python), *(str(r) for r in requirements))
    if proc.returncode != 0:
        raise RuntimeError(f"uv pip install failed:\n{proc.stdout}\n{proc.stderr}")


def run_in_venv(
    python: Path, args: Sequence[str], cwd: Path, timeout: float = UV_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` in ``cwd`` with an environment detached from the workspace venv."""
    env = clean_env(VIRTUAL_ENV=str(python.parent.parent))
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
