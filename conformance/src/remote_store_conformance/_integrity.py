"""The guard test: suite tests may not be silently overridden or deleted by a subclass."""

from __future__ import annotations

import inspect

from remote_store_conformance._base import SuiteBase

GUARD_TEST = "test_suite_integrity"


def canonical_tests(suite: type) -> dict[str, object]:
    """Map every ``test_*`` name the suite class defines (through its mixins) to its function."""
    out: dict[str, object] = {}
    for klass in reversed(inspect.getmro(suite)):
        if not klass.__module__.startswith("remote_store_conformance"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("test_"):
                out[name] = value
    return out


class IntegrityTests(SuiteBase):
    """Fails when the author's subclass replaced or removed a suite test without an xfail reason."""

    def test_suite_integrity(self) -> None:
        from remote_store_conformance import BackendConformance

        cls = type(self)
        canonical = canonical_tests(BackendConformance)
        xfails = cls.xfail_tests
        assert isinstance(xfails, dict), "xfail_tests must be a dict {test_name: reason}"
        problems: list[str] = []
        for name, reason in xfails.items():
            if name not in canonical:
                problems.append(f"xfail_tests names {name!r}, which is not a conformance test")
            elif name == GUARD_TEST:
                problems.append(f"{GUARD_TEST} cannot be xfailed")
            if not isinstance(reason, str) or not reason.strip():
                problems.append(f"xfail_tests[{name!r}] needs a non-empty reason string")
        for name, func in canonical.items():
            actual = inspect.getattr_static(cls, name, None)
            if actual is func:
                continue
            how = "deleted" if actual is None else "overridden"
            if name in xfails and isinstance(xfails[name], str) and xfails[name].strip():
                continue
            problems.append(f"{name} is {how} in {cls.__name__}; list it in xfail_tests with a reason instead")
        assert not problems, "conformance suite integrity:\n  " + "\n  ".join(problems)
