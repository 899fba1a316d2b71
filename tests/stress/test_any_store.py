"""`testing.backends`: every kind builds a fresh, empty, isolated store that works."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from remote_store import Store
from testing.backends import STORE_KINDS, open_backend


def test_any_store_is_fresh_and_works(any_store: Store) -> None:
    assert list(any_store.list_files("", recursive=True)) == []
    any_store.write("a/b.bin", b"payload")
    assert any_store.read_bytes("a/b.bin") == b"payload"
    assert [f.path for f in any_store.list_files("", recursive=True)] == ["a/b.bin"]


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_two_stores_of_one_kind_are_isolated(kind: str, store_factory: Callable[[str], Store]) -> None:
    first, second = store_factory(kind), store_factory(kind)
    first.write("only-here.txt", b"1")
    assert not second.exists("only-here.txt")
    assert list(second.list_files("", recursive=True)) == []


def test_unknown_kind_is_refused(request: pytest.FixtureRequest) -> None:
    with pytest.raises(ValueError, match="unknown backend kind 'nope'"):
        open_backend("nope", request)
