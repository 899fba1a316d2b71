"""Root conftest: loads every server-fixture module in ``testing/servers`` as a plugin, and
prepares the run for pytest-xdist workers (``scripts/test.sh`` runs ``-n 2 --dist loadgroup``).

- Tests that share one expensive, non-reentrant resource are kept on one worker with an
  ``xdist_group``: the docs site (one ``mkdocs build`` into ``site/`` per module) and the
  workspace wheels (the session fixture ``workspace_wheels`` builds every member).
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

#: Module path (relative to the repo root) -> xdist group for all its tests.
_MODULE_GROUPS = {"tests/test_docs_site.py": "docs-site"}
#: Fixture -> xdist group for every test that uses it.
_FIXTURE_GROUPS = {"workspace_wheels": "wheels"}

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


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the xdist groups and move the slow tests first (a stable sort: the rest keep their order)."""
    root = Path(str(config.rootpath))
    for item in items:
        try:
            rel = Path(str(item.path)).resolve().relative_to(root).as_posix()
        except ValueError:
            rel = ""
        group = _MODULE_GROUPS.get(rel) or next(
            (g for f, g in _FIXTURE_GROUPS.items() if f in getattr(item, "fixturenames", ())), None
        )
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: -_cost(item))


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
