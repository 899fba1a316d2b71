"""Contract v2 mechanics settled in `Store`: max_depth translation, node-type probes on
error paths only, self move/copy, root queries, the memory backend's folders, garbage collection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from remote_store import Backend, Capability, CapabilitySet, FileInfo, Store
from remote_store.backends import MemoryBackend
from remote_store.errors import DirectoryNotEmpty, InvalidPath, NotFound


class CountingMemory(MemoryBackend):
    """Memory backend recording each public call with its arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattribute__(self, name: str) -> Any:
        attr = object.__getattribute__(self, name)
        if (
            callable(attr)
            and not name.startswith("_")
            and name not in ("capabilities", "type_name", "options", "names", "scoped")  # scoped: no I/O
        ):
            calls = object.__getattribute__(self, "calls")

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                calls.append((name, args, kwargs))
                return attr(*args, **kwargs)

            return wrapper
        return attr

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


@pytest.fixture
def mem() -> CountingMemory:
    return CountingMemory()


@pytest.fixture
def store(mem: CountingMemory) -> Store:
    st = Store(mem, "root")
    for p in ("top.txt", "a/one.txt", "a/b/two.txt", "a/b/c/three.txt"):
        st.write(p, p.encode())
    mem.calls.clear()
    return st


# ---------------------------------------------------------------- max_depth
@pytest.mark.parametrize(("public", "hint"), [(0, 1), (1, 2), (7, 8)])
def test_max_depth_is_translated_into_the_backend_hint(
    store: Store, mem: CountingMemory, public: int, hint: int
) -> None:
    list(store.list_files("", max_depth=public))
    (call,) = [c for c in mem.calls if c[0] == "iter_files"]
    assert call[2] == {"recursive": True, "max_depth": hint}


class IgnoresHint(MemoryBackend):
    """A backend that ignores the depth hint and always returns the whole subtree."""

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        return super().iter_files(prefix, recursive=True)


def test_store_enforces_max_depth_when_the_backend_ignores_the_hint() -> None:
    st = Store(IgnoresHint())
    for p in ("x", "d/y", "d/e/z"):
        st.write(p, b"1")
    assert sorted(i.path for i in st.list_files("", max_depth=0)) == ["x"]
    assert sorted(i.path for i in st.list_files("", max_depth=1)) == ["d/y", "x"]
    assert st.get_folder_info("", max_depth=1).file_count == 2


@pytest.mark.parametrize("bad", [1.0, "1", True])
def test_max_depth_of_a_wrong_type_is_a_type_error(store: Store, bad: Any) -> None:
    with pytest.raises(TypeError):
        store.list_files("", max_depth=bad)
    with pytest.raises(TypeError):
        store.list_folders("", max_depth=bad)
    with pytest.raises(TypeError):
        store.get_folder_info("", max_depth=bad)


def test_negative_max_depth_is_refused_before_any_io(store: Store, mem: CountingMemory) -> None:
    with pytest.raises(ValueError, match="max_depth"):
        store.list_files("", max_depth=-1)
    with pytest.raises(InvalidPath):
        store.list_folders("", max_depth=-1)
    assert mem.calls == []


# ---------------------------------------------------------------- probes only on error paths
def test_get_file_info_success_is_one_backend_call(store: Store, mem: CountingMemory) -> None:
    store.get_file_info("a/one.txt")
    assert mem.names() == ["stat"]


class PlainNotFound(MemoryBackend):
    """A backend whose stat/move/copy/folder_info say NotFound for every wrong node type."""

    def stat(self, key: str) -> FileInfo:
        if key not in self._files:
            raise NotFound("nope", path=key)
        return super().stat(key)

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        if src not in self._files:
            raise NotFound("nope", path=src)
        super().move(src, dst, overwrite=overwrite)

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        if src not in self._files:
            raise NotFound("nope", path=src)
        super().copy(src, dst, overwrite=overwrite)

    def folder_info(self, key: str) -> Any:
        if key and key not in self._folders:
            raise NotFound("nope", path=key)
        return super().folder_info(key)


def test_store_turns_a_backends_not_found_into_invalid_path_for_the_wrong_node_type() -> None:
    st = Store(PlainNotFound(), "r")
    st.write("dir/f.txt", b"x")
    with pytest.raises(InvalidPath) as info:
        st.get_file_info("dir")
    assert isinstance(info.value.__cause__, NotFound)
    assert info.value.path == "dir"
    with pytest.raises(InvalidPath):
        st.move("dir", "other")
    with pytest.raises(InvalidPath):
        st.copy("dir", "other")
    with pytest.raises(InvalidPath) as info2:
        st.get_folder_info("dir/f.txt")
    assert info2.value.path == "dir/f.txt"
    with pytest.raises(NotFound) as info3:
        st.get_file_info("dir/missing")
    assert not isinstance(info3.value, InvalidPath)
    assert info3.value.path == "dir/missing"
    assert st.read_bytes("dir/f.txt") == b"x"


def test_self_copy_without_overwrite_is_one_existence_check(store: Store, mem: CountingMemory) -> None:
    store.copy("a/one.txt", "a/one.txt")
    store.move("a/one.txt", "./a/one.txt")
    assert mem.names() == ["exists", "exists"]
    assert store.read_bytes("a/one.txt") == b"a/one.txt"


# ---------------------------------------------------------------- root
def test_root_queries_do_no_io(mem: CountingMemory) -> None:
    st = Store(mem, "nothing/here")
    assert st.is_folder("") is True
    assert st.exists("") is False
    assert st.is_file("/") is False
    assert mem.calls == []


def test_root_of_an_empty_child_store_has_zero_counts(mem: CountingMemory) -> None:
    info = Store(mem, "missing").get_folder_info()
    assert (info.path, info.file_count, info.total_size, info.modified_at) == ("", 0, 0, None)


def test_child_of_empty_path_is_invalid(store: Store) -> None:
    with pytest.raises(InvalidPath):
        store.child("")
    with pytest.raises(InvalidPath):
        store.child("//")


# ---------------------------------------------------------------- memory folders
def test_memory_keeps_a_folder_after_its_last_file_is_deleted() -> None:
    st = Store(MemoryBackend())
    st.write("d/e/f.txt", b"x")
    st.delete("d/e/f.txt")
    assert st.is_folder("d/e") and st.is_folder("d")
    assert list(st.list_folders("", recursive=True)) == ["d", "d/e"]
    assert st.get_folder_info("d").file_count == 0
    with pytest.raises(DirectoryNotEmpty):
        st.delete_folder("d")
    st.delete_folder("d/e")  # empty: no recursive needed
    assert not st.is_folder("d/e")
    st.delete_folder("d")
    assert not st.is_folder("d")
    with pytest.raises(NotFound):
        st.delete_folder("d")


def test_memory_kept_folder_still_blocks_a_file_of_its_name() -> None:
    st = Store(MemoryBackend())
    st.write("k/f", b"x")
    st.delete("k/f")
    with pytest.raises(InvalidPath):
        st.write("k", b"y")
    with pytest.raises(InvalidPath):
        st.get_file_info("k")
    assert Capability.HIERARCHICAL in st.capabilities


def test_memory_move_keeps_the_source_folder_and_creates_the_destination_folders() -> None:
    st = Store(MemoryBackend())
    st.write("src/f", b"x")
    st.move("src/f", "dst/deep/f")
    assert st.is_folder("src") and st.is_folder("dst/deep")
    st.copy("dst/deep/f", "cp/f")
    assert st.is_folder("cp")


def test_memory_named_namespaces_share_folders() -> None:
    name = "test-store-v2-shared-folders"
    a, b = Store(MemoryBackend(name)), Store(MemoryBackend(name))
    a.write("x/y", b"1")
    a.delete("x/y")
    assert b.is_folder("x")
    b.delete_folder("x")
    assert not a.is_folder("x")


def test_memory_folders_are_consistent_under_racing_writers_and_deleters() -> None:
    st = Store(MemoryBackend())
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for n in range(200):
                st.write(f"race/{i}/f{n}", b"x")
                st.delete(f"race/{i}/f{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(st.list_folders("race")) == [f"race/{i}" for i in range(8)]
    assert list(st.list_files("race", recursive=True)) == []


# ---------------------------------------------------------------- collect_garbage
class Sweeper(MemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.swept: list[tuple[str, float]] = []

    def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        self.swept.append((prefix, older_than))
        return 3


def test_collect_garbage_passes_the_backend_key_and_age() -> None:
    b = Sweeper()
    st = Store(b, "base")
    assert st.collect_garbage() == 3
    assert st.collect_garbage("sub/", older_than=10) == 3
    assert b.swept == [("base", 3600.0), ("base/sub", 10.0)]


def test_collect_garbage_is_gated_on_delete() -> None:
    class NoDelete(MemoryBackend):
        CAPABILITIES = CapabilitySet({Capability.READ, Capability.LIST})

    from remote_store.errors import CapabilityNotSupported

    with pytest.raises(CapabilityNotSupported) as info:
        Store(NoDelete()).collect_garbage()
    assert info.value.capability == "DELETE"


def test_collect_garbage_default_backend_hook_returns_zero() -> None:
    assert Backend.collect_garbage(MemoryBackend(), "", older_than=0.0) == 0
    assert Store(MemoryBackend()).collect_garbage(older_than=0) == 0
