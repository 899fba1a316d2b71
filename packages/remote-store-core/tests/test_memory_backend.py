"""MemoryBackend specifics the conformance suite does not express (called on the backend directly)."""

from __future__ import annotations

import io

import pytest

from remote_store import InvalidPath, NotFound
from remote_store.backends import MemoryBackend


def _put(b: MemoryBackend, key: str) -> None:
    b.write(key, io.BytesIO(b"x"), overwrite=True, metadata={})


def test_delete_honours_missing_ok_and_refuses_folders() -> None:
    b = MemoryBackend()
    _put(b, "d/f.txt")
    b.delete("nope", missing_ok=True)  # no error, nothing changed
    with pytest.raises(NotFound):
        b.delete("nope")
    with pytest.raises(InvalidPath):
        b.delete("d", missing_ok=True)  # a folder is never a missing file
    b.delete("d/f.txt")
    assert not b.exists("d/f.txt") and b.is_folder("d")  # the folder stays


@pytest.mark.parametrize(
    ("max_depth", "want"), [(1, ["a/x"]), (2, ["a/b/y", "a/x"]), (None, ["a/b/c/z", "a/b/y", "a/x"])]
)
def test_iter_files_prunes_by_the_depth_hint(max_depth: int | None, want: list[str]) -> None:
    b = MemoryBackend()
    for key in ("a/x", "a/b/y", "a/b/c/z", "ax/q"):
        _put(b, key)
    assert sorted(f.path for f in b.iter_files("a", recursive=True, max_depth=max_depth)) == want
    assert [f.path for f in b.iter_files("a", recursive=False)] == ["a/x"]


def test_memory_is_hierarchical_not_flat() -> None:
    from remote_store.kit import FlatKeyBackend

    assert not issubclass(MemoryBackend, FlatKeyBackend)
    assert "FlatKeyBackend" in (MemoryBackend.__doc__ or "")  # the decision is written down
