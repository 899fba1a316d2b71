"""Flat key spaces: backends without HIERARCHICAL (plain S3 / Azure) keep keys independent.

On such a backend ``a`` and ``a/b`` are two unrelated keys: no write is refused because a
"folder" or a "file" of the same name exists, and nothing costs an extra request to find out.
The HIERARCHICAL counterparts (writes onto a folder / below a file raise `InvalidPath`) live
in the write tests.
"""

from __future__ import annotations

from remote_store import Capability, Store
from remote_store_conformance._base import paths, requires, requires_missing


class FlatKeyTests:
    """Behaviour every backend that does not declare HIERARCHICAL must show."""

    @requires_missing(Capability.HIERARCHICAL)
    @requires(Capability.WRITE, Capability.READ)
    def test_flat_write_a_key_that_is_also_a_folder_prefix(self, store: Store) -> None:
        store.write("a/b", b"inner")
        store.write("a", b"outer")
        assert store.read_bytes("a") == b"outer"
        assert store.read_bytes("a/b") == b"inner"

    @requires_missing(Capability.HIERARCHICAL)
    @requires(Capability.WRITE, Capability.READ)
    def test_flat_write_below_a_file_key(self, store: Store) -> None:
        store.write("f", b"file")
        store.write("f/g/h", b"below")
        assert store.read_bytes("f") == b"file"
        assert store.read_bytes("f/g/h") == b"below"
        assert store.is_file("f") is True
        assert store.is_folder("f") is True

    @requires_missing(Capability.HIERARCHICAL)
    @requires(Capability.WRITE, Capability.LIST)
    def test_flat_file_and_folder_of_one_name_are_both_listed(self, store: Store) -> None:
        store.write("n", b"1")
        store.write("n/x", b"2")
        assert paths(store.list_files("")) == ["n"]
        assert paths(store.list_folders("")) == ["n"]
        assert paths(store.list_files("", recursive=True)) == ["n", "n/x"]

    @requires_missing(Capability.HIERARCHICAL)
    @requires(Capability.WRITE, Capability.DELETE, Capability.READ)
    def test_flat_delete_of_a_file_keeps_the_keys_below_its_name(self, store: Store) -> None:
        store.write("k", b"1")
        store.write("k/v", b"2")
        store.delete("k")
        assert store.exists("k") is False
        assert store.read_bytes("k/v") == b"2"

    @requires_missing(Capability.HIERARCHICAL)
    @requires(Capability.DELETE, Capability.WRITE)
    def test_flat_delete_missing_ok_of_a_missing_key_is_silent(self, store: Store) -> None:
        assert store.delete("never-written", missing_ok=True) is None  # type: ignore[func-returns-value]
        store.write("p/q", b"x")
        store.delete("p/q/missing", missing_ok=True)
        store.delete("p/missing", missing_ok=True)
        assert store.exists("p/q") is True
