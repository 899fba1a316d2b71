"""Unit tests of the pure helpers in ``testing/wheels.py`` (the build itself runs in
``test_example_from_wheels.py``)."""

from __future__ import annotations

from pathlib import Path

from testing.wheels import REPO_ROOT, normalize_dist, wheel_dist_name, workspace_members


def test_workspace_members_include_core_and_conformance() -> None:
    members = workspace_members()
    assert members["remote-store-core"] == REPO_ROOT / "packages" / "remote-store-core"
    assert members["remote-store-conformance"] == REPO_ROOT / "conformance"
    assert all((folder / "pyproject.toml").is_file() for folder in members.values())


def test_examples_are_not_workspace_members() -> None:
    assert "remote-store-jsondir" not in workspace_members()


def test_workspace_members_honour_exclude(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.uv.workspace]\nmembers = ["pkgs/*"]\nexclude = ["pkgs/skip"]\n', encoding="utf-8"
    )
    for name in ("keep", "skip"):
        (tmp_path / "pkgs" / name).mkdir(parents=True)
        (tmp_path / "pkgs" / name / "pyproject.toml").write_text(
            f'[project]\nname = "Demo_{name}"\nversion = "0"\n', encoding="utf-8"
        )
    assert workspace_members(tmp_path) == {"demo-keep": (tmp_path / "pkgs" / "keep").resolve()}


def test_wheel_and_dist_names() -> None:
    assert normalize_dist("Remote_Store.Core") == "remote-store-core"
    assert wheel_dist_name(Path("remote_store_core-0.1.0-py3-none-any.whl")) == "remote-store-core"
