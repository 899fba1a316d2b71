"""LocalBackend specifics the conformance suite cannot express: symlinks, temp files,
failure atomicity on a real filesystem, native paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from remote_store import AlreadyExists, InvalidPath, NotFound, Store
from remote_store.backends import LocalBackend


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def store(root: Path) -> Iterator[Store]:
    s = Store(LocalBackend(root))
    yield s
    s.close()


def test_symlink_escapes_are_refused(store: Store, root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside, root / "evil_dir")
    os.symlink(outside / "secret.txt", root / "evil_file")
    for path in ("evil_dir/secret.txt", "evil_file"):
        with pytest.raises((InvalidPath, NotFound)):
            store.read_bytes(path)
        assert not store.exists(path)
    with pytest.raises((InvalidPath, NotFound)):
        store.write("evil_dir/new.txt", b"x")
    assert not (outside / "new.txt").exists()
    listed = {i.path for i in store.list_files("", recursive=True)}
    assert "evil_file" not in listed and not any(p.startswith("evil_dir/") for p in listed)
    with pytest.raises((InvalidPath, NotFound)):
        store.delete("evil_dir/secret.txt")
    assert (outside / "secret.txt").exists()
    # overwriting the link replaces the link itself inside the root; the target is untouched
    store.write("evil_file", b"overwrite", overwrite=True)
    assert (outside / "secret.txt").read_text() == "secret"
    assert not (root / "evil_file").is_symlink() and (root / "evil_file").read_bytes() == b"overwrite"


def test_symlinks_inside_root_are_followed(store: Store, root: Path) -> None:
    (root / "real").mkdir()
    (root / "real" / "f.txt").write_bytes(b"inside")
    os.symlink(root / "real", root / "alias")
    os.symlink(root / "real" / "f.txt", root / "link.txt")
    assert store.read_bytes("alias/f.txt") == b"inside"
    assert store.read_bytes("link.txt") == b"inside"
    assert "link.txt" in {i.path for i in store.list_files("")}


def test_store_root_via_child_cannot_escape(store: Store, root: Path, tmp_path: Path) -> None:
    (tmp_path / "sibling").mkdir()
    with pytest.raises(InvalidPath):
        store.child("../sibling")
    with pytest.raises(InvalidPath):
        store.to_key(str(tmp_path / "sibling" / "x"))


def _failing(payload: bytes) -> Iterator[bytes]:
    yield payload
    raise RuntimeError("source broke")


def test_failed_overwrite_keeps_old_file_and_no_temp(store: Store, root: Path) -> None:
    store.write("f.bin", b"old")
    for method in (store.write, store.write_atomic):
        with pytest.raises(RuntimeError, match="source broke"):
            method("f.bin", _failing(b"new-partial"), overwrite=True)
        assert (root / "f.bin").read_bytes() == b"old"
    assert sorted(os.listdir(root)) == ["f.bin"]


def test_failed_new_write_leaves_nothing(store: Store, root: Path) -> None:
    for method in (store.write, store.write_atomic):
        with pytest.raises(RuntimeError):
            method("d/new.bin", _failing(b"x" * 10))
        assert not (root / "d" / "new.bin").exists()
        assert [p for p in os.listdir(root / "d")] == []


def test_open_atomic_invisible_until_commit(store: Store, root: Path) -> None:
    with store.open_atomic("a/b.bin") as f:
        f.write(b"part1")
        assert not (root / "a" / "b.bin").exists()
        assert [i.path for i in store.list_files("a")] == []  # temp file hidden
        f.write(b"part2")
    assert f.result is not None and f.result.size == 10
    assert (root / "a" / "b.bin").read_bytes() == b"part1part2"
    with pytest.raises(ZeroDivisionError), store.open_atomic("a/c.bin") as g:
        g.write(b"x")
        raise ZeroDivisionError
    assert sorted(os.listdir(root / "a")) == ["b.bin"]


def test_exclusive_atomic_write_does_not_clobber(store: Store, root: Path) -> None:
    store.write_atomic("x", b"first")
    with pytest.raises(AlreadyExists):
        store.write_atomic("x", b"second")
    assert (root / "x").read_bytes() == b"first"
    assert os.listdir(root) == ["x"]


def test_fsync_option_and_options_round_trip(root: Path) -> None:
    b = LocalBackend(root, fsync=True)
    s = Store(b)
    s.write_atomic("f", b"durable")
    assert s.read_bytes("f") == b"durable"
    assert LocalBackend(**b.options).options == b.options


def test_native_path_and_resolve(store: Store, root: Path) -> None:
    assert store.native_path("a/b") == str(root / "a" / "b")
    plan = store.resolve("a/b")
    assert plan.backend_type == "local" and plan.native_path == str(root / "a" / "b")
    assert store.to_key(str(root / "a" / "b")) == "a/b"


def test_create_root_false(tmp_path: Path) -> None:
    from remote_store import BackendUnavailable

    s = Store(LocalBackend(tmp_path / "missing", create_root=False))
    with pytest.raises(BackendUnavailable):
        s.ping()


def test_reads_are_streams(store: Store, root: Path) -> None:
    (root / "big.bin").write_bytes(bytes(range(256)) * 4096)
    with store.read("big.bin") as f:
        assert f.read(3) == b"\x00\x01\x02"
        f.seek(256)
        assert f.read(1) == b"\x00"
        assert f.seekable()


def test_new_options_round_trip_and_pickle(root: Path) -> None:
    import pickle

    b = LocalBackend(root, follow_symlinks="never", temp_max_age=120.0, resolver="walk")
    assert b.options == {
        "root": str(root),
        "create_root": True,
        "fsync": False,
        "follow_symlinks": "never",
        "temp_max_age": 120.0,
        "resolver": "walk",
    }
    clone = pickle.loads(pickle.dumps(b))
    assert isinstance(clone, LocalBackend) and clone.options == b.options and not clone.uses_openat2
    Store(clone).write("f", b"x")
    assert (root / "f").read_bytes() == b"x"


def test_plain_write_goes_through_a_temp_file(store: Store, root: Path) -> None:
    """A reader of the key sees the old content until the new one is complete."""
    store.write("f.bin", b"old")
    seen: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        yield b"new-"
        seen.append((root / "f.bin").read_bytes())  # mid-write: still the old file
        temps = [n for n in os.listdir(root) if n.startswith(".~rs-")]
        assert len(temps) == 1 and str(os.getpid()) in temps[0]
        yield b"content"

    store.write("f.bin", chunks(), overwrite=True)
    assert seen == [b"old"]
    assert (root / "f.bin").read_bytes() == b"new-content"
    assert sorted(os.listdir(root)) == ["f.bin"]
