"""The suite's own structure: size, unique names, gating metadata, assertion rewriting."""

from __future__ import annotations

import importlib
import inspect

import pytest

import remote_store_conformance
from remote_store import Capability
from remote_store_conformance import BackendConformance, canonical_tests
from remote_store_conformance._base import _REQUIRES_ATTR, _REQUIRES_MISSING_ATTR
from remote_store_conformance.plugin import SUITE_MODULES


def test_public_surface() -> None:
    assert remote_store_conformance.__all__ == sorted(remote_store_conformance.__all__)
    for name in remote_store_conformance.__all__:
        assert hasattr(remote_store_conformance, name), name


def test_suite_has_at_least_300_tests() -> None:
    assert len(canonical_tests(BackendConformance)) >= 300


def test_no_mixin_shadows_another() -> None:
    seen: dict[str, str] = {}
    for klass in inspect.getmro(BackendConformance):
        if not klass.__module__.startswith("remote_store_conformance"):
            continue
        for name in vars(klass):
            if name.startswith("test_"):
                assert name not in seen, f"{name} defined in both {seen[name]} and {klass.__name__}"
                seen[name] = klass.__name__


def test_every_suite_module_gets_assert_rewriting() -> None:
    modules = {inspect.getmodule(f).__name__ for f in canonical_tests(BackendConformance).values()}  # type: ignore[union-attr]
    assert modules <= set(SUITE_MODULES)
    for name in SUITE_MODULES:
        importlib.import_module(name)


def test_gating_metadata_is_capabilities() -> None:
    for name, fn in canonical_tests(BackendConformance).items():
        for cap in getattr(fn, _REQUIRES_ATTR, ()):
            assert isinstance(cap, Capability), name
        missing = getattr(fn, _REQUIRES_MISSING_ATTR, None)
        assert missing is None or isinstance(missing, Capability), name


def test_every_method_gate_has_a_refusal_test() -> None:
    gated = {
        Capability.READ,
        Capability.WRITE,
        Capability.DELETE,
        Capability.LIST,
        Capability.GLOB,
        Capability.MOVE,
        Capability.COPY,
        Capability.ATOMIC_WRITE,
        Capability.METADATA,
        Capability.USER_METADATA,
    }
    refused = {getattr(fn, _REQUIRES_MISSING_ATTR, None) for fn in canonical_tests(BackendConformance).values()}
    assert gated <= refused


def test_every_capability_is_exercised_by_some_test() -> None:
    used = {cap for fn in canonical_tests(BackendConformance).values() for cap in getattr(fn, _REQUIRES_ATTR, ())}
    assert set(Capability) - used == set()


def test_heavy_tests_are_marked() -> None:
    tests = canonical_tests(BackendConformance)
    heavy = {n for n, fn in tests.items() if any(m.name == "conformance_heavy" for m in getattr(fn, "pytestmark", []))}
    assert "test_listing_crosses_pagination" in heavy


def test_backend_fixture_is_abstract(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from remote_store_conformance import BackendConformance

        class TestNoBackend(BackendConformance):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-k", "test_type_name_is_a_nonempty_string")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*must define a `backend` fixture*"])
