"""remote-store-conformance: the installable contract suite every remote-store backend must pass.

Subclass `BackendConformance` in a test module and provide a ``backend`` fixture::

    import pytest
    from remote_store_conformance import BackendConformance

    class TestMyConformance(BackendConformance):
        @pytest.fixture
        def backend(self, tmp_path):
            b = MyBackend(root=tmp_path)
            yield b
            b.close()
"""

from __future__ import annotations

from remote_store_conformance._base import (
    Putter,
    Seeder,
    SuiteBase,
    assert_refused,
    payload,
    requires,
    requires_missing,
)
from remote_store_conformance._integrity import canonical_tests
from remote_store_conformance._suite import BackendConformance

__all__ = [
    "BackendConformance",
    "Putter",
    "Seeder",
    "SuiteBase",
    "assert_refused",
    "canonical_tests",
    "payload",
    "requires",
    "requires_missing",
]
