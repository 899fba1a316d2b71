"""The integrity guard and xfail handling, run in a subprocess pytest (pytester)."""

from __future__ import annotations

import pytest

HEADER = """
from typing import ClassVar

import pytest
from remote_store.backends import MemoryBackend
from remote_store_conformance import BackendConformance


class TestMem(BackendConformance):
    shares_state_across_processes = False

    @pytest.fixture
    def backend(self):
        b = MemoryBackend()
        yield b
        b.close()
"""


def run(pytester: pytest.Pytester, body: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_mem=HEADER + body)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_untouched_subclass_passes_the_guard(pytester: pytest.Pytester) -> None:
    result = run(pytester, "", "-k", "test_suite_integrity")
    result.assert_outcomes(passed=1)


def test_overridden_test_fails_the_guard(pytester: pytest.Pytester) -> None:
    body = """
    def test_read_bytes_round_trip(self, store):
        pass
"""
    result = run(pytester, body, "-k", "test_suite_integrity")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_read_bytes_round_trip is overridden in TestMem*"])


def test_deleted_test_fails_the_guard(pytester: pytest.Pytester) -> None:
    body = """
    test_delete_removes_the_file = None
"""
    result = run(pytester, body, "-k", "test_suite_integrity")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_delete_removes_the_file is deleted in TestMem*"])


def test_override_with_xfail_reason_passes_the_guard(pytester: pytest.Pytester) -> None:
    body = """
    xfail_tests: ClassVar[dict[str, str]] = {"test_read_bytes_round_trip": "service mangles bytes"}

    def test_read_bytes_round_trip(self, store):
        assert False, "still broken"
"""
    result = run(pytester, body, "-k", "test_suite_integrity or test_read_bytes_round_trip")
    result.assert_outcomes(passed=1, xfailed=1)


def test_xfail_without_reason_fails_the_guard(pytester: pytest.Pytester) -> None:
    body = """
    xfail_tests: ClassVar[dict[str, str]] = {"test_read_bytes_round_trip": "  "}
"""
    result = run(pytester, body, "-k", "test_suite_integrity")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*needs a non-empty reason string*"])


def test_xfail_of_unknown_test_fails_the_guard(pytester: pytest.Pytester) -> None:
    body = """
    xfail_tests: ClassVar[dict[str, str]] = {"test_no_such_thing": "typo"}
"""
    result = run(pytester, body, "-k", "test_suite_integrity")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_no_such_thing*not a conformance test*"])


def test_guard_itself_cannot_be_xfailed(pytester: pytest.Pytester) -> None:
    body = """
    xfail_tests: ClassVar[dict[str, str]] = {"test_suite_integrity": "please"}
"""
    result = run(pytester, body, "-k", "test_suite_integrity")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot be xfailed*"])


def test_xfail_is_strict(pytester: pytest.Pytester) -> None:
    body = """
    xfail_tests: ClassVar[dict[str, str]] = {"test_read_bytes_round_trip": "thought it was broken"}
"""
    result = run(pytester, body, "-k", "test_read_bytes_round_trip")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*"])


def test_failures_show_rewritten_assert_diffs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad=HEADER.replace(
            "class TestMem",
            "class Broken(MemoryBackend):\n    def read_bytes(self, key):\n        return b'wrong'\n\n\nclass TestMem",
        ).replace("b = MemoryBackend()", "b = Broken()")
    )
    result = pytester.runpytest_subprocess("-k", "test_read_bytes_round_trip")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert b'wrong' == b'Hello, world'*"])


def test_markers_and_heavy_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mem=HEADER)
    result = pytester.runpytest_subprocess(
        "--conformance-skip-heavy", "-rs", "-m", "conformance_heavy and remote_store_conformance"
    )
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*skipped by --conformance-skip-heavy*"])
