"""The key model: normalisation, validation and root scoping (property-based)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remote_store import InvalidPath, Store
from remote_store._path import depth, join_key, normalize_path, strip_root
from remote_store.backends import MemoryBackend

segment = st.text(
    alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=8
).filter(lambda s: s not in (".", ".."))
paths = st.lists(segment, min_size=1, max_size=5).map("/".join)


@given(paths)
def test_normalize_is_idempotent_and_clean(path: str) -> None:
    key = normalize_path(path)
    assert normalize_path(key) == key
    assert not key.startswith("/") and not key.endswith("/")
    assert "//" not in key
    assert ".." not in key.split("/")


@given(paths, st.sampled_from(["", "/", "//", "./", "/./"]), st.sampled_from(["", "/", "/.", "//"]))
def test_slashes_and_dots_are_dropped(path: str, before: str, after: str) -> None:
    assert normalize_path(before + path + after) == normalize_path(path)


@given(st.lists(segment, max_size=3).map("/".join), paths)
def test_join_and_strip_round_trip(root: str, path: str) -> None:
    r, p = normalize_path(root), normalize_path(path)
    assert strip_root(r, join_key(r, p)) == p


@given(st.lists(segment, max_size=3), st.lists(segment, max_size=3))
def test_dotdot_anywhere_is_refused(before: list[str], after: list[str]) -> None:
    with pytest.raises(InvalidPath):
        normalize_path("/".join([*before, "..", *after]))


@given(paths, st.integers(min_value=0, max_value=10))
def test_nul_is_refused(path: str, pos: int) -> None:
    pos = min(pos, len(path))
    with pytest.raises(InvalidPath):
        normalize_path(path[:pos] + "\x00" + path[pos:])


@pytest.mark.parametrize("bad", ["", "/", ".", "./", "//"])
def test_root_is_not_a_file(bad: str) -> None:
    assert normalize_path(bad) == ""
    with pytest.raises(InvalidPath):
        normalize_path(bad, allow_root=False)


def test_non_str_is_invalid_path() -> None:
    with pytest.raises(InvalidPath):
        normalize_path(123)  # type: ignore[arg-type]


def test_strip_root_refuses_outside_keys() -> None:
    with pytest.raises(InvalidPath):
        strip_root("a/b", "a/bc/d")
    assert strip_root("a/b", "a/b/c") == "c"
    assert depth("") == 0 and depth("a/b/c") == 3


@given(st.lists(segment, min_size=1, max_size=3).map("/".join), paths)
def test_child_store_cannot_escape(sub: str, path: str) -> None:
    backend = MemoryBackend()
    parent = Store(backend, "base")
    child = parent.child(sub)
    assert child.root_path == join_key("base", normalize_path(sub))
    child.write(path, b"x")
    key = child.resolve(path).key
    assert key.startswith("base/")
    assert parent.exists(strip_root("base", key))
    with pytest.raises(InvalidPath):
        child.child("../x")
    with pytest.raises(InvalidPath):
        child.read("../" + path)
