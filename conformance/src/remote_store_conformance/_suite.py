"""`BackendConformance`: every topic mixin combined into the class authors subclass."""

from __future__ import annotations

from remote_store_conformance._atomic import AtomicTests
from remote_store_conformance._concurrency import ConcurrencyTests
from remote_store_conformance._delete import DeleteTests
from remote_store_conformance._errors import ErrorTests
from remote_store_conformance._flat import FlatKeyTests
from remote_store_conformance._gates import GateTests
from remote_store_conformance._glob import GlobTests
from remote_store_conformance._identity import CloseTests, IdentityTests
from remote_store_conformance._integrity import IntegrityTests
from remote_store_conformance._listing import ListingTests
from remote_store_conformance._metadata import MetadataTests
from remote_store_conformance._move_copy import AtomicMoveTests, CopyTests, MoveTests
from remote_store_conformance._paths import BackendRootTests, PathTests
from remote_store_conformance._pickle import PickleTests
from remote_store_conformance._read import ReadTests
from remote_store_conformance._write import WriteTests


class BackendConformance(
    IdentityTests,
    GateTests,
    ReadTests,
    WriteTests,
    FlatKeyTests,
    PathTests,
    BackendRootTests,
    DeleteTests,
    ListingTests,
    GlobTests,
    MoveTests,
    CopyTests,
    AtomicMoveTests,
    AtomicTests,
    MetadataTests,
    ErrorTests,
    ConcurrencyTests,
    PickleTests,
    CloseTests,
    IntegrityTests,
):
    """The remote-store contract as pytest tests. Subclass it and provide a ``backend`` fixture::

        import pytest
        from remote_store_conformance import BackendConformance

        class TestMyConformance(BackendConformance):
            @pytest.fixture
            def backend(self, tmp_path):
                b = MyBackend(root=tmp_path)  # fresh, empty, unique root
                yield b
                b.close()

    Every test whose capabilities the backend declares runs; the others are skipped with
    ``"backend does not declare <CAPABILITY>"``, and a symmetric test checks that the gated
    method raises `remote_store.errors.CapabilityNotSupported`.

    Class attributes:
        xfail_tests: ``{"test_name": "reason"}``: expected failures (strict). A reason is required.
        shares_state_across_processes: Set False when files live in one process only (memory).

    Optional fixtures: ``seed`` (see `SuiteBase`) for backends without WRITE, ``store_root``
    to choose the folder the ``store`` fixture is rooted at.
    """
