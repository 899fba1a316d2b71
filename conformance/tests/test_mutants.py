"""Every mutant in the catalogue (``testing/mutants.py``) is killed by the conformance suite.

Each case writes a test module that runs the full `BackendConformance` suite against one broken
backend, in a subprocess (``-x``: the first failing test kills the mutant), and asserts that at
least one test failed. A surviving mutant means the suite does not check a rule the author
guide says it checks: add the check (or, if the mutant is equivalent because `Store` settles
the rule, replace the mutant and correct the guide).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from testing.mutants import MUTANTS, Mutant

EXAMPLE_SRC = Path(__file__).resolve().parents[2] / "examples" / "third_party_backend" / "src"

TEMPLATE = """
import io
import json
import os
import threading
import time
from datetime import datetime, timezone

import pytest
from remote_store import AlreadyExists, Capability, CapabilitySet, InvalidPath, NotFound, RemoteStoreError
from remote_store.backends import MemoryBackend
from remote_store_conformance import BackendConformance
from remote_store_jsondir import JsonDirBackend

{source}


class TestMutant(BackendConformance):
    shares_state_across_processes = {shares}
    rebuilt_backend_shares_files = {shares}

    @pytest.fixture
    def backend(self, tmp_path):
        b = {construct}
        yield b
        b.close()

    @pytest.fixture
    def native_errors(self):
        if {jsondir}:
            return [(json.JSONDecodeError("Expecting value", "", 0), RemoteStoreError)]
        return None
"""


def render(mutant: Mutant) -> str:
    """The test module that runs the suite against ``mutant``."""
    jsondir = mutant.base == "jsondir"
    return TEMPLATE.format(
        source=mutant.source,
        shares=jsondir,
        jsondir=jsondir,
        construct='Broken(root=tmp_path / "docs")' if jsondir else "Broken()",
    )


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_the_suite_kills_the_mutant(mutant: Mutant, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(EXAMPLE_SRC), os.environ.get("PYTHONPATH")])))
    pytester.makepyfile(test_mutant=render(mutant))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-x", "-q", "-rf", "-p", "no:randomly")
    outcomes = result.parseoutcomes()
    output = result.stdout.str()
    assert outcomes.get("errors", 0) == 0 and "error" not in outcomes, output[-3000:]
    killers = re.findall(r"FAILED \S+::(test_\w+)", output)
    assert outcomes.get("failed", 0) >= 1, (
        f"mutant {mutant.name!r} survived the suite: no test checks '{mutant.rule}'\n" + output[-2000:]
    )
    print(f"{mutant.name}: killed by {killers[0] if killers else '?'}")


def test_the_unbroken_example_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # The control: without a mutation the same harness passes, so the kills above are real.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(EXAMPLE_SRC), os.environ.get("PYTHONPATH")])))
    control = Mutant("control", "none", "\nclass Broken(JsonDirBackend):\n    pass\n")
    pytester.makepyfile(test_mutant=render(control))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-p", "no:randomly")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()[-3000:]
    assert outcomes.get("passed", 0) >= 400


def test_catalogue_is_large_and_unique() -> None:
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names))
    assert len(MUTANTS) >= 20
