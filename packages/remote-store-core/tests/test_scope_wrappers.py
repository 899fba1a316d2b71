"""Wrappers keep a store's symlink scope: `ForwardingBackend` and `SyncBackendAdapter` forward `scoped`.

``Store(wrapper(LocalBackend(be)), "box")`` must refuse ``box/ln -> ../other`` exactly like
``Store(LocalBackend(be), "box")`` does (issue 20: the scope is the store's root); before,
a wrapper answered `scoped` with itself and the link reached the sibling folder.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from remote_store import InvalidPath, NotFound, Store
from remote_store.aio import AsyncStore, SyncBackendAdapter
from remote_store.backends import LocalBackend, MemoryBackend
from remote_store.kit import ForwardingBackend

SECRET = b"S" * 4321


@pytest.fixture
def be(tmp_path: Path) -> Path:
    be = tmp_path / "be"
    (be / "other").mkdir(parents=True)
    (be / "other" / "secret.txt").write_bytes(SECRET)
    (be / "box" / "sub").mkdir(parents=True)
    (be / "box" / "sub" / "f.txt").write_bytes(b"inside")
    os.symlink("../other", be / "box" / "ln")
    return be


class Counting(ForwardingBackend):
    """A stateful middleware: counts reads in a shared list."""

    def __init__(self, inner: LocalBackend) -> None:
        super().__init__(inner)
        self.reads: list[str] = []

    def read_bytes(self, key: str) -> bytes:
        self.reads.append(key)
        return super().read_bytes(key)


def _refused(call: object) -> None:
    with pytest.raises((InvalidPath, NotFound)):
        call()  # type: ignore[operator]


def test_a_store_over_a_forwarding_wrapper_keeps_the_local_scope(be: Path) -> None:
    local = LocalBackend(str(be))
    wrapper = Counting(local)
    store = Store(wrapper, "box")
    _refused(lambda: store.read_bytes("ln/secret.txt"))
    _refused(lambda: store.write("ln/new.txt", b"x"))
    assert not (be / "other" / "new.txt").exists()
    assert "ln" not in list(store.list_folders(""))
    assert store.read_bytes("sub/f.txt") == b"inside"
    # the view is this wrapper over the inner view: state shared, unscoped is the wrapper
    assert store.backend is wrapper
    assert wrapper.reads.count("box/sub/f.txt") == 1
    # the backend's own store still follows the link (it stays beneath the backend root)
    assert Store(wrapper).read_bytes("box/ln/secret.txt") == SECRET


def test_a_wrapper_over_a_backend_without_views_is_its_own_scope() -> None:
    wrapper = ForwardingBackend(MemoryBackend())
    assert wrapper.scoped("box") is wrapper and wrapper.unscoped is wrapper


def test_config_middleware_keeps_the_scope_and_does_not_share_its_cache(be: Path) -> None:
    from remote_store_ext.middleware import CacheMiddleware

    mw = CacheMiddleware(LocalBackend(str(be)))
    loose = Store(mw)
    assert loose.read_bytes("box/ln/secret.txt") == SECRET  # cached by the unscoped store
    boxed = Store(mw, "box")
    _refused(lambda: boxed.read_bytes("ln/secret.txt"))  # never served from the other scope's cache
    assert boxed.read_bytes("sub/f.txt") == b"inside"
    assert boxed.backend is mw


def test_an_async_store_over_the_sync_adapter_keeps_the_local_scope(be: Path) -> None:
    adapter = SyncBackendAdapter(LocalBackend(str(be)))

    async def run() -> None:
        store = AsyncStore(adapter, "box")
        assert store.backend is adapter
        with pytest.raises((InvalidPath, NotFound)):
            await store.read_bytes("ln/secret.txt")
        with pytest.raises((InvalidPath, NotFound)):
            await store.write("ln/new.txt", b"x")
        assert await store.read_bytes("sub/f.txt") == b"inside"
        assert await AsyncStore(adapter).read_bytes("box/ln/secret.txt") == SECRET
        child = store.child("sub")
        assert await child.read_bytes("f.txt") == b"inside"
        await store.aclose()
        # the shared pools were shut down and cleared in place: the adapter starts new ones
        assert await AsyncStore(adapter).read_bytes("box/sub/f.txt") == b"inside"
        await adapter.aclose()

    asyncio.run(run())
    assert not (be / "other" / "new.txt").exists()


def test_a_local_view_rooted_again_at_the_empty_prefix_keeps_its_scope(be: Path) -> None:
    local = LocalBackend(str(be))
    view = local.scoped("box")
    assert view is not local and view.scoped("") is view and view.unscoped is local
    _refused(lambda: Store(view).read_bytes("box/ln/secret.txt"))
