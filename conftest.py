"""Root conftest: loads every server-fixture module in ``testing/servers`` as a plugin, and
prepares the run for pytest-xdist workers (``scripts/test.sh`` runs ``-n 2 --dist loadgroup``).

- Tests that share one expensive, non-reentrant resource stay on one worker: the docs site
  (one ``mkdocs build`` into ``site/`` per module) and the workspace wheels (the session
  fixture ``workspace_wheels`` builds every member, once per worker that uses it). Their
  modules are work units of the ``loadgroup`` scheduler below (`_GROUPS`). pytest-xdist's own
  ``xdist_group`` mark does not work with pytest 9 (xdist 3.8 renames ``item._nodeid``, which
  pytest 9 no longer reads), so the scheduler groups by module path itself; a ``@group``
  suffix, should a fixed xdist add one, is honoured too.
- The slowest tests (the hostile-path fuzz per backend, the stress run per backend) are moved
  to the front of the collection, so the scheduler hands them out first and the two workers
  end together instead of one finishing a 3-minute fuzz alone at the end.
- The one-line sample-size summaries the fuzz, stress and crash tests print (examples, ops,
  trials per backend) are collected from every worker's reports and repeated at the end of
  the run under "sample sizes", so a CI log shows what each backend really got.
"""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import pytest

pytest_plugins = [
    f"testing.servers.{m.name}"
    for m in pkgutil.iter_modules([str(Path(__file__).parent / "testing" / "servers")])
    if not m.name.startswith("_")
]

#: Test module -> work unit: every test of these modules runs on the same worker.
_GROUPS = {
    "tests/test_docs_site.py": "docs-site",
    "tests/test_wheel_installs.py": "wheels",
    "conformance/tests/test_example_from_wheels.py": "wheels",
    "packages/remote-store-ext/tests/test_datastore_wheel.py": "wheels",
}

#: Seconds a slow test took serially (issue 16's figures for 2,000 fuzz examples): run first, slowest first.
_FUZZ_SECONDS = {
    "s3": 204,
    "mysql": 138,
    "sftp": 117,
    "azure": 102,
    "postgres": 67,
    "gcs": 66,
    "http": 64,
    "sqlite": 18,
    "local": 6,
    "fsspec-memory": 6,
    "memory": 1,
}
_FUZZ = re.compile(r"tests/fuzz/test_hostile_paths\.py::test_hostile_paths_\w+\[(?P<kind>[^\]]+)\]")
_STRESS = re.compile(r"tests/stress/test_stress\.py::test_threads_mixed_operations\[")
#: Stress runs take up to REMOTE_STORE_STRESS_SECONDS each: after the big fuzz runs, before the rest.
_STRESS_SECONDS = 30

_SUMMARY = re.compile(r"^(fuzz \S+: \d+ examples|\[stress\] \S+: \d+ ops in|\[crash\] .* trials in)")
_summaries: list[str] = []


def _cost(item: pytest.Item) -> float:
    match = _FUZZ.search(item.nodeid)
    if match:
        return float(_FUZZ_SECONDS.get(match["kind"], 60))
    if _STRESS.search(item.nodeid):
        return float(_STRESS_SECONDS)
    return 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the slow tests first (a stable sort: the rest keep their order)."""
    items.sort(key=lambda item: -_cost(item))


def _group(nodeid: str) -> str | None:
    module = nodeid.split("::", 1)[0]
    return _GROUPS.get(module)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadgroup``: one test per work unit, except the `_GROUPS` modules (one unit each)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):
                return nodeid.split("@")[-1]
            return _group(nodeid) or nodeid

    return ModuleGroupScheduling(config, log)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep the sample-size lines the fuzz / stress / crash tests print (also from xdist workers)."""
    if report.when == "call" and report.passed:
        _summaries.extend(line for line in report.capstdout.splitlines() if _SUMMARY.match(line))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat the collected sample-size lines at the end of the run."""
    if _summaries:
        terminalreporter.section("sample sizes")
        for line in sorted(_summaries):
            terminalreporter.write_line(line[:200])
