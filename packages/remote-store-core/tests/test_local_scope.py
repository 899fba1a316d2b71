"""A Store's root is the scope of its symlinks on the local backend (issue 20, "scope is lexical only").

``Store(LocalBackend(be), "box")`` must never read, write, stat, delete or list files of
``be/other`` through a link ``box/ln -> ../other``, while the backend's own store (rooted at
``be``) still follows that link (it stays beneath ``be``). Every test runs with both
resolvers. The race test flips ``box/ln`` between a real folder and a link to the sibling
from another process while store threads work through it; ``REMOTE_STORE_SOAK_SECONDS``
(default 4 here, a bounded CI sample) is its total time over both resolvers.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import pickle
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remote_store import Backend, InvalidPath, NotFound, RemoteStoreError, Store
from remote_store.backends import LocalBackend, MemoryBackend
from remote_store.backends._local_sys import openat2_available

RESOLVERS = ["openat2", "walk"]
SECRET = b"S" * 4321  # a size nothing inside the box has
INSIDE = b"inside"


@pytest.fixture(params=RESOLVERS)
def resolver(request: pytest.FixtureRequest) -> str:
    if request.param == "openat2" and not openat2_available():
        pytest.skip("openat2 is not available on this kernel")
    return str(request.param)


@pytest.fixture
def be(tmp_path: Path) -> Path:
    """``be/other/secret.txt`` (the sibling) and ``be/box`` with links out of and inside the box."""
    be = tmp_path / "be"
    (be / "other" / "deep").mkdir(parents=True)
    (be / "other" / "secret.txt").write_bytes(SECRET)
    (be / "other" / "deep" / "s.txt").write_bytes(SECRET)
    (be / "box" / "sub").mkdir(parents=True)
    (be / "box" / "sub" / "f.txt").write_bytes(INSIDE)
    os.symlink("../other", be / "box" / "ln")  # a sibling folder of the box: out of scope
    os.symlink(str(be / "other"), be / "box" / "abs")  # the same, absolute
    os.symlink("../other/secret.txt", be / "box" / "file_ln")  # a sibling file
    os.symlink("sub", be / "box" / "in_ln")  # inside the box: followed
    os.symlink(str(be / "box" / "sub" / "f.txt"), be / "box" / "in_abs")  # inside, absolute
    return be


@pytest.fixture
def backend(be: Path, resolver: str) -> Iterator[LocalBackend]:
    b = LocalBackend(be, resolver=resolver)
    yield b
    b.close()


def _outside_state(be: Path) -> dict[str, tuple[int, int, bytes]]:
    out = {}
    for p in (be / "other").rglob("*"):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(be))] = (st.st_mtime_ns, st.st_size, p.read_bytes())
    return out


def test_links_out_of_the_store_root_are_refused(backend: LocalBackend, be: Path) -> None:
    before = _outside_state(be)
    box = Store(backend, "box")
    for key in ("ln/secret.txt", "abs/secret.txt", "file_ln", "ln/deep/s.txt"):
        with pytest.raises(InvalidPath):
            box.read_bytes(key)
        with pytest.raises(InvalidPath):
            with box.read(key) as f:
                f.read()
        with pytest.raises((InvalidPath, NotFound)):
            box.get_file_info(key)
        assert box.exists(key) is False
        with pytest.raises((InvalidPath, NotFound)):
            box.move(key, "moved.txt")
        with pytest.raises((InvalidPath, NotFound)):
            box.copy(key, "copied.txt")
        if "/" in key:
            with pytest.raises((InvalidPath, NotFound)):
                box.delete(key)
    for key in ("ln/new.txt", "abs/new.txt", "ln/deep/new.txt"):  # (a write onto file_ln replaces the link)
        with pytest.raises(InvalidPath):
            box.write(key, b"x", overwrite=True)
        with pytest.raises(InvalidPath):
            box.write_atomic(key, b"x", overwrite=True)
        with pytest.raises(InvalidPath):
            with box.open_atomic(key, overwrite=True) as w:
                w.write(b"x")
    with pytest.raises(InvalidPath):
        box.move("sub/f.txt", "ln/stolen.txt")
    assert box.is_folder("ln") is False and box.is_folder("abs") is False
    with pytest.raises((InvalidPath, NotFound)):
        box.delete_folder("ln/deep", recursive=True)
    assert list(box.list_files("ln", recursive=True)) == []
    assert list(box.glob("ln/**")) == [] and list(box.glob("*/secret.txt")) == []
    listed = sorted(f.path for f in box.list_files("", recursive=True))
    assert listed == ["in_abs", "sub/f.txt"]  # links out of the box are left out, links inside listed
    assert sorted(box.list_folders("")) == ["sub"]
    assert box.get_folder_info("").file_count == 2
    box.delete("file_ln")  # removes the link itself (inside the box), never its target
    assert not os.path.lexists(be / "box" / "file_ln")
    assert _outside_state(be) == before
    assert sorted(os.listdir(be / "other")) == ["deep", "secret.txt"]
    assert (be / "box" / "sub" / "f.txt").read_bytes() == INSIDE  # a refused move left the source


def test_links_inside_the_store_root_are_followed(backend: LocalBackend) -> None:
    box = Store(backend, "box")
    assert box.read_bytes("in_ln/f.txt") == INSIDE
    assert box.read_bytes("in_abs") == INSIDE
    assert box.get_file_info("in_abs").size == len(INSIDE)
    box.write("in_ln/new.txt", b"n")
    assert box.read_bytes("sub/new.txt") == b"n"
    assert box.is_folder("in_ln")
    assert [f.path for f in box.list_files("in_ln")] == ["in_ln/f.txt", "in_ln/new.txt"]


def test_the_backend_store_still_follows_links_beneath_its_root(backend: LocalBackend) -> None:
    top = Store(backend)
    assert top.read_bytes("box/ln/secret.txt") == SECRET  # beneath be: inside its scope
    assert top.read_bytes("box/file_ln") == SECRET


def test_a_narrower_child_store_narrows_the_scope(backend: LocalBackend, be: Path) -> None:
    os.symlink("../in_abs", be / "box" / "sub" / "up")  # inside box, outside box/sub
    box = Store(backend, "box")
    assert box.read_bytes("sub/up") == INSIDE
    sub = box.child("sub")
    with pytest.raises(InvalidPath):
        sub.read_bytes("up")
    assert [f.path for f in sub.list_files("")] == ["f.txt"]
    assert sub.backend is backend and box.backend is backend


def test_follow_never_refuses_links_inside_the_box_too(be: Path, resolver: str) -> None:
    b = LocalBackend(be, resolver=resolver, follow_symlinks="never")
    box = Store(b, "box")
    with pytest.raises(InvalidPath):
        box.read_bytes("in_ln/f.txt")
    assert box.read_bytes("sub/f.txt") == INSIDE
    with pytest.raises(InvalidPath):
        Store(b, "box/in_ln").read_bytes("f.txt")  # a link in the root path itself
    b.close()


def test_a_store_root_that_is_a_link_is_scoped_to_its_target(backend: LocalBackend, be: Path) -> None:
    linked = Store(backend, "box/in_ln")  # the root path itself goes through a link inside be
    assert linked.read_bytes("f.txt") == INSIDE
    os.symlink("../../other", be / "box" / "sub" / "out")
    with pytest.raises(InvalidPath):
        linked.read_bytes("out/secret.txt")


def test_the_scope_folder_is_created_lazily_and_may_come_and_go(backend: LocalBackend, be: Path) -> None:
    fresh = Store(backend, "new/deeper")
    assert not (be / "new").exists()
    assert list(fresh.list_files("")) == [] and fresh.exists("a.txt") is False
    with pytest.raises(NotFound):
        fresh.read_bytes("a.txt")
    assert not (be / "new").exists()  # read-only calls create nothing
    fresh.write("a/b.txt", b"1")
    assert (be / "new" / "deeper" / "a" / "b.txt").read_bytes() == b"1"
    Store(backend).delete_folder("new", recursive=True)
    with pytest.raises(NotFound):
        fresh.read_bytes("a/b.txt")
    fresh.write("a/b.txt", b"2")  # recreated: no stale folder fd
    assert fresh.read_bytes("a/b.txt") == b"2"
    os.rename(be / "new" / "deeper", be / "moved")
    (be / "new" / "deeper").mkdir()
    assert fresh.exists("a/b.txt") is False  # resolved afresh: the folder now at the path


def test_scoped_store_identity_pickle_and_repr(backend: LocalBackend) -> None:
    box = Store(backend, "box")
    assert box.backend is backend and box.unwrap(LocalBackend) is backend
    assert box == Store(backend, "/box/") and hash(box) == hash(Store(backend, "box"))
    assert box != Store(backend, "box/sub")
    assert repr(box) == f"Store({backend!r}, root_path='box')"
    clone = pickle.loads(pickle.dumps(box))
    assert clone.root_path == "box" and clone.read_bytes("sub/f.txt") == INSIDE
    with pytest.raises(InvalidPath):
        clone.read_bytes("ln/secret.txt")
    assert backend.scoped("") is backend
    view = backend.scoped("box")
    assert view.unscoped is backend and view.scoped("box/sub").unscoped is backend
    assert backend.scoped("box") is view  # shared while in use
    box.close()  # closes the shared backend; it reopens lazily
    assert box.read_bytes("sub/f.txt") == INSIDE


def test_backend_default_hook_is_identity() -> None:
    m = MemoryBackend()
    assert m.scoped("box") is m and m.unscoped is m
    assert Backend.scoped(m, "x") is m


# ---------------------------------------------------------------------- the race
_IN_ALL = 0x1 | 0x2 | 0x4 | 0x20 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800


def _watch(folders: list[Path]) -> int | None:
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "inotify_init1"):
        return None
    fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
    if fd < 0:
        return None
    for folder in folders:
        if libc.inotify_add_watch(fd, os.fsencode(folder), _IN_ALL) < 0:
            os.close(fd)
            return None
    return fd


def _events(fd: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    while True:
        try:
            buf = os.read(fd, 65536)
        except BlockingIOError:
            return out
        i = 0
        while i < len(buf):
            _wd, mask, _cookie, n = struct.unpack_from("iIII", buf, i)
            out.append((mask, buf[i + 16 : i + 16 + n].rstrip(b"\0").decode()))
            i += 16 + n


def _flipper(box: str, stop: Any, flips: Any) -> None:
    """Flip ``box/ln`` between a real folder and a link to the sibling ``../other`` (own process)."""
    ln, real, link = os.path.join(box, "ln"), os.path.join(box, "ln.real"), os.path.join(box, "ln.link")
    n = 0
    while not stop.is_set():
        hold = 0.0002 if n % 2 else 0.0  # alternate tight races with states that last a while
        try:
            os.rename(ln, real)  # ln: real folder -> gone
            os.rename(link, ln)  # -> link to the sibling
            if hold:
                time.sleep(hold)
            os.rename(ln, link)  # -> gone
            os.rename(real, ln)  # -> real folder
            if hold:
                time.sleep(hold)
        except OSError:
            pass
        n += 1
        flips.value = n


def _worker(store: Store, deadline: float, tid: int, stats: dict[str, int], bad: list[str]) -> None:
    i = 0
    while time.monotonic() < deadline:
        i += 1
        op = i % 8
        try:
            if op == 0:
                if (data := store.read_bytes("ln/f.txt")) != INSIDE:
                    bad.append(f"read {len(data)} bytes")
            elif op == 1:
                if store.get_file_info("ln/f.txt").size != len(INSIDE):
                    bad.append("stat of another file")
            elif op == 2:
                if store.exists("ln/secret.txt"):
                    bad.append("exists saw the sibling's file")
            elif op == 3:
                for info in store.list_files("", recursive=True):
                    if info.size == len(SECRET) or info.name == "secret.txt":
                        bad.append(f"listed {info.path}")
            elif op == 4:
                for info in store.glob("ln/*"):
                    if info.size == len(SECRET):
                        bad.append(f"globbed {info.path}")
            elif op == 5:
                store.write(f"ln/w{tid}.txt", b"w", overwrite=True)
            elif op == 6:
                store.delete("ln/secret.txt", missing_ok=True)
                store.delete(f"ln/w{tid}.txt", missing_ok=True)
            else:
                store.write_atomic(f"ln/d{tid}/a.txt", b"a", overwrite=True)
                store.delete_folder(f"ln/d{tid}", recursive=True)
            stats["ok"] += 1
        except RemoteStoreError:
            stats["refused"] += 1


def _race_seconds() -> float:
    total = float(os.environ.get("REMOTE_STORE_SOAK_SECONDS", "4"))
    return max(total / len(RESOLVERS), 0.5)


def test_racing_link_flips_never_reach_the_sibling(tmp_path: Path, resolver: str) -> None:
    be = tmp_path / "be"
    (be / "other").mkdir(parents=True)
    (be / "other" / "secret.txt").write_bytes(SECRET)
    (be / "other" / "f.txt").write_bytes(SECRET)
    (be / "box" / "ln").mkdir(parents=True)
    (be / "box" / "ln" / "f.txt").write_bytes(INSIDE)
    os.symlink("../other", be / "box" / "ln.link")
    os.utime(be / "other" / "secret.txt", (1_000_000_000, 1_000_000_000))
    before = _outside_state(be)
    watch = _watch([be / "other"])
    backend = LocalBackend(be, resolver=resolver)
    store = Store(backend, "box")
    ctx = mp.get_context("fork")
    stop, flips = ctx.Event(), ctx.Value("q", 0)
    proc = ctx.Process(target=_flipper, args=(str(be / "box"), stop, flips), daemon=True)
    proc.start()
    while flips.value < 10 and proc.is_alive():
        time.sleep(0.01)
    seconds = _race_seconds()
    deadline = time.monotonic() + seconds
    stats = {"ok": 0, "refused": 0}
    bad: list[str] = []
    threads = [threading.Thread(target=_worker, args=(store, deadline, t, stats, bad)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    proc.join(10)
    backend.close()
    events = _events(watch) if watch is not None else []
    if watch is not None:
        os.close(watch)
    print(
        f"\nscope race/{resolver}: {seconds:.1f}s, {flips.value} flips, {stats['ok']} calls ok, "
        f"{stats['refused']} refused, inotify events in the sibling: {len(events)}"
    )
    assert flips.value > 10, "the flipper did not run"
    assert stats["ok"] > 0 and stats["refused"] > 0  # both states of the link were met
    assert bad == []
    assert events == []  # nothing in the sibling was opened, read, written, created or removed
    assert _outside_state(be) == before
    assert sorted(os.listdir(be / "other")) == ["f.txt", "secret.txt"]
