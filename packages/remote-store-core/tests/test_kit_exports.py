"""`remote_store.kit`'s public surface is exactly its `__all__`, documented, and stdlib-only."""

from __future__ import annotations

import inspect
import subprocess
import sys

import remote_store.kit as kit


def test_all_is_sorted_and_every_name_resolves_with_a_docstring() -> None:
    assert kit.__all__ == sorted(kit.__all__)
    for name in kit.__all__:
        value = getattr(kit, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_no_public_name_outside_all() -> None:
    public = {n for n in vars(kit) if not n.startswith("_")}
    modules = {n for n, v in vars(kit).items() if inspect.ismodule(v)}
    assert public - set(kit.__all__) - modules - {"annotations"} == set()


def test_kit_imports_no_sdk_and_no_plugin_machinery() -> None:
    code = (
        "import sys, remote_store.kit; "
        "bad = [m for m in ('boto3', 'botocore', 'paramiko', 'azure', 'sqlalchemy', 'pluggy') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
