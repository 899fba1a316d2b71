"""LocalBackend confinement: no key, symlink or concurrent swap reaches outside the root.

Every test runs with both resolvers (openat2 and the portable walk). The soak test races a
separate swapper PROCESS that flips entries between real ones and symlinks leading out of
the root while store threads read, stat, list and write; a canary folder outside the root
is watched with inotify and checked afterwards. ``REMOTE_STORE_SOAK_SECONDS`` (default 20)
is the total time spread over all swap modes and resolvers.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remote_store import InvalidPath, NotFound, RemoteStoreError, Store
from remote_store.backends import LocalBackend
from remote_store.backends._local_sys import RENAME_EXCHANGE, openat2_available, renameat2

RESOLVERS = ["openat2", "walk"]
SECRET = b"S" * 7777  # a size no inside file has
INSIDE = b"inside"


def _backend(root: Path, resolver: str, **kw: Any) -> LocalBackend:
    if resolver == "openat2" and not openat2_available():
        pytest.skip("openat2 is not available on this kernel")
    b = LocalBackend(root, resolver=resolver, **kw)
    assert b.uses_openat2 is (resolver == "openat2")
    return b


@pytest.fixture(params=RESOLVERS)
def resolver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "f.txt").write_bytes(SECRET)
    return root, outside


@pytest.fixture
def store(layout: tuple[Path, Path], resolver: str) -> Iterator[Store]:
    s = Store(_backend(layout[0], resolver))
    yield s
    s.close()


# ---------------------------------------------------------------------- static escapes
@pytest.mark.parametrize("absolute", [True, False], ids=["absolute", "relative"])
def test_links_leading_out_are_refused_everywhere(store: Store, layout: tuple[Path, Path], absolute: bool) -> None:
    root, outside = layout
    (root / "inner").mkdir()
    file_target = str(outside / "f.txt") if absolute else "../../outside/f.txt"
    dir_target = str(outside) if absolute else "../outside"
    os.symlink(file_target, root / "inner" / "f.txt")
    os.symlink(dir_target, root / "out")
    os.symlink("../../outside/f.txt" if not absolute else str(outside / "f.txt"), root / "inner" / "f2.txt")
    for key in ("inner/f.txt", "out/f.txt"):
        with pytest.raises(InvalidPath):
            store.read_bytes(key)
        with pytest.raises(InvalidPath):
            store.read(key)
        with pytest.raises(InvalidPath):
            store.get_file_info(key)
        assert not store.exists(key)
    assert not store.is_folder("out")
    with pytest.raises(InvalidPath):
        store.write("out/new.txt", b"x")
    with pytest.raises(InvalidPath):
        store.write_atomic("out/deeper/new.txt", b"x")
    with pytest.raises(RemoteStoreError):
        store.copy("inner/f.txt", "copy.txt")
    assert not (root / "copy.txt").exists()
    assert list(store.list_files("out", recursive=True)) == []
    assert list(store.list_files("out")) == []
    listed = {i.path for i in store.list_files("", recursive=True)}
    assert listed == set()  # both links lead out
    assert list(store.glob("**")) == []
    assert list(store.glob("out/*")) == []
    assert sorted(os.listdir(outside)) == ["f.txt"]
    assert (outside / "f.txt").read_bytes() == SECRET


def test_links_inside_are_followed(store: Store, layout: tuple[Path, Path]) -> None:
    root, _ = layout
    (root / "real" / "sub").mkdir(parents=True)
    (root / "real" / "sub" / "f.txt").write_bytes(INSIDE)
    os.symlink(root / "real", root / "abs_alias")  # absolute target below the root's path
    os.symlink("real/sub", root / "rel_alias")
    os.symlink("../real/sub/f.txt", root / "real" / "up.txt")  # ".." that stays inside
    os.symlink("rel_alias/f.txt", root / "chain.txt")  # link to a path through a link
    for key in ("abs_alias/sub/f.txt", "rel_alias/f.txt", "real/up.txt", "chain.txt"):
        assert store.read_bytes(key) == INSIDE
        assert store.get_file_info(key).size == len(INSIDE)
        assert store.exists(key)
    assert store.is_folder("abs_alias") and store.is_folder("rel_alias/")
    store.write("rel_alias/new.txt", b"new")
    assert (root / "real" / "sub" / "new.txt").read_bytes() == b"new"
    files = {i.path for i in store.list_files("", recursive=True)}
    # symlinked files are listed; symlinked folders are not descended into
    assert files == {"real/sub/f.txt", "real/sub/new.txt", "real/up.txt", "chain.txt"}


def test_symlink_loops_and_long_chains_are_invalid_path(store: Store, layout: tuple[Path, Path]) -> None:
    root, _ = layout
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    (root / "t.txt").write_bytes(INSIDE)
    prev = "t.txt"
    for i in range(45):  # a chain longer than the 40-link limit
        os.symlink(prev, root / f"l{i}")
        prev = f"l{i}"
    for key in ("a", "a/x", f"l{44}"):
        with pytest.raises(InvalidPath):
            store.read_bytes(key)
        assert not store.exists(key)
    assert store.read_bytes("l30") == INSIDE  # 31 links: within the limit


def test_magic_links_are_refused(store: Store, layout: tuple[Path, Path]) -> None:
    root, _ = layout
    os.symlink("/proc/self/root/etc/hostname", root / "magic")
    os.symlink("/proc/self/cwd", root / "magic_dir")
    with pytest.raises(InvalidPath):
        store.read_bytes("magic")
    with pytest.raises(InvalidPath):
        store.write("magic_dir/x", b"x")


def test_follow_never_refuses_every_link(layout: tuple[Path, Path], resolver: str) -> None:
    root, _ = layout
    (root / "real").mkdir()
    (root / "real" / "f.txt").write_bytes(INSIDE)
    os.symlink("real", root / "alias")
    os.symlink("real/f.txt", root / "link.txt")
    s = Store(_backend(root, resolver, follow_symlinks="never"))
    assert s.read_bytes("real/f.txt") == INSIDE
    for key in ("alias/f.txt", "link.txt"):
        with pytest.raises(InvalidPath, match="never"):
            s.read_bytes(key)
        assert not s.exists(key)
    with pytest.raises(InvalidPath):
        s.write("alias/new.txt", b"x")
    assert {i.path for i in s.list_files("", recursive=True)} == {"real/f.txt"}
    s.write("link.txt", b"replaces the link itself", overwrite=True)
    assert not (root / "link.txt").is_symlink() and (root / "real" / "f.txt").read_bytes() == INSIDE


def test_bad_option_values() -> None:
    from remote_store import ConfigError

    with pytest.raises(ConfigError):
        LocalBackend("/tmp/x", follow_symlinks="always")
    with pytest.raises(ConfigError):
        LocalBackend("/tmp/x", resolver="magic")
    with pytest.raises(ConfigError):
        LocalBackend("/tmp/x", temp_max_age=0)


def test_env_forces_the_walk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REMOTE_STORE_LOCAL_RESOLVER", "walk")
    assert not LocalBackend(tmp_path).uses_openat2
    monkeypatch.delenv("REMOTE_STORE_LOCAL_RESOLVER")
    assert LocalBackend(tmp_path).uses_openat2 is openat2_available()


# ---------------------------------------------------------------------- the race soak
_IN_ALL = 0x1 | 0x2 | 0x4 | 0x20 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800  # access modify attrib open moved create delete


def _inotify(folder: Path) -> int | None:
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "inotify_init1"):
        return None
    fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
    if fd < 0:
        return None
    if libc.inotify_add_watch(fd, os.fsencode(folder), _IN_ALL) < 0:
        os.close(fd)
        return None
    return fd


def _inotify_events(fd: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    while True:
        try:
            buf = os.read(fd, 65536)
        except BlockingIOError:
            return out
        i = 0
        while i < len(buf):
            _wd, mask, _cookie, n = struct.unpack_from("iIII", buf, i)
            name = buf[i + 16 : i + 16 + n].rstrip(b"\0").decode()
            out.append((mask, name))
            i += 16 + n


def _swapper(root: str, outside: str, mode: str, stop: Any, flips: Any) -> None:
    """Flip entries between real ones and symlinks that lead out (run in its own process)."""
    inner = os.path.join(root, "inner")
    real_dir = os.path.join(root, "inner.real")
    n = 0
    while not stop.is_set():
        absolute = n % 2 == 0
        try:
            if mode == "file":  # renames only: f.txt is the real file, a gap, or a link leading out
                link = os.path.join(inner, "f.abs" if absolute else "f.rel")
                f_txt, f_real = os.path.join(inner, "f.txt"), os.path.join(inner, "f.real")
                os.rename(f_txt, f_real)
                os.rename(link, f_txt)
                os.rename(f_txt, link)
                os.rename(f_real, f_txt)
            elif mode == "folder":
                target = outside if absolute else "../outside"
                os.rename(inner, real_dir)
                os.symlink(target, inner)
                os.unlink(inner)
                os.rename(real_dir, inner)
            else:  # exchange: atomic swaps of a real entry with a link that leads out
                if not renameat2(-100, inner, -100, os.path.join(root, "inner.link"), RENAME_EXCHANGE):
                    return
                renameat2(-100, inner, -100, os.path.join(root, "inner.link"), RENAME_EXCHANGE)
                renameat2(-100, os.path.join(inner, "f.txt"), -100, os.path.join(inner, "f.link"), RENAME_EXCHANGE)
        except OSError:
            pass
        n += 1
        flips.value = n


def _client(store: Store, deadline: float, tid: int, stats: dict[str, int], bad: list[str]) -> None:
    i = 0
    while time.monotonic() < deadline:
        i += 1
        op = i % 11
        try:
            if op == 0:
                data = store.read_bytes("inner/f.txt")
                if data != INSIDE:
                    bad.append(f"read returned {len(data)} bytes")
            elif op == 1:
                with store.read("inner/f.txt") as f:
                    data = f.read()
                if data != INSIDE:
                    bad.append(f"stream read returned {len(data)} bytes")
            elif op == 2:
                info = store.get_file_info("inner/f.txt")
                if info.size != len(INSIDE):
                    bad.append(f"stat saw size {info.size}")
            elif op == 3:
                store.exists("inner/f.txt")
                store.is_folder("inner")
            elif op == 4:
                for info in store.list_files("inner", recursive=True):
                    if info.size == len(SECRET):
                        bad.append(f"listing saw {info.path} size {info.size}")
            elif op == 5:
                for info in store.glob("inner/*.txt"):
                    if info.size == len(SECRET):
                        bad.append(f"glob saw {info.path}")
            elif op == 6:
                store.write(f"inner/w{tid}.txt", b"w", overwrite=True)
            elif op == 7:
                store.write_atomic(f"inner/sub{tid}/a.txt", b"a", overwrite=True)
            elif op == 8:
                with store.open_atomic(f"inner/o{tid}.txt", overwrite=True) as w:
                    w.write(b"o")
            elif op == 9:
                store.copy("inner/f.txt", f"c{tid}.txt", overwrite=True)
                if store.read_bytes(f"c{tid}.txt") != INSIDE:
                    bad.append("copy brought the outside file in")
            else:
                store.write(f"inner/m{tid}.txt", b"m", overwrite=True)
                store.move(f"inner/m{tid}.txt", f"inner/n{tid}.txt", overwrite=True)
                store.delete(f"inner/n{tid}.txt", missing_ok=True)
            stats["ok"] += 1
        except RemoteStoreError:
            stats["refused"] += 1


def _soak_seconds() -> float:
    total = float(os.environ.get("REMOTE_STORE_SOAK_SECONDS", "20"))
    return max(total / (3 * len(RESOLVERS)), 0.5)


@pytest.mark.parametrize("mode", ["file", "folder", "exchange"])
def test_racing_swapper_never_reaches_outside(tmp_path: Path, resolver: str, mode: str) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "inner").mkdir(parents=True)
    outside.mkdir()
    (root / "inner" / "f.txt").write_bytes(INSIDE)
    (outside / "f.txt").write_bytes(SECRET)
    os.utime(outside / "f.txt", (1_000_000_000, 1_000_000_000))
    os.symlink(str(outside / "f.txt"), root / "inner" / "f.abs")
    os.symlink("../../outside/f.txt", root / "inner" / "f.rel")
    if mode == "exchange":
        os.symlink(str(outside), root / "inner.link")
        os.symlink(str(outside / "f.txt"), root / "inner" / "f.link")
        probe_a, probe_b = tmp_path / "pa", tmp_path / "pb"
        probe_a.write_bytes(b"a")
        probe_b.write_bytes(b"b")
        try:
            supported = renameat2(-100, str(probe_a), -100, str(probe_b), RENAME_EXCHANGE)
        except OSError:
            supported = False
        if not supported:
            pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in outside.iterdir()}
    watch = _inotify(outside)
    store = Store(_backend(root, resolver))
    ctx = mp.get_context("fork")
    stop, flips = ctx.Event(), ctx.Value("q", 0)
    proc = ctx.Process(target=_swapper, args=(str(root), str(outside), mode, stop, flips), daemon=True)
    proc.start()
    while flips.value < 10 and proc.is_alive():
        time.sleep(0.01)
    seconds = _soak_seconds()
    deadline = time.monotonic() + seconds
    stats = {"ok": 0, "refused": 0}
    bad: list[str] = []
    threads = [threading.Thread(target=_client, args=(store, deadline, t, stats, bad)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    proc.join(10)
    store.close()
    events = _inotify_events(watch) if watch is not None else []
    if watch is not None:
        os.close(watch)
    print(
        f"\n{mode}/{resolver}: {seconds:.1f}s, {flips.value} flips, {stats['ok']} calls ok, "
        f"{stats['refused']} refused, inotify events outside: {len(events)}"
    )
    assert flips.value > 10, "the swapper did not run"
    assert stats["ok"] + stats["refused"] > 100
    assert bad == []
    assert events == []  # nothing outside was opened, read, written, created or removed
    after = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in outside.iterdir()}
    assert after == before
    assert (outside / "f.txt").read_bytes() == SECRET


def test_outside_paths_via_to_key_and_child(store: Store, layout: tuple[Path, Path]) -> None:
    _, outside = layout
    with pytest.raises(InvalidPath):
        store.child("../outside")
    with pytest.raises(InvalidPath):
        store.to_key(str(outside / "f.txt"))
    with pytest.raises(NotFound):
        store.read_bytes("missing/f.txt")
