"""The suite bites: deliberately broken backends fail it, a read-only backend with ``seed`` passes
what applies and skips the rest with capability reasons. Each case runs in a subprocess pytest."""

from __future__ import annotations

import pytest

TEMPLATE = """
import io
from typing import ClassVar

import pytest
from remote_store import Capability, CapabilitySet, WriteResult, WriteSource
from remote_store.backends import MemoryBackend
from remote_store_conformance import BackendConformance


{backend_class}


class TestIt(BackendConformance):
    shares_state_across_processes = False
    rebuilt_backend_shares_files = False

    @pytest.fixture
    def backend(self):
        b = Broken()
        yield b
        b.close()
{extra}
"""


def run(pytester: pytest.Pytester, backend_class: str, *args: str, extra: str = "") -> pytest.RunResult:
    pytester.makepyfile(test_it=TEMPLATE.format(backend_class=backend_class, extra=extra))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", *args)


def test_ignoring_overwrite_false_is_caught(pytester: pytest.Pytester) -> None:
    broken = """
class Broken(MemoryBackend):
    def write(self, key, stream, *, overwrite, metadata):
        return super().write(key, stream, overwrite=True, metadata=metadata)
"""
    result = run(pytester, broken, "-k", "already_exists")
    assert result.parseoutcomes().get("failed", 0) >= 3


def test_idempotent_delete_of_missing_file_is_caught(pytester: pytest.Pytester) -> None:
    broken = """
class Broken(MemoryBackend):
    def delete(self, key, *, missing_ok=False):
        with self._lock:
            self._files.pop(key, None)
"""
    result = run(pytester, broken, "-k", "test_delete_missing_raises_not_found or test_delete_twice")
    result.assert_outcomes(failed=2)


def test_false_lazy_read_claim_is_caught(pytester: pytest.Pytester) -> None:
    broken = """
class Broken(MemoryBackend):
    CAPABILITIES = MemoryBackend.CAPABILITIES | {Capability.LAZY_READ}

    def open_read(self, key):
        return io.BytesIO(bytes(bytearray(self.read_bytes(key))))
"""
    result = run(pytester, broken, "-k", "test_partial_read_does_not_fetch_the_whole_file")
    result.assert_outcomes(failed=1)


def test_false_native_write_result_claim_is_caught(pytester: pytest.Pytester) -> None:
    broken = """
class Broken(MemoryBackend):
    def write(self, key, stream, *, overwrite, metadata):
        r = super().write(key, stream, overwrite=overwrite, metadata=metadata)
        return WriteResult(path=r.path, size=r.size, source=WriteSource.BASIC)
"""
    result = run(pytester, broken, "-k", "test_write_result_native_fields")
    result.assert_outcomes(failed=1)


def test_torn_overwrites_are_caught(pytester: pytest.Pytester) -> None:
    broken = """
class Broken(MemoryBackend):
    CAPABILITIES = MemoryBackend.CAPABILITIES - {Capability.ATOMIC_WRITE}

    def write(self, key, stream, *, overwrite, metadata):
        # publishes the content in two steps: readers can see the first half only
        data = stream.read()
        half = io.BytesIO(data[: len(data) // 2])
        super().write(key, half, overwrite=True, metadata=metadata)
        import time
        time.sleep(0.002)
        return super().write(key, io.BytesIO(data), overwrite=True, metadata=metadata)
"""
    result = run(pytester, broken, "-k", "test_racing_overwrites_never_tear")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*torn read*"])


def test_wrong_error_type_is_caught(pytester: pytest.Pytester) -> None:
    broken = """
class Broken(MemoryBackend):
    def stat(self, key):
        raise KeyError(key)
"""
    result = run(pytester, broken, "-k", "test_get_file_info_missing_raises_not_found")
    result.assert_outcomes(failed=1)


def test_read_only_backend_with_seed(pytester: pytest.Pytester) -> None:
    read_only = """
class Broken(MemoryBackend):
    CAPABILITIES = CapabilitySet({Capability.READ, Capability.LIST, Capability.METADATA})
"""
    extra = """
    @pytest.fixture
    def seed(self, backend):
        def _seed(key, data):
            MemoryBackend.write(backend, key, io.BytesIO(data), overwrite=True, metadata={})
        return _seed
"""
    result = run(pytester, read_only, extra=extra)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()[-3000:]
    assert outcomes["passed"] >= 120
    result.stdout.fnmatch_lines(["*backend does not declare WRITE*", "*backend does not declare GLOB*"])


def test_read_only_backend_without_seed_skips_with_reason(pytester: pytest.Pytester) -> None:
    read_only = """
class Broken(MemoryBackend):
    CAPABILITIES = CapabilitySet({Capability.READ})
"""
    result = run(pytester, read_only, "-k", "test_read_bytes_round_trip or test_write_refused_without_write")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no `seed` fixture*"])
