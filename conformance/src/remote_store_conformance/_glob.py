"""`glob`: ``*``, ``**``, ``?``, character classes, store-relative results."""

from __future__ import annotations

import pytest

from remote_store import Backend, Capability, FileInfo, Store
from remote_store.errors import InvalidPath
from remote_store_conformance._base import Putter, paths, requires

TREE = ("top.txt", "top.csv", "a/one.txt", "a/two.csv", "a/b/three.txt", "a/b/c/four.txt", "z/five.txt")


def make_tree(put: Putter) -> None:
    for p in TREE:
        put(p, p.encode())


class GlobTests:
    """Pattern matching over whole store-relative paths."""

    @requires(Capability.GLOB)
    def test_glob_star_at_root(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.glob("*.txt")) == ["top.txt"]

    @requires(Capability.GLOB)
    def test_glob_star_in_folder(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.glob("a/*")) == ["a/one.txt", "a/two.csv"]

    @requires(Capability.GLOB)
    def test_glob_double_star_everything(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.glob("**")) == sorted(TREE)

    @requires(Capability.GLOB)
    def test_glob_double_star_with_suffix(self, store: Store, put: Putter) -> None:
        make_tree(put)
        expected = sorted(p for p in TREE if p.endswith(".txt"))
        assert paths(store.glob("**/*.txt")) == expected

    @requires(Capability.GLOB)
    def test_glob_double_star_below_folder(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.glob("a/**/*.txt")) == ["a/b/c/four.txt", "a/b/three.txt", "a/one.txt"]

    @requires(Capability.GLOB)
    def test_glob_double_star_in_the_middle(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.glob("a/**/four.txt")) == ["a/b/c/four.txt"]

    @requires(Capability.GLOB)
    def test_glob_star_does_not_cross_slash(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.glob("a/*.txt")) == ["a/one.txt"]

    @requires(Capability.GLOB)
    def test_glob_star_as_folder_segment(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.glob("*/*.txt")) == ["a/one.txt", "z/five.txt"]

    @requires(Capability.GLOB)
    def test_glob_question_mark(self, store: Store, put: Putter) -> None:
        for p in ("f1.txt", "f2.txt", "f10.txt"):
            put(p)
        assert paths(store.glob("f?.txt")) == ["f1.txt", "f2.txt"]

    @requires(Capability.GLOB)
    def test_glob_question_mark_does_not_match_slash(self, store: Store, put: Putter) -> None:
        put("a/b")
        put("axb")
        assert paths(store.glob("a?b")) == ["axb"]

    @requires(Capability.GLOB)
    def test_glob_character_class(self, store: Store, put: Putter) -> None:
        for p in ("xa.txt", "xb.txt", "xc.txt"):
            put(p)
        assert paths(store.glob("x[ab].txt")) == ["xa.txt", "xb.txt"]

    @requires(Capability.GLOB)
    def test_glob_negated_character_class(self, store: Store, put: Putter) -> None:
        for p in ("xa.txt", "xb.txt", "xc.txt"):
            put(p)
        assert paths(store.glob("x[!ab].txt")) == ["xc.txt"]

    @requires(Capability.GLOB)
    def test_glob_literal_path(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert paths(store.glob("a/b/three.txt")) == ["a/b/three.txt"]

    @requires(Capability.GLOB)
    def test_glob_no_match_is_empty(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert list(store.glob("**/*.parquet")) == []

    @requires(Capability.GLOB)
    def test_glob_in_missing_folder_is_empty(self, store: Store, put: Putter) -> None:
        make_tree(put)
        assert list(store.glob("missing/**")) == []

    @requires(Capability.GLOB)
    def test_glob_on_empty_store_is_empty(self, store: Store) -> None:
        assert list(store.glob("**")) == []

    @requires(Capability.GLOB)
    def test_glob_is_case_sensitive(self, store: Store, put: Putter) -> None:
        put("UP.TXT")
        put("low.txt")
        assert paths(store.glob("*.txt")) == ["low.txt"]

    @requires(Capability.GLOB)
    def test_glob_yields_file_info(self, store: Store, put: Putter) -> None:
        put("g/info.bin", b"1234")
        (info,) = list(store.glob("g/*.bin"))
        assert isinstance(info, FileInfo)
        assert (info.path, info.name, info.size) == ("g/info.bin", "info.bin", 4)

    @requires(Capability.GLOB)
    def test_glob_does_not_leak_outside_the_store(self, backend: Backend, store_root: str, put: Putter) -> None:
        inner = Store(backend, f"{store_root}/inner")
        put("outside.txt")
        put("inner/inside.txt")
        assert paths(inner.glob("**")) == ["inside.txt"]

    @requires(Capability.GLOB)
    def test_glob_with_spaces_and_unicode(self, store: Store, put: Putter) -> None:
        put("my dïr/fïle one.txt")
        put("my dïr/other.csv")
        assert paths(store.glob("my dïr/*.txt")) == ["my dïr/fïle one.txt"]

    @requires(Capability.GLOB)
    def test_glob_dotdot_refused(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            list(store.glob("../**"))

    @requires(Capability.GLOB)
    def test_glob_does_not_match_folders(self, store: Store, put: Putter) -> None:
        put("dir/f.txt")
        assert paths(store.glob("*")) == []
        assert paths(store.glob("dir")) == []

    @requires(Capability.GLOB)
    def test_glob_from_root_store(self, root_store: Store, put: Putter, store_root: str) -> None:
        put("r/x.txt")
        assert paths(root_store.glob(f"{store_root}/r/*.txt")) == [f"{store_root}/r/x.txt"]

    @requires(Capability.GLOB)
    def test_glob_root_with_glob_characters_is_literal(self, backend: Backend, store_root: str, put: Putter) -> None:
        put("we[ir]d*/x.txt")
        put("wei/y.txt")
        weird = Store(backend, f"{store_root}/we[ir]d*")
        assert paths(weird.glob("*.txt")) == ["x.txt"]
