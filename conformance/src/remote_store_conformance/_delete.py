"""`delete` and `delete_folder`: files, folders, recursion, missing_ok, the root."""

from __future__ import annotations

import pytest

from remote_store import Capability, Store
from remote_store.errors import DirectoryNotEmpty, InvalidPath, NotFound
from remote_store_conformance._base import Putter, paths, requires


class DeleteTests:
    """Deleting files and folders."""

    @requires(Capability.DELETE)
    def test_delete_removes_the_file(self, store: Store, put: Putter) -> None:
        put("gone.txt")
        store.delete("gone.txt")
        assert store.exists("gone.txt") is False

    @requires(Capability.DELETE)
    def test_delete_returns_none(self, store: Store, put: Putter) -> None:
        put("r.txt")
        assert store.delete("r.txt") is None  # type: ignore[func-returns-value]

    @requires(Capability.DELETE)
    def test_delete_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.delete("missing.txt")
        assert info.value.path == "missing.txt"

    @requires(Capability.DELETE)
    def test_delete_missing_ok(self, store: Store) -> None:
        store.delete("missing.txt", missing_ok=True)
        assert store.exists("missing.txt") is False

    @requires(Capability.DELETE)
    def test_delete_twice(self, store: Store, put: Putter) -> None:
        put("twice.txt")
        store.delete("twice.txt")
        with pytest.raises(NotFound):
            store.delete("twice.txt")
        store.delete("twice.txt", missing_ok=True)

    @requires(Capability.DELETE)
    def test_delete_keeps_siblings(self, store: Store, put: Putter) -> None:
        put("d/a.txt")
        put("d/b.txt")
        store.delete("d/a.txt")
        assert store.exists("d/b.txt") is True
        assert store.is_folder("d") is True

    @requires(Capability.DELETE)
    def test_delete_keeps_prefix_named_files(self, store: Store, put: Putter) -> None:
        put("file")
        put("file.bak")
        put("file2")
        store.delete("file")
        assert store.exists("file.bak") and store.exists("file2")

    @requires(Capability.DELETE)
    def test_delete_a_folder_path_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("folder/inner.txt")
        with pytest.raises(InvalidPath):
            store.delete("folder")
        assert store.exists("folder/inner.txt")

    @requires(Capability.DELETE, Capability.HIERARCHICAL)
    def test_delete_a_folder_path_with_missing_ok_still_refused(self, store: Store, put: Putter) -> None:
        put("folder/inner.txt")
        with pytest.raises(InvalidPath):
            store.delete("folder", missing_ok=True)

    @requires(Capability.DELETE, Capability.WRITE, Capability.READ)
    def test_write_after_delete(self, store: Store) -> None:
        store.write("again.txt", b"one")
        store.delete("again.txt")
        store.write("again.txt", b"two")
        assert store.read_bytes("again.txt") == b"two"

    @requires(Capability.DELETE)
    def test_delete_in_missing_folder_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.delete("no/such/file.txt")

    # --------------------------------------------------------------- delete_folder
    @requires(Capability.DELETE)
    def test_delete_folder_recursive(self, store: Store, put: Putter) -> None:
        put("tree/a.txt")
        put("tree/sub/b.txt")
        put("tree/sub/deeper/c.txt")
        store.delete_folder("tree", recursive=True)
        assert store.is_folder("tree") is False
        assert store.exists("tree/a.txt") is False
        assert store.exists("tree/sub/deeper/c.txt") is False

    @requires(Capability.DELETE)
    def test_delete_folder_keeps_siblings(self, store: Store, put: Putter) -> None:
        put("tree/a.txt")
        put("tree2/b.txt")
        put("tree.txt")
        store.delete_folder("tree", recursive=True)
        assert store.exists("tree2/b.txt")
        assert store.exists("tree.txt")

    @requires(Capability.DELETE)
    def test_delete_nested_folder_keeps_parent_files(self, store: Store, put: Putter) -> None:
        put("p/keep.txt")
        put("p/c/drop.txt")
        store.delete_folder("p/c", recursive=True)
        assert store.exists("p/keep.txt")
        assert store.exists("p/c/drop.txt") is False

    @requires(Capability.DELETE)
    def test_delete_folder_not_empty_without_recursive(self, store: Store, put: Putter) -> None:
        put("full/a.txt")
        with pytest.raises(DirectoryNotEmpty) as info:
            store.delete_folder("full")
        assert info.value.path == "full"
        assert store.exists("full/a.txt")

    @requires(Capability.DELETE)
    def test_delete_folder_with_only_subfolders_not_empty(self, store: Store, put: Putter) -> None:
        put("outer/inner/a.txt")
        with pytest.raises(DirectoryNotEmpty):
            store.delete_folder("outer")
        assert store.exists("outer/inner/a.txt")

    @requires(Capability.DELETE)
    def test_delete_folder_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.delete_folder("nowhere", recursive=True)

    @requires(Capability.DELETE)
    def test_delete_folder_missing_ok(self, store: Store) -> None:
        store.delete_folder("nowhere", recursive=True, missing_ok=True)
        assert store.is_folder("nowhere") is False

    @requires(Capability.DELETE)
    def test_delete_folder_on_a_file_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("plain.txt")
        with pytest.raises(InvalidPath):
            store.delete_folder("plain.txt", recursive=True)
        assert store.exists("plain.txt")

    @requires(Capability.DELETE)
    def test_delete_folder_root_refused(self, store: Store, put: Putter) -> None:
        put("stay.txt")
        with pytest.raises(InvalidPath):
            store.delete_folder("", recursive=True)
        assert store.exists("stay.txt")

    @requires(Capability.DELETE)
    def test_delete_folder_slash_refused(self, store: Store, put: Putter) -> None:
        put("stay.txt")
        with pytest.raises(InvalidPath):
            store.delete_folder("/", recursive=True, missing_ok=True)
        assert store.exists("stay.txt")

    @requires(Capability.DELETE)
    def test_delete_folder_of_a_child_store_root_refused(self, store: Store, put: Putter) -> None:
        put("kid/stay.txt")
        with pytest.raises(InvalidPath):
            store.child("kid").delete_folder("", recursive=True)
        assert store.exists("kid/stay.txt")

    @requires(Capability.DELETE, Capability.LIST)
    def test_delete_folder_then_listing_is_empty(self, store: Store, put: Putter) -> None:
        for i in range(5):
            put(f"batch/f{i}.txt")
        store.delete_folder("batch", recursive=True)
        assert paths(store.list_files("batch", recursive=True)) == []
        assert "batch" not in paths(store.list_folders(""))

    @requires(Capability.DELETE)
    def test_delete_folder_with_trailing_slash(self, store: Store, put: Putter) -> None:
        put("slash/a.txt")
        store.delete_folder("slash/", recursive=True)
        assert store.exists("slash/a.txt") is False

    @requires(Capability.DELETE)
    def test_delete_folder_with_unicode_and_spaces(self, store: Store, put: Putter) -> None:
        put("my dïr/a b.txt")
        store.delete_folder("my dïr", recursive=True)
        assert store.exists("my dïr/a b.txt") is False

    # --------------------------------------------------------------- garbage collection
    @requires(Capability.DELETE, Capability.LIST)
    def test_collect_garbage_keeps_every_listed_file(self, store: Store, put: Putter) -> None:
        for p in ("g/a.txt", "g/sub/b.txt", "top.txt"):
            put(p)
        removed = store.collect_garbage(older_than=0.0)
        assert isinstance(removed, int) and removed >= 0
        assert paths(store.list_files("", recursive=True)) == ["g/a.txt", "g/sub/b.txt", "top.txt"]
        assert store.collect_garbage("g") >= 0

    @requires(Capability.DELETE)
    def test_collect_garbage_refuses_a_negative_age(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.collect_garbage(older_than=-1.0)
        with pytest.raises(InvalidPath):
            store.collect_garbage("../up")
