"""Fixtures, capability gating and xfail handling shared by every conformance topic."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, TypeVar

import pytest

from remote_store import Backend, Capability, FileInfo, Store
from remote_store.errors import CapabilityNotSupported, RemoteStoreError

F = TypeVar("F", bound=Callable[..., Any])

#: Type of the ``seed`` fixture: ``seed(key, data)`` stores ``data`` (bytes) at backend key ``key``.
Seeder = Callable[[str, bytes], None]
#: Type of the ``put`` fixture: ``put(path, data=b"...")`` creates a file below the ``store`` root.
Putter = Callable[..., None]

_REQUIRES_ATTR = "_rsc_requires"
_REQUIRES_MISSING_ATTR = "_rsc_requires_missing"


def requires(*capabilities: Capability) -> Callable[[F], F]:
    """Mark a suite test as needing every capability in ``capabilities``.

    On a backend that does not declare one of them the test is skipped with the reason
    ``"backend does not declare <NAME>"``.

    Args:
        capabilities: `Capability` members the test exercises.
    """

    def mark(fn: F) -> F:
        setattr(fn, _REQUIRES_ATTR, tuple(capabilities))
        return fn

    return mark


def requires_missing(capability: Capability) -> Callable[[F], F]:
    """Mark a suite test that checks the gate of ``capability``: it runs only when the backend
    does *not* declare it, and is skipped (with the reason) otherwise."""

    def mark(fn: F) -> F:
        setattr(fn, _REQUIRES_MISSING_ATTR, capability)
        return fn

    return mark


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes.

    Args:
        size: Length in bytes.
        seed: Different seeds give different content.
    """
    return random.Random(seed).randbytes(size)


def paths(items: Iterable[FileInfo | Any]) -> list[str]:
    """Sorted ``path`` attributes (or the items themselves, for str listings)."""
    return sorted(i if isinstance(i, str) else i.path for i in items)


class SuiteBase:
    """Fixtures every topic mixin uses. Authors subclass `BackendConformance`, not this.

    Fixtures an author provides:
        backend: **Required.** Yield a fresh `remote_store.Backend` whose root is empty and
            unique to the test (temp dir, bucket, prefix, table prefix); close it afterwards.
        seed: Optional. For backends without WRITE (read-only HTTP, say): return a callable
            ``seed(key, data)`` that places ``data`` at backend key ``key`` through a side
            channel, so read, list and metadata tests can run.
        native_errors: Optional. A list of ``(native exception, expected error class)`` pairs:
            the suite checks that `Backend.translate_error` maps each (directly and through
            `Store`), so a lost connection reaches callers as ``BackendUnavailable``.
        unreachable_backend: Optional. Yield a backend whose service cannot be reached; the
            suite checks that every call fails with ``BackendUnavailable``.

    Class attributes an author may set:
        xfail_tests: ``{"test_name": "reason"}`` — expected failures, each with a reason.
        shares_state_across_processes: False for backends whose content lives in one process
            (memory); the pickling test then skips the cross-process visibility check.
        rebuilt_backend_shares_files: False for backends whose ``options`` cannot name their
            storage (an anonymous in-memory backend); the options-rebuild test then skips the
            "sees the same files" check.
        exclusive_move_is_one_step: False for backends that declare ATOMIC_MOVE but whose
            service has no no-replace rename, so ``move(overwrite=False)`` is a hard link then
            a remove (SFTP): both names are visible for a moment, the file is never missing.
            ``move(overwrite=True)`` is still held to one step.
    """

    xfail_tests: ClassVar[dict[str, str]] = {}
    shares_state_across_processes: ClassVar[bool] = True
    rebuilt_backend_shares_files: ClassVar[bool] = True
    exclusive_move_is_one_step: ClassVar[bool] = True

    # ------------------------------------------------------------------ author fixtures
    @pytest.fixture
    def backend(self) -> Iterator[Backend]:
        """Abstract: the subclass must override this fixture."""
        pytest.fail(
            f"{type(self).__name__} must define a `backend` fixture that yields a fresh, empty remote_store.Backend",
            pytrace=False,
        )
        yield  # pragma: no cover

    @pytest.fixture
    def seed(self) -> Seeder | None:
        """Optional side channel for read-only backends (see class docstring); None by default."""
        return None

    @pytest.fixture
    def native_errors(self) -> list[tuple[Exception, type[RemoteStoreError]]] | None:
        """Optional: native exceptions the backend's service raises, each with the
        `remote_store.errors` class `Backend.translate_error` must map it to — e.g.
        ``[(botocore.exceptions.EndpointConnectionError(endpoint_url="x"), BackendUnavailable)]``.
        The suite asserts the mapping directly and through `Store`. None (default) skips it."""
        return None

    @pytest.fixture
    def unreachable_backend(self) -> Iterator[Backend | None]:
        """Optional: yield a backend configured like ``backend`` but whose service cannot be
        reached (a closed port, a stopped server). The suite asserts that calls raise
        `remote_store.errors.BackendUnavailable` within the backend's timeouts. None (default)
        skips those tests."""
        yield None

    # ------------------------------------------------------------------ suite fixtures
    @pytest.fixture
    def store_root(self) -> str:
        """A unique folder name inside the backend that the ``store`` fixture is rooted at."""
        return f"rsc-{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def store(self, backend: Backend, store_root: str) -> Store:
        """`Store` over the backend, rooted at the unique ``store_root`` folder."""
        return Store(backend, root_path=store_root)

    @pytest.fixture
    def root_store(self, backend: Backend) -> Store:
        """`Store` at the backend root."""
        return Store(backend)

    @pytest.fixture
    def put(self, store: Store, seed: Seeder | None) -> Putter:
        """``put(path, data=b"data", store=None)``: create a file for a test's preconditions.

        Uses ``Store.write`` when the backend declares WRITE, else the author's ``seed``
        fixture; skips the test when neither is available.
        """

        def _put(path: str, data: bytes = b"data", target: Store | None = None) -> None:
            st = target or store
            if Capability.WRITE in st.capabilities:
                st.write(path, data, overwrite=True)
                return
            if seed is None:
                pytest.skip("backend does not declare WRITE and the test class gives no `seed` fixture")
            key = "/".join(p for p in (st.root_path, path.strip("/")) if p)
            seed(key, data)

        return _put

    # ------------------------------------------------------------------ automatic gating
    @pytest.fixture(autouse=True)
    def _rsc_xfail(self, request: pytest.FixtureRequest) -> None:
        """Apply the class's ``xfail_tests`` entries (strict: an unexpected pass fails)."""
        name = request.node.originalname if hasattr(request.node, "originalname") else request.node.name
        reason = type(self).xfail_tests.get(name)
        if reason is not None and name != "test_suite_integrity":
            request.applymarker(pytest.mark.xfail(reason=f"declared by the test class: {reason}", strict=True))

    @pytest.fixture(autouse=True)
    def _rsc_gate(self, request: pytest.FixtureRequest, _rsc_xfail: None) -> None:
        """Skip tests whose capabilities the backend does not declare, naming the capability."""
        fn = request.function
        needed: tuple[Capability, ...] = getattr(fn, _REQUIRES_ATTR, ())
        missing: Capability | None = getattr(fn, _REQUIRES_MISSING_ATTR, None)
        if not needed and missing is None:
            return
        backend: Backend = request.getfixturevalue("backend")
        caps = backend.capabilities
        for cap in needed:
            if cap not in caps:
                pytest.skip(f"backend does not declare {cap.name}")
        if missing is not None and missing in caps:
            pytest.skip(f"backend declares {missing.name}; this test checks the gate of an undeclared capability")


def assert_refused(capability: Capability, call: Callable[[], Any]) -> CapabilityNotSupported:
    """Assert ``call()`` raises `CapabilityNotSupported` naming ``capability``; return the error.

    Iterators are consumed so lazily-raising listing calls are covered too.
    """
    with pytest.raises(CapabilityNotSupported) as info:
        result = call()
        if hasattr(result, "__next__"):
            list(result)
    err = info.value
    assert err.capability == capability.name, f"expected capability {capability.name}, got {err.capability}"
    return err
