"""The ``pytest11`` plugin of remote-store-conformance: assertion rewriting, markers, options.

pytest loads it automatically when the distribution is installed (entry point
``remote_store_conformance``). It rewrites asserts in every suite module, so a failing
conformance test shows full diffs in installed and editable installs alike.
"""

from __future__ import annotations

import pytest

SUITE_MODULES = (
    "remote_store_conformance._base",
    "remote_store_conformance._identity",
    "remote_store_conformance._gates",
    "remote_store_conformance._read",
    "remote_store_conformance._write",
    "remote_store_conformance._flat",
    "remote_store_conformance._paths",
    "remote_store_conformance._delete",
    "remote_store_conformance._listing",
    "remote_store_conformance._glob",
    "remote_store_conformance._move_copy",
    "remote_store_conformance._atomic",
    "remote_store_conformance._metadata",
    "remote_store_conformance._errors",
    "remote_store_conformance._concurrency",
    "remote_store_conformance._pickle",
    "remote_store_conformance._integrity",
    "remote_store_conformance._suite",
    "remote_store_conformance.aio._base",
    "remote_store_conformance.aio._tests",
)

pytest.register_assert_rewrite(*SUITE_MODULES)

#: Marker put on every test collected from a `BackendConformance` subclass.
MARKER = "remote_store_conformance"
#: Marker on tests doing heavy I/O (> 1,000 objects, many MiB); deselect with ``-m "not conformance_heavy"``.
HEAVY_MARKER = "conformance_heavy"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--conformance-skip-heavy``: skip tests marked ``conformance_heavy``."""
    group = parser.getgroup("remote-store-conformance")
    group.addoption(
        "--conformance-skip-heavy",
        action="store_true",
        default=False,
        help="skip remote-store conformance tests marked conformance_heavy (pagination over 1,000 keys, large files)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the suite's markers."""
    config.addinivalue_line("markers", f"{MARKER}: a test from the remote-store conformance suite")
    config.addinivalue_line(
        "markers", f"{HEAVY_MARKER}: a conformance test doing heavy I/O (over 1,000 keys or many MiB)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark suite tests, and skip heavy ones when ``--conformance-skip-heavy`` is given."""
    from remote_store_conformance._base import SuiteBase

    skip_heavy = config.getoption("--conformance-skip-heavy", default=False)
    for item in items:
        cls = getattr(item, "cls", None)
        if cls is None or not issubclass(cls, SuiteBase):
            continue
        item.add_marker(MARKER)
        if skip_heavy and item.get_closest_marker(HEAVY_MARKER) is not None:
            item.add_marker(pytest.mark.skip(reason="heavy conformance test skipped by --conformance-skip-heavy"))
