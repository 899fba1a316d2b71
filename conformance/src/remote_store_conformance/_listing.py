"""Listing: `list_files`, `list_folders`, `iter_children`, `get_folder_info`, pagination."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from remote_store import Backend, Capability, FileInfo, FolderEntry, Store
from remote_store.errors import InvalidPath, NotFound
from remote_store_conformance._base import Putter, paths, requires

TREE = ("top.txt", "top.csv", "a/one.txt", "a/two.csv", "a/b/three.txt", "a/b/c/four.txt", "z/five.txt")


def make_tree(put: Putter) -> None:
    for p in TREE:
        put(p, p.encode())


class ListingTests:
    """Listing files and folders."""

    @requires(Capability.LIST)
    def test_list_files_direct_children_only(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("")) == ["top.csv", "top.txt"]

    @requires(Capability.LIST)
    def test_list_files_recursive(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("", recursive=True)) == sorted(TREE)

    @requires(Capability.LIST)
    def test_list_files_in_subfolder(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("a")) == ["a/one.txt", "a/two.csv"]

    @requires(Capability.LIST)
    def test_list_files_in_subfolder_recursive(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("a/b", recursive=True)) == ["a/b/c/four.txt", "a/b/three.txt"]

    # max_depth counts folder levels below the immediate children: 0 = immediate children only,
    # N = down to N levels below them (inclusive), as in the reference remote-store API.
    @requires(Capability.LIST)
    def test_list_files_max_depth_zero_is_immediate_children(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("", recursive=True, max_depth=0)) == ["top.csv", "top.txt"]

    @requires(Capability.LIST)
    def test_list_files_max_depth_one_reaches_one_level_below(self, store: Store, put: Putter) -> None:
        make_tree(put)
        expected = ["a/one.txt", "a/two.csv", "top.csv", "top.txt", "z/five.txt"]
        assert paths(store.list_files("", recursive=True, max_depth=1)) == expected

    @requires(Capability.LIST)
    def test_list_files_max_depth_bound_is_inclusive(self, store: Store, put: Putter) -> None:
        make_tree(put)
        listed = paths(store.list_files("", max_depth=2))
        assert "a/b/three.txt" in listed  # exactly 2 levels below the immediate children
        assert "a/b/c/four.txt" not in listed  # 3 levels: beyond the bound
        assert listed == sorted(p for p in TREE if p != "a/b/c/four.txt")

    @requires(Capability.LIST)
    def test_list_files_max_depth_implies_recursive(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("a", max_depth=1)) == ["a/b/three.txt", "a/one.txt", "a/two.csv"]

    @requires(Capability.LIST)
    def test_list_files_max_depth_counts_from_the_listed_folder(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("a/b", max_depth=0)) == ["a/b/three.txt"]
        assert paths(store.child("a").list_files("b", max_depth=1)) == ["b/c/four.txt", "b/three.txt"]

    @requires(Capability.LIST)
    def test_list_files_max_depth_with_pattern(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("", max_depth=1, pattern="*.txt")) == ["a/one.txt", "top.txt", "z/five.txt"]

    @requires(Capability.LIST)
    def test_list_files_negative_max_depth_raises_value_error(self, store: Store) -> None:
        with pytest.raises(ValueError):
            list(store.list_files("", max_depth=-1))
        with pytest.raises(InvalidPath):
            list(store.list_files("", recursive=True, max_depth=-5))

    @requires(Capability.LIST)
    def test_list_files_large_max_depth_is_everything(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("", max_depth=50)) == sorted(TREE)

    @requires(Capability.LIST)
    def test_list_files_pattern(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("", pattern="*.txt")) == ["top.txt"]

    @requires(Capability.LIST)
    def test_list_files_pattern_recursive_matches_basenames(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("", recursive=True, pattern="*.csv")) == ["a/two.csv", "top.csv"]

    @requires(Capability.LIST)
    def test_list_files_pattern_question_mark(self, store: Store, put: Putter) -> None:
        for p in ("f1.txt", "f2.txt", "f10.txt"):
            put(p)
        assert paths(store.list_files("", pattern="f?.txt")) == ["f1.txt", "f2.txt"]

    @requires(Capability.LIST)
    def test_list_files_pattern_is_case_sensitive(self, store: Store, put: Putter) -> None:
        put("UPPER.TXT")
        put("lower.txt")
        assert paths(store.list_files("", pattern="*.txt")) == ["lower.txt"]

    @requires(Capability.LIST)
    def test_list_files_pattern_with_no_match(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("", recursive=True, pattern="*.parquet")) == []

    @requires(Capability.LIST)
    def test_list_files_of_empty_store_is_empty(self, store: Store) -> None:
        assert list(store.list_files("", recursive=True)) == []

    @requires(Capability.LIST)
    def test_list_files_of_missing_prefix_is_empty(self, store: Store, put: Putter) -> None:
        put("present/a.txt")
        assert list(store.list_files("absent", recursive=True)) == []

    @requires(Capability.LIST)
    def test_list_files_of_a_file_prefix_is_empty(self, store: Store, put: Putter) -> None:
        put("file.txt")
        assert list(store.list_files("file.txt")) == []
        assert list(store.list_files("file.txt", recursive=True)) == []

    @requires(Capability.LIST)
    def test_list_files_below_a_file_is_empty(self, store: Store, put: Putter) -> None:
        put("file.txt")
        assert list(store.list_files("file.txt/below", recursive=True)) == []

    @requires(Capability.LIST)
    def test_list_files_does_not_match_prefix_siblings(self, store: Store, put: Putter) -> None:
        put("ab/x.txt")
        put("abc.txt")
        put("a/y.txt")
        assert paths(store.list_files("a", recursive=True)) == ["a/y.txt"]

    @requires(Capability.LIST)
    def test_list_files_yields_file_info(self, store: Store, put: Putter) -> None:
        put("d/info.bin", b"12345")
        (info,) = list(store.list_files("d"))
        assert isinstance(info, FileInfo)
        assert info.path == "d/info.bin"
        assert info.name == "info.bin"
        assert info.size == 5

    @requires(Capability.LIST)
    def test_list_files_reports_sizes(self, store: Store, put: Putter) -> None:
        put("s0", b"")
        put("s1", b"x")
        put("s1000", b"y" * 1000)
        assert {i.path: i.size for i in store.list_files("")} == {"s0": 0, "s1": 1, "s1000": 1000}

    @requires(Capability.LIST)
    def test_list_files_modified_at_is_aware(self, store: Store, put: Putter) -> None:
        put("t.txt")
        (info,) = list(store.list_files(""))
        if info.modified_at is not None:
            assert isinstance(info.modified_at, datetime)
            assert info.modified_at.utcoffset() is not None

    @requires(Capability.LIST)
    def test_list_files_is_lazy(self, store: Store, put: Putter) -> None:
        put("lazy.txt")
        it = store.list_files("")
        assert iter(it) is it
        assert next(it).path == "lazy.txt"

    @requires(Capability.LIST, Capability.WRITE)
    def test_backend_listings_do_no_work_until_iterated(self, backend: Backend, store_root: str) -> None:
        # A lazy listing (a generator, page by page) starts when first iterated, so files
        # written between the call and the first next() are seen. A listing that collects
        # every result when called (``iter(list(...))``) misses them: it would also hold a
        # million-key prefix in memory before yielding the first key.
        root = Store(backend)
        prefix = f"{store_root}/lazy"
        listings = {
            "iter_files": backend.iter_files(prefix, recursive=True),
            "iter_files(recursive=False)": backend.iter_files(prefix, recursive=False),
            "iter_folders": backend.iter_folders(prefix),
            "iter_children": backend.iter_children(prefix),
        }
        if Capability.GLOB in backend.capabilities:
            listings["glob"] = backend.glob(f"{prefix}/*.txt")
        for it in listings.values():
            assert iter(it) is it
        root.write(f"{prefix}/late.txt", b"x")
        root.write(f"{prefix}/sub/deep.txt", b"y")
        seen = {name: paths(it) for name, it in listings.items()}
        assert seen["iter_files"] == [f"{prefix}/late.txt", f"{prefix}/sub/deep.txt"], seen
        assert seen["iter_files(recursive=False)"] == [f"{prefix}/late.txt"], seen
        assert seen["iter_folders"] == [f"{prefix}/sub"], seen
        assert seen["iter_children"] == [f"{prefix}/late.txt", f"{prefix}/sub"], seen
        if "glob" in seen:
            assert seen["glob"] == [f"{prefix}/late.txt"], seen

    @requires(Capability.LIST, Capability.READ)
    def test_listed_paths_can_be_read_back(self, store: Store, put: Putter) -> None:
        make_tree(put)
        for info in store.list_files("", recursive=True):
            assert store.read_bytes(info.path) == info.path.encode()

    @requires(Capability.LIST)
    def test_list_files_paths_are_store_relative(self, store: Store, put: Putter, store_root: str) -> None:
        make_tree(put)
        for info in store.list_files("", recursive=True):
            assert not info.path.startswith(store_root)
            assert not info.path.startswith("/")

    @requires(Capability.LIST)
    def test_list_files_with_unicode_and_spaces(self, store: Store, put: Putter) -> None:
        names = ["dïr ü/fïlé 1.txt", "dïr ü/日本.txt", "dïr ü/sp ace.csv"]
        for n in names:
            put(n)
        assert paths(store.list_files("dïr ü")) == sorted(names)

    @requires(Capability.LIST)
    def test_list_files_with_special_characters(self, store: Store, put: Putter) -> None:
        names = ["sp/a+b.txt", "sp/c%20d.txt", "sp/e&f=g.txt", "sp/h#i.txt"]
        for n in names:
            put(n)
        assert paths(store.list_files("sp")) == sorted(names)

    @requires(Capability.LIST)
    def test_list_files_from_root_store(self, root_store: Store, put: Putter, store_root: str) -> None:
        put("r/x.txt")
        assert paths(root_store.list_files(f"{store_root}/r")) == [f"{store_root}/r/x.txt"]

    @requires(Capability.LIST)
    def test_list_files_prefix_with_slashes(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_files("/a/")) == ["a/one.txt", "a/two.csv"]

    @requires(Capability.LIST, Capability.DELETE)
    def test_deleted_file_is_not_listed(self, store: Store, put: Putter) -> None:
        put("d/keep.txt")
        put("d/drop.txt")
        store.delete("d/drop.txt")
        assert paths(store.list_files("d")) == ["d/keep.txt"]

    @requires(Capability.LIST)
    def test_file_and_folder_with_similar_names(self, store: Store, put: Putter) -> None:
        put("name.txt")
        put("name/inner.txt")
        assert paths(store.list_files("")) == ["name.txt"]
        assert paths(store.list_folders("")) == ["name"]

    # --------------------------------------------------------------- folders
    @requires(Capability.LIST)
    def test_list_folders_direct(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_folders("")) == ["a", "z"]

    @requires(Capability.LIST)
    def test_list_folders_yields_str(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert all(isinstance(p, str) for p in store.list_folders(""))

    @requires(Capability.LIST)
    def test_list_folders_recursive(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_folders("", recursive=True)) == ["a", "a/b", "a/b/c", "z"]

    @requires(Capability.LIST)
    def test_list_folders_max_depth_zero_is_immediate_subfolders(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_folders("", max_depth=0)) == ["a", "z"]

    @requires(Capability.LIST)
    def test_list_folders_max_depth_bound_is_inclusive(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_folders("", max_depth=1)) == ["a", "a/b", "z"]
        assert paths(store.list_folders("", max_depth=2)) == ["a", "a/b", "a/b/c", "z"]

    @requires(Capability.LIST)
    def test_list_folders_negative_max_depth_raises_value_error(self, store: Store) -> None:
        with pytest.raises(ValueError):
            list(store.list_folders("", max_depth=-1))

    @requires(Capability.LIST)
    def test_list_folders_of_subfolder(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.list_folders("a")) == ["a/b"]

    @requires(Capability.LIST)
    def test_list_folders_pattern(self, store: Store, put: Putter) -> None:
        for p in ("data-1/x", "data-2/x", "logs/x"):
            put(p)
        assert paths(store.list_folders("", pattern="data-*")) == ["data-1", "data-2"]

    @requires(Capability.LIST)
    def test_list_folders_of_missing_prefix_is_empty(self, store: Store) -> None:
        assert list(store.list_folders("missing")) == []

    @requires(Capability.LIST)
    def test_list_folders_of_file_prefix_is_empty(self, store: Store, put: Putter) -> None:
        put("file.txt")
        assert list(store.list_folders("file.txt")) == []

    @requires(Capability.LIST)
    def test_list_folders_excludes_files(self, store: Store, put: Putter) -> None:
        put("only-file.txt")
        put("dir/f.txt")
        assert paths(store.list_folders("")) == ["dir"]

    @requires(Capability.LIST)
    def test_list_folders_unicode(self, store: Store, put: Putter) -> None:
        put("dös/a.txt")
        put("日本/b.txt")
        assert paths(store.list_folders("")) == sorted(["dös", "日本"])

    @requires(Capability.LIST)
    def test_list_folders_from_root_store_include_store_root(
        self, root_store: Store, put: Putter, store_root: str
    ) -> None:
        put("f.txt")
        assert store_root in list(root_store.list_folders(""))

    # --------------------------------------------------------------- children
    @requires(Capability.LIST)
    def test_iter_children_mixes_folders_and_files(self, store: Store, put: Putter) -> None:
        make_tree(put)
        children = list(store.iter_children(""))
        folders = sorted(c.path for c in children if isinstance(c, FolderEntry))
        files = sorted(c.path for c in children if isinstance(c, FileInfo))
        assert folders == ["a", "z"]
        assert files == ["top.csv", "top.txt"]
        assert len(children) == 4

    @requires(Capability.LIST)
    def test_iter_children_of_subfolder(self, store: Store, put: Putter) -> None:
        make_tree(put)
        children = {c.path: type(c) for c in store.iter_children("a/b")}
        assert children == {"a/b/c": FolderEntry, "a/b/three.txt": FileInfo}

    @requires(Capability.LIST)
    def test_iter_children_names(self, store: Store, put: Putter) -> None:
        put("n/sub/x.txt")
        put("n/file.txt")
        assert sorted(c.name for c in store.iter_children("n")) == ["file.txt", "sub"]

    @requires(Capability.LIST)
    def test_iter_children_of_missing_is_empty(self, store: Store) -> None:
        assert list(store.iter_children("missing")) == []

    @requires(Capability.LIST)
    def test_iter_children_of_empty_store_is_empty(self, store: Store) -> None:
        assert list(store.iter_children("")) == []

    # --------------------------------------------------------------- folder info
    @requires(Capability.LIST, Capability.METADATA)
    def test_get_folder_info_aggregates(self, store: Store, put: Putter) -> None:
        put("agg/a.bin", b"123")
        put("agg/sub/b.bin", b"4567")
        info = store.get_folder_info("agg")
        assert info.path == "agg"
        assert info.file_count == 2
        assert info.total_size == 7

    @requires(Capability.LIST, Capability.METADATA)
    def test_get_folder_info_of_store_root(self, store: Store, put: Putter) -> None:
        put("x.bin", b"12")
        put("d/y.bin", b"345")
        info = store.get_folder_info("")
        assert info.path == ""
        assert (info.file_count, info.total_size) == (2, 5)

    @requires(Capability.LIST, Capability.METADATA)
    def test_get_folder_info_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.get_folder_info("missing")

    @requires(Capability.LIST, Capability.METADATA)
    def test_get_folder_info_of_a_file_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("d/file.bin", b"123")
        with pytest.raises(InvalidPath) as info:
            store.get_folder_info("d/file.bin")
        assert info.value.path == "d/file.bin"

    @requires(Capability.LIST, Capability.METADATA)
    def test_get_folder_info_of_empty_store_root_is_zero(self, store: Store) -> None:
        info = store.get_folder_info("")
        assert (info.path, info.file_count, info.total_size) == ("", 0, 0)

    @requires(Capability.LIST, Capability.METADATA)
    def test_get_folder_info_of_empty_child_store_root_is_zero(self, store: Store, put: Putter) -> None:
        put("other/x.bin")
        info = store.child("never-written").get_folder_info()
        assert (info.file_count, info.total_size) == (0, 0)

    @requires(Capability.LIST, Capability.METADATA)
    def test_get_folder_info_max_depth(self, store: Store, put: Putter) -> None:
        make_tree(put)
        sizes = {p: len(p.encode()) for p in TREE}
        top = store.get_folder_info("", max_depth=0)
        assert (top.file_count, top.total_size) == (2, sizes["top.txt"] + sizes["top.csv"])
        one = store.get_folder_info("a", max_depth=1)
        assert (one.path, one.file_count) == ("a", 3)
        assert one.total_size == sizes["a/one.txt"] + sizes["a/two.csv"] + sizes["a/b/three.txt"]
        assert store.get_folder_info("a", max_depth=99).file_count == 4
        assert store.get_folder_info("a").file_count == 4

    @requires(Capability.LIST, Capability.METADATA)
    def test_get_folder_info_max_depth_errors(self, store: Store, put: Putter) -> None:
        put("f.bin")
        with pytest.raises(ValueError):
            store.get_folder_info("", max_depth=-1)
        with pytest.raises(NotFound):
            store.get_folder_info("missing", max_depth=0)
        with pytest.raises(InvalidPath):
            store.get_folder_info("f.bin", max_depth=0)

    @requires(Capability.LIST, Capability.METADATA)
    def test_get_folder_info_modified_at_is_aware_or_none(self, store: Store, put: Putter) -> None:
        put("m/a.txt")
        info = store.get_folder_info("m")
        assert info.modified_at is None or info.modified_at.utcoffset() is not None

    # --------------------------------------------------------------- pagination
    @pytest.mark.conformance_heavy
    @requires(Capability.LIST, Capability.WRITE)
    def test_listing_crosses_pagination(self, store: Store) -> None:
        """Heavy: writes 1,050 files (16 threads) so listings cross the common 1,000-key page size."""
        count = 1050
        names = [f"many/f{i:05d}.txt" for i in range(count)]

        def write(name: str) -> None:
            store.write(name, b"p", overwrite=True)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(write, names))
        listed = paths(store.list_files("many"))
        assert listed == names
        assert len(paths(store.list_files("", recursive=True))) == count
        assert sum(1 for _ in store.iter_children("many")) == count
