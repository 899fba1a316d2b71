"""Path validation, normalisation, root scoping, `child()` and store-relative results."""

from __future__ import annotations

import uuid

import pytest

from remote_store import Backend, Capability, Store
from remote_store.errors import InvalidPath, NotFound
from remote_store_conformance._base import Putter, paths, requires


class PathTests:
    """What `Store` refuses and how it maps paths onto the backend."""

    # --------------------------------------------------------------- refused paths
    def test_dotdot_refused_by_exists(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.exists("../outside.txt")

    def test_dotdot_in_the_middle_refused(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.exists("a/../../b.txt")

    def test_dotdot_refused_by_is_folder(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.is_folder("..")

    @requires(Capability.READ)
    def test_dotdot_refused_by_read(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.read_bytes("../x.txt")

    @requires(Capability.WRITE)
    def test_dotdot_refused_by_write(self, store: Store, root_store: Store, store_root: str) -> None:
        with pytest.raises(InvalidPath):
            store.write("../escaped.txt", b"x")
        assert root_store.exists("escaped.txt") is False

    @requires(Capability.DELETE)
    def test_dotdot_refused_by_delete(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.delete("../x.txt", missing_ok=True)

    @requires(Capability.DELETE)
    def test_dotdot_refused_by_delete_folder(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.delete_folder("..", recursive=True, missing_ok=True)

    @requires(Capability.LIST)
    def test_dotdot_refused_by_list_files(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            list(store.list_files(".."))

    @requires(Capability.LIST)
    def test_dotdot_refused_by_list_folders(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            list(store.list_folders("a/.."))

    @requires(Capability.MOVE)
    def test_dotdot_refused_by_move_destination(self, store: Store, put: Putter) -> None:
        put("src.txt")
        with pytest.raises(InvalidPath):
            store.move("src.txt", "../dst.txt")
        assert store.exists("src.txt")

    @requires(Capability.COPY)
    def test_dotdot_refused_by_copy_destination(self, store: Store, put: Putter) -> None:
        put("src.txt")
        with pytest.raises(InvalidPath):
            store.copy("src.txt", "../dst.txt")

    @requires(Capability.METADATA)
    def test_dotdot_refused_by_get_file_info(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.get_file_info("../x")

    def test_nul_refused_by_exists(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.exists("a\x00b")

    @requires(Capability.WRITE)
    def test_nul_refused_by_write(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.write("bad\x00name.txt", b"x")

    @requires(Capability.READ)
    def test_nul_refused_by_read(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.read_bytes("bad\x00name.txt")

    def test_nul_error_message_is_printable(self, store: Store) -> None:
        with pytest.raises(InvalidPath) as info:
            store.exists("x\x00y")
        assert "\x00" not in str(info.value)

    def test_non_str_path_refused(self, store: Store) -> None:
        with pytest.raises((InvalidPath, TypeError)):
            store.exists(123)  # type: ignore[arg-type]

    @requires(Capability.WRITE)
    def test_root_refused_by_write(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.write("", b"x")

    @requires(Capability.WRITE)
    def test_slash_refused_by_write(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.write("/", b"x")

    @requires(Capability.READ)
    def test_root_refused_by_read(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.read_bytes("")

    @requires(Capability.DELETE)
    def test_root_refused_by_delete(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.delete("", missing_ok=True)

    @requires(Capability.METADATA)
    def test_root_refused_by_get_file_info(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.get_file_info("/")

    @requires(Capability.MOVE)
    def test_root_refused_by_move(self, store: Store, put: Putter) -> None:
        put("a.txt")
        with pytest.raises(InvalidPath):
            store.move("a.txt", "")

    @requires(Capability.COPY)
    def test_root_refused_by_copy(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.copy("", "b.txt")

    def test_root_path_with_dotdot_refused(self, backend: Backend) -> None:
        with pytest.raises(InvalidPath):
            Store(backend, "a/../b")

    def test_root_path_with_nul_refused(self, backend: Backend) -> None:
        with pytest.raises(InvalidPath):
            Store(backend, "a\x00")

    # --------------------------------------------------------------- normalisation
    @requires(Capability.WRITE, Capability.READ)
    def test_leading_slash_is_ignored(self, store: Store) -> None:
        store.write("/lead.txt", b"x")
        assert store.read_bytes("lead.txt") == b"x"

    @requires(Capability.WRITE, Capability.READ)
    def test_double_slashes_collapse(self, store: Store) -> None:
        store.write("a//b///c.txt", b"x")
        assert store.read_bytes("a/b/c.txt") == b"x"

    @requires(Capability.WRITE, Capability.READ)
    def test_dot_segments_are_dropped(self, store: Store) -> None:
        store.write("./a/./b.txt", b"x")
        assert store.read_bytes("a/b.txt") == b"x"

    @requires(Capability.WRITE)
    def test_write_result_path_is_normalised(self, store: Store) -> None:
        assert store.write("/x//y/./z.txt", b"1").path == "x/y/z.txt"

    @requires(Capability.WRITE)
    def test_trailing_slash_on_folder_checks(self, store: Store) -> None:
        store.write("dir/f.txt", b"x")
        assert store.is_folder("dir/") is True
        assert store.is_folder("/dir") is True

    # --------------------------------------------------------------- names
    @requires(Capability.WRITE, Capability.READ)
    def test_name_with_spaces(self, store: Store) -> None:
        store.write("my folder/my file.txt", b"spaces")
        assert store.read_bytes("my folder/my file.txt") == b"spaces"

    @requires(Capability.WRITE, Capability.READ)
    def test_unicode_names(self, store: Store) -> None:
        store.write("ünïcödé/文件/файл.txt", b"u")
        assert store.read_bytes("ünïcödé/文件/файл.txt") == b"u"

    @requires(Capability.WRITE, Capability.READ)
    def test_emoji_name(self, store: Store) -> None:
        store.write("📁/🙂.txt", b"e")
        assert store.read_bytes("📁/🙂.txt") == b"e"

    @requires(Capability.WRITE, Capability.READ)
    def test_url_special_characters_in_names(self, store: Store) -> None:
        name = "q?a=1&b=2#frag %20+plus;semi,comma'quote.txt"
        store.write(name, b"special")
        assert store.read_bytes(name) == b"special"

    @requires(Capability.WRITE, Capability.READ)
    def test_percent_encoded_looking_name_is_literal(self, store: Store) -> None:
        store.write("a%2Fb.txt", b"literal")
        assert store.read_bytes("a%2Fb.txt") == b"literal"
        assert store.exists("a/b.txt") is False

    @requires(Capability.WRITE, Capability.READ)
    def test_glob_characters_in_names(self, store: Store) -> None:
        store.write("star*[x]?.txt", b"g")
        assert store.read_bytes("star*[x]?.txt") == b"g"

    @requires(Capability.WRITE, Capability.READ)
    def test_dot_prefixed_name(self, store: Store) -> None:
        store.write(".hidden/.env", b"h")
        assert store.read_bytes(".hidden/.env") == b"h"

    @requires(Capability.WRITE, Capability.READ)
    def test_name_with_many_dots(self, store: Store) -> None:
        store.write("a.b.c..d...txt", b"dots")
        assert store.read_bytes("a.b.c..d...txt") == b"dots"

    @requires(Capability.WRITE, Capability.READ)
    def test_long_name(self, store: Store) -> None:
        name = "n" * 150 + ".txt"
        store.write(f"long/{name}", b"l")
        assert store.read_bytes(f"long/{name}") == b"l"

    @requires(Capability.WRITE, Capability.READ)
    def test_names_differing_only_in_case_on_exact_read(self, store: Store) -> None:
        store.write("Case.txt", b"upper")
        assert store.read_bytes("Case.txt") == b"upper"

    # --------------------------------------------------------------- scoping
    @requires(Capability.WRITE, Capability.READ)
    def test_store_writes_land_below_its_root(self, store: Store, root_store: Store, store_root: str) -> None:
        store.write("scoped.txt", b"s")
        assert root_store.read_bytes(f"{store_root}/scoped.txt") == b"s"
        assert root_store.exists("scoped.txt") is False

    @requires(Capability.WRITE, Capability.READ)
    def test_child_writes_land_below_the_child_root(self, store: Store) -> None:
        child = store.child("c1/c2")
        child.write("f.txt", b"c")
        assert store.read_bytes("c1/c2/f.txt") == b"c"
        assert child.read_bytes("f.txt") == b"c"

    @requires(Capability.WRITE)
    def test_child_of_child(self, store: Store) -> None:
        grandchild = store.child("a").child("b")
        grandchild.write("g.txt", b"g")
        assert store.exists("a/b/g.txt")
        assert grandchild.root_path == store.root_path + "/a/b"

    @requires(Capability.WRITE)
    def test_sibling_stores_are_isolated(self, backend: Backend, store_root: str) -> None:
        left, right = Store(backend, f"{store_root}/left"), Store(backend, f"{store_root}/right")
        left.write("same.txt", b"L")
        assert right.exists("same.txt") is False

    @requires(Capability.WRITE, Capability.LIST)
    def test_prefix_sibling_stores_are_isolated(self, backend: Backend, store_root: str) -> None:
        Store(backend, f"{store_root}/ab").write("f.txt", b"1")
        short = Store(backend, f"{store_root}/a")
        short.write("g.txt", b"2")
        assert paths(short.list_files(recursive=True)) == ["g.txt"]
        assert short.exists("f.txt") is False

    @requires(Capability.WRITE, Capability.LIST)
    def test_listing_in_child_is_relative_to_the_child(self, store: Store) -> None:
        store.write("p/q/r.txt", b"x")
        assert paths(store.child("p").list_files(recursive=True)) == ["q/r.txt"]

    @requires(Capability.READ)
    def test_not_found_path_is_store_relative(self, store: Store, store_root: str) -> None:
        with pytest.raises(NotFound) as info:
            store.read_bytes("dir/missing.txt")
        assert info.value.path == "dir/missing.txt"
        assert store_root not in (info.value.path or "")

    @requires(Capability.WRITE)
    def test_store_root_is_a_folder_after_a_write(self, store: Store, root_store: Store, store_root: str) -> None:
        store.write("x.txt", b"x")
        assert root_store.is_folder(store_root) is True
        assert store.is_folder("") is True


class BackendRootTests:
    """Files directly at the backend root (no store prefix): the backend fixture is fresh and empty."""

    @requires(Capability.WRITE, Capability.READ)
    def test_write_and_read_at_backend_root(self, root_store: Store) -> None:
        name = f"top-{uuid.uuid4().hex[:8]}.txt"
        result = root_store.write(name, b"top")
        assert result.path == name
        assert root_store.read_bytes(name) == b"top"

    @requires(Capability.WRITE, Capability.LIST)
    def test_list_at_backend_root(self, root_store: Store) -> None:
        name = f"top-{uuid.uuid4().hex[:8]}.txt"
        root_store.write(name, b"x")
        root_store.write(f"{name}.d/inner.txt", b"y")
        assert name in paths(root_store.list_files(""))
        assert f"{name}.d" in paths(root_store.list_folders(""))

    @requires(Capability.WRITE, Capability.DELETE)
    def test_delete_at_backend_root(self, root_store: Store) -> None:
        name = f"top-{uuid.uuid4().hex[:8]}.txt"
        root_store.write(name, b"x")
        root_store.delete(name)
        assert root_store.exists(name) is False

    @requires(Capability.WRITE, Capability.METADATA)
    def test_file_info_at_backend_root(self, root_store: Store) -> None:
        name = f"top-{uuid.uuid4().hex[:8]}.bin"
        root_store.write(name, b"12345")
        info = root_store.get_file_info(name)
        assert (info.path, info.name, info.size) == (name, name, 5)

    @requires(Capability.DELETE)
    def test_delete_folder_at_backend_root_refused(self, root_store: Store) -> None:
        with pytest.raises(InvalidPath):
            root_store.delete_folder("", recursive=True, missing_ok=True)
