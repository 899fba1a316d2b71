"""LocalBackend edges: deep trees, documented limits, unreadable folders, read-only calls
that must create nothing, and node-type errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from remote_store import BackendUnavailable, InvalidPath, NotFound, Store
from remote_store.backends import LocalBackend
from remote_store.backends._local_sys import openat2_available
from remote_store.backends._local_walk import KEEP_OPEN


@pytest.fixture(params=["openat2", "walk"])
def resolver(request: pytest.FixtureRequest) -> str:
    if request.param == "openat2" and not openat2_available():
        pytest.skip("openat2 is not available on this kernel")
    return str(request.param)


@pytest.fixture
def store(tmp_path: Path, resolver: str) -> Iterator[Store]:
    s = Store(LocalBackend(tmp_path / "root", resolver=resolver))
    yield s
    s.close()


# ---------------------------------------------------------------------- deep trees
def test_thousand_deep_tree_lists_globs_and_deletes(store: Store, tmp_path: Path) -> None:
    deep = "/".join(["d"] * 1000)
    store.write(f"{deep}/f.txt", b"bottom")
    store.write("d/" * 10 + "side/s.txt", b"side")  # a branch met after climbing back from the bottom
    store.write("d/" * 500 + "mid.txt", b"mid")
    expected = {f"{deep}/f.txt", "d/" * 10 + "side/s.txt", "d/" * 500 + "mid.txt"}
    assert {i.path for i in store.list_files("", recursive=True)} == expected
    assert {i.path for i in store.glob("**/*.txt")} == expected
    assert store.get_folder_info("").file_count == 3
    assert store.read_bytes(f"{deep}/f.txt") == b"bottom"
    assert store.get_file_info(f"{deep}/f.txt").size == 6
    assert [i.path for i in store.list_files("/".join(["d"] * 999), recursive=True)] == [f"{deep}/f.txt"]
    assert list(store.list_folders("/".join(["d"] * 999))) == [deep]
    assert store.backend.collect_garbage("", older_than=0) == 0
    store.delete_folder("d", recursive=True)
    assert list(store.list_files("", recursive=True)) == []
    assert os.listdir(tmp_path / "root") == []


def test_wide_and_deep_tree_reopens_evicted_folders(store: Store) -> None:
    # Every level has a file and a sibling folder, deeper than the open-fd window.
    depth = KEEP_OPEN * 2 + 5
    expected = set()
    for level in range(depth):
        base = "/".join(["n"] * level)
        for key in (f"{base}/f{level}.txt", f"{base}/x{level}/g.txt"):
            key = key.lstrip("/")
            store.write(key, b"1")
            expected.add(key)
    assert {i.path for i in store.list_files("", recursive=True)} == expected
    store.delete_folder("n", recursive=True)
    assert {i.path for i in store.list_files("", recursive=True)} == {"f0.txt", "x0/g.txt"}


# ---------------------------------------------------------------------- limits
def test_documented_length_limits_are_enforced_up_front(store: Store, tmp_path: Path) -> None:
    ok_segment = "s" * 255
    store.write(f"a/{ok_segment}", b"x")
    assert store.read_bytes(f"a/{ok_segment}") == b"x"
    for bad, limit in (("a/" + "s" * 256, "255"), ("é" * 128, "255"), ("/".join(["abcdefg"] * 513), "4096")):
        for call in (
            lambda k: store.write(k, b"x"),
            store.read_bytes,
            store.get_file_info,
            lambda k: store.delete(k),
            lambda k: list(store.list_files(k)),
            store.exists,
            lambda k: store.move("a/" + "s" * 255, k),
        ):
            with pytest.raises(InvalidPath, match=limit):
                call(bad)
    assert sorted(os.listdir(tmp_path / "root")) == ["a"]


# ---------------------------------------------------------------------- node types
def test_stat_below_a_file_is_not_found_and_moving_a_folder_is_invalid(store: Store) -> None:
    store.write("f.txt", b"x")
    store.write("folder/g.txt", b"y")
    for call in (store.get_file_info, store.read_bytes, store.read):
        with pytest.raises(NotFound):
            call("f.txt/below")
    assert not store.exists("f.txt/below") and not store.is_folder("f.txt/below")
    with pytest.raises(InvalidPath):
        store.move("folder", "elsewhere")
    with pytest.raises(InvalidPath):
        store.move("f.txt", "folder")
    with pytest.raises(InvalidPath):
        store.move("f.txt", "f.txt/below")
    with pytest.raises(InvalidPath):
        store.get_file_info("folder")
    with pytest.raises(InvalidPath):
        store.delete("folder")
    assert store.read_bytes("folder/g.txt") == b"y" and store.read_bytes("f.txt") == b"x"


# ---------------------------------------------------------------------- read-only calls
def test_read_only_calls_create_nothing(tmp_path: Path, resolver: str) -> None:
    typo = tmp_path / "typo" / "root"
    s = Store(LocalBackend(typo, resolver=resolver))
    s.ping()
    assert not s.exists("a.txt") and not s.is_file("a.txt")
    assert s.is_folder("") and not s.is_folder("a")
    assert list(s.list_files("", recursive=True)) == [] and list(s.list_folders("")) == []
    assert list(s.iter_children("")) == [] and list(s.glob("**")) == []
    with pytest.raises(NotFound):
        s.read_bytes("a.txt")
    with pytest.raises(NotFound):
        s.get_file_info("a/b.txt")
    assert s.get_folder_info("").file_count == 0
    s.delete("a.txt", missing_ok=True)
    with pytest.raises(NotFound):
        s.delete_folder("a")
    assert s.backend.collect_garbage("", older_than=0) == 0
    assert not (tmp_path / "typo").exists()
    s.write("a/b.txt", b"x")  # the first write creates the root
    assert (typo / "a" / "b.txt").read_bytes() == b"x"


def test_missing_root_without_create_root_is_unavailable(tmp_path: Path) -> None:
    s = Store(LocalBackend(tmp_path / "missing", create_root=False))
    with pytest.raises(BackendUnavailable):
        s.ping()
    with pytest.raises(BackendUnavailable):
        s.write("x", b"x")
    with pytest.raises(BackendUnavailable):
        list(s.list_files(""))
    assert not (tmp_path / "missing").exists()


def test_ping_reports_a_root_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(BackendUnavailable):
        Store(LocalBackend(tmp_path / "file" / "root")).ping()
    with pytest.raises(BackendUnavailable):
        Store(LocalBackend(tmp_path / "file")).ping()


# ---------------------------------------------------------------------- unreadable folders
_LIST_AS_NOBODY = textwrap.dedent(
    """
    import json, os, sys
    # The interpreter's stdlib may live where nobody cannot read (/root/.pyenv): import the
    # code first, then drop privileges before the store touches any file.
    from remote_store import Store, PermissionDenied
    from remote_store.backends import LocalBackend
    import remote_store._store, remote_store._backend  # noqa: F401
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    assert os.geteuid() == 65534
    store = Store(LocalBackend(sys.argv[1], resolver=sys.argv[2]))
    out = {}
    calls = {
        "list_recursive": lambda: [i.path for i in store.list_files("", recursive=True)],
        "list_locked": lambda: [i.path for i in store.list_files("locked")],
        "folders_locked": lambda: list(store.list_folders("locked")),
        "glob": lambda: [i.path for i in store.glob("**/*.txt")],
        "folder_info": lambda: store.get_folder_info("").file_count,
        "exists_inside_locked": lambda: store.exists("locked/c.txt"),
        "list_open": lambda: [i.path for i in store.list_files("open")],
    }
    for name, call in calls.items():
        try:
            out[name] = ["ok", call()]
        except PermissionDenied as exc:
            out[name] = ["PermissionDenied", str(exc)]
        except Exception as exc:
            out[name] = [type(exc).__name__, str(exc)]
    print(json.dumps(out))
    """
)


def test_unreadable_folder_raises_permission_denied(resolver: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to build a folder that an unprivileged user cannot read (running as uid != 0)")
    base = tempfile.mkdtemp(prefix="rs-perm-", dir="/tmp")
    try:
        os.chmod(base, 0o755)
        root = Path(base, "root")
        (root / "open").mkdir(parents=True)
        (root / "locked").mkdir()
        (root / "a.txt").write_bytes(b"a")
        (root / "open" / "b.txt").write_bytes(b"b")
        (root / "locked" / "c.txt").write_bytes(b"c")
        for p in (root, root / "open"):
            os.chmod(p, 0o755)
        os.chmod(root / "locked", 0o700)
        for p in (root / "a.txt", root / "open" / "b.txt"):
            os.chmod(p, 0o644)
        proc = subprocess.run(
            [sys.executable, "-c", _LIST_AS_NOBODY, str(root), resolver],
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
        )
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for name in ("list_recursive", "list_locked", "folders_locked", "glob", "folder_info", "exists_inside_locked"):
        assert out[name][0] == "PermissionDenied", (name, out[name])
    assert "locked" in out["list_recursive"][1]
    assert out["list_open"] == ["ok", ["open/b.txt"]]
