"""``strict_keys=True``: a non-canonical path is refused with `InvalidPath`, never normalised."""

from __future__ import annotations

import asyncio
import pickle

import pytest

from remote_store import RegistryConfig, Store
from remote_store.aio import AsyncStore
from remote_store.backends import LocalBackend, MemoryBackend
from remote_store.errors import ConfigError, InvalidPath

NON_CANONICAL = ["a//b.txt", "/a/b.txt", "./a/b.txt", "a/./b.txt", "a/b.txt/", "a/b.txt/.", "//a/b.txt"]


@pytest.fixture
def store() -> Store:
    s = Store(MemoryBackend(), strict_keys=True)
    s.write("a/b.txt", b"data")
    return s


@pytest.mark.parametrize("path", NON_CANONICAL)
def test_every_file_operation_refuses_a_non_canonical_path(store: Store, path: str) -> None:
    calls = {
        "read_bytes": lambda: store.read_bytes(path),
        "write": lambda: store.write(path, b"new", overwrite=True),
        "exists": lambda: store.exists(path),
        "get_file_info": lambda: store.get_file_info(path),
        "delete": lambda: store.delete(path),
        "move": lambda: store.move("a/b.txt", path, overwrite=True),
        "copy_src": lambda: store.copy(path, "c.txt"),
    }
    for name, call in calls.items():
        with pytest.raises(InvalidPath) as info:
            call()
        assert "strict_keys" in str(info.value), name
    assert store.read_bytes("a/b.txt") == b"data"
    assert [f.path for f in store.list_files("", recursive=True)] == ["a/b.txt"]


def test_the_default_store_still_normalises(store: Store) -> None:
    loose = Store(store.backend)
    assert not loose.strict_keys and store.strict_keys
    for path in NON_CANONICAL:
        assert loose.read_bytes(path) == b"data"


def test_folder_arguments_accept_the_root_and_one_trailing_slash(tmp_path: object) -> None:
    store = Store(LocalBackend(str(tmp_path)), strict_keys=True)
    store.write("a/b.txt", b"data")
    assert [f.path for f in store.list_files("a/")] == ["a/b.txt"]
    assert [f.path for f in store.list_files("")] == []
    assert store.is_folder("a") and store.get_folder_info("a/").file_count == 1
    with pytest.raises(InvalidPath):
        store.is_folder("a/")  # probes name one key: "a/" may be another object on a flat store
    for bad in ("a//", "/a", "./a", "a/."):
        with pytest.raises(InvalidPath):
            store.list_files(bad)
    with pytest.raises(InvalidPath):
        store.glob("a//*.txt")
    assert [f.path for f in store.glob("a/*.txt")] == ["a/b.txt"]


def test_children_and_pickles_keep_the_mode(tmp_path: object) -> None:
    s = Store(LocalBackend(str(tmp_path)), "top", strict_keys=True)
    s.write("x/y.txt", b"1")
    child = s.child("x")
    assert child.strict_keys and child.read_bytes("y.txt") == b"1"
    with pytest.raises(InvalidPath):
        s.child("x//")
    with pytest.raises(InvalidPath):
        child.read_bytes("/y.txt")
    back = pickle.loads(pickle.dumps(s))
    assert back.strict_keys and back.root_path == "top" and back.read_bytes("x/y.txt") == b"1"
    assert "strict_keys=True" in repr(s) and "strict_keys" not in repr(Store(s.backend, "top"))


def test_config_turns_it_on_per_store_and_refuses_a_non_bool() -> None:
    raw = {
        "backends": {"m": {"type": "memory"}},
        "stores": {"strict": {"backend": "m", "strict_keys": True}, "loose": {"backend": "m"}},
    }
    cfg = RegistryConfig.from_dict(raw)
    assert cfg.stores["strict"].strict_keys and not cfg.stores["loose"].strict_keys
    assert cfg.to_dict()["stores"]["strict"]["strict_keys"] is True
    assert "strict_keys" not in cfg.to_dict()["stores"]["loose"]
    assert RegistryConfig.from_dict(cfg.to_dict()).stores["strict"].strict_keys
    with pytest.raises(ConfigError) as info:
        RegistryConfig.from_dict({**raw, "stores": {"s": {"backend": "m", "strict_keys": "yes"}}})
    assert "strict_keys" in str(info.value)


def test_open_store_builds_strict_stores_sync_and_async() -> None:
    from remote_store import Registry
    from remote_store.aio import open_store_async

    raw = {"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m", "strict_keys": True}}}
    store = Registry(RegistryConfig.from_dict(raw)).get_store("s")
    assert store.strict_keys
    with pytest.raises(InvalidPath):
        store.read_bytes("a//b")

    async def run() -> None:
        astore = open_store_async("s", config=raw)
        assert astore.strict_keys
        with pytest.raises(InvalidPath):
            await astore.read_bytes("a//b")
        plain = AsyncStore(MemoryBackend(), strict_keys=True)
        await plain.write("k/v.txt", b"z")
        with pytest.raises(InvalidPath):
            await plain.exists("k//v.txt")
        assert plain.child("k").strict_keys

    asyncio.run(run())
