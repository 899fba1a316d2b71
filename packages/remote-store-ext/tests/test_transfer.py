"""upload / download / transfer: files and folders, parallel, progress, failures, bounded memory."""

from __future__ import annotations

import io
import os
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from remote_store import Store
from remote_store.backends import MemoryBackend
from remote_store.errors import AlreadyExists, BackendUnavailable, ConfigError, InvalidPath, NotFound
from remote_store.ext.transfer import TransferProgress, download, transfer, upload

MiB = 1024 * 1024


def make_tree(root: Path, n: int = 12) -> dict[str, bytes]:
    files = {}
    for i in range(n):
        rel = f"sub{i % 3}/deep/f{i}.bin" if i % 2 else f"f{i}.bin"
        data = os.urandom(1000 + i * 37)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        files[rel] = data
    return files


def test_upload_download_folder_round_trip(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = make_tree(src)
    events: list[TransferProgress] = []
    up = upload(src, store, "up", max_workers=4, progress=events.append)
    assert up.ok and sorted(up.files) == sorted(f"up/{r}" for r in files)
    assert up.bytes == sum(map(len, files.values()))
    assert events[-1].files_done == len(files) == events[-1].files_total
    assert events[-1].bytes_done == up.bytes == events[-1].bytes_total
    assert sum(1 for e in events if e.finished) == len(files)
    assert all(store.read_bytes(f"up/{r}") == d for r, d in files.items())

    out = tmp_path / "out"
    down = download(store, "up", out, max_workers=3)
    assert down.ok and down.bytes == up.bytes
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == files


def test_single_files(store: Store, tmp_path: Path) -> None:
    local = tmp_path / "one.bin"
    local.write_bytes(b"x" * 5000)
    r = upload(local, store, "a/one.bin")
    assert r.files == ("a/one.bin",) and r.bytes == 5000
    with pytest.raises(AlreadyExists):
        upload(local, store, "a/one.bin")
    got = tmp_path / "dl" / "one.bin"
    assert download(store, "a/one.bin", got).bytes == 5000 and got.read_bytes() == b"x" * 5000
    with pytest.raises(AlreadyExists):
        download(store, "a/one.bin", got)
    with pytest.raises(NotFound):
        download(store, "nope.bin", tmp_path / "n")
    with pytest.raises(NotFound):
        upload(tmp_path / "missing", store, "m")


def test_store_to_store(store: Store, tmp_path: Path) -> None:
    store.write("data/a.txt", b"A")
    store.write("data/x/b.txt", b"B" * 3000)
    other = Store(MemoryBackend())
    r = transfer(store, "data", other, "copy")
    assert r.ok and sorted(r.files) == ["copy/a.txt", "copy/x/b.txt"]
    assert other.read_bytes("copy/x/b.txt") == b"B" * 3000
    back = transfer(other, "copy/x/b.txt", store, "single.txt")
    assert back.files == ("single.txt",) and store.read_bytes("single.txt") == b"B" * 3000
    same = transfer(store, "data", store, "data2")  # same store: Store.copy
    assert same.bytes == 3001 and store.read_bytes("data2/x/b.txt") == b"B" * 3000
    with pytest.raises(InvalidPath):
        transfer(store, "data", store, "data/inner")


def test_partial_failures_do_not_stop_the_folder(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = make_tree(src, 8)
    store.write("dst/f0.bin", b"old")
    r = upload(src, store, "dst", max_workers=3)
    assert set(r.failed) == {str(src / "f0.bin")}
    assert isinstance(r.failed[str(src / "f0.bin")], AlreadyExists)
    assert len(r.files) == len(files) - 1
    assert store.read_bytes("dst/f0.bin") == b"old"
    with pytest.raises(AlreadyExists):
        r.raise_first()
    out = tmp_path / "out"
    out.mkdir()
    (out / "f0.bin").write_bytes(b"local old")
    d = download(store, "dst", out)
    assert set(d.failed) == {"dst/f0.bin"} and (out / "f0.bin").read_bytes() == b"local old"
    assert len(d.files) == len(files) - 1
    assert download(store, "dst", out, overwrite=True).ok and (out / "f0.bin").read_bytes() == b"old"


def test_failed_download_leaves_old_local_file(tmp_path: Path) -> None:
    class Broken(MemoryBackend):
        def open_read(self, key: str) -> Any:
            class Half(io.RawIOBase):
                def __init__(self) -> None:
                    self.calls = 0

                def readable(self) -> bool:
                    return True

                def readinto(self, b: Any) -> int:
                    self.calls += 1
                    if self.calls > 1:
                        raise ConnectionResetError("dropped")
                    b[:3] = b"new"
                    return 3

            return Half()

    store = Store(Broken())
    store.write("f.bin", b"whatever")
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(BackendUnavailable):
        download(store, "f.bin", target, overwrite=True, chunk_size=3)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temp file left


def test_parallelism_bounded(tmp_path: Path) -> None:
    class Slow(MemoryBackend):
        active = 0
        peak = 0
        lock = threading.Lock()

        def write(self, key: str, stream: Any, **kw: Any) -> Any:
            with Slow.lock:
                Slow.active += 1
                Slow.peak = max(Slow.peak, Slow.active)
            time.sleep(0.02)
            try:
                return super().write(key, stream, **kw)
            finally:
                with Slow.lock:
                    Slow.active -= 1

    src = tmp_path / "src"
    make_tree(src, 24)
    r = upload(src, Store(Slow()), "", max_workers=5)
    assert r.ok and len(r.files) == 24 and 2 <= Slow.peak <= 5


def test_bad_arguments(tmp_path: Path) -> None:
    store = Store(MemoryBackend())
    store.write("a", b"a")
    for kwargs in ({"max_workers": 0}, {"chunk_size": 0}, {"progress": 5}):
        with pytest.raises(ConfigError):
            download(store, "a", tmp_path / "x", **kwargs)  # type: ignore[arg-type]


def test_tqdm_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    src = tmp_path / "src"
    make_tree(src, 5)
    r = upload(src, Store(MemoryBackend()), "t", progress=True)
    assert r.ok
    assert "upload" in capsys.readouterr().err


def test_progress_true_without_tqdm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    store = Store(MemoryBackend())
    store.write("a", b"a")
    with pytest.raises(ModuleNotFoundError, match=r"remote-store-ext\[tqdm\]"):
        download(store, "a", tmp_path / "a", progress=True)


def _peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_bounded_memory_on_big_files(local_store: Store, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    block = os.urandom(MiB)
    with open(big, "wb") as f:
        for _ in range(40):
            f.write(block)
    other = Store(type(local_store.backend)(tmp_path / "other"))  # type: ignore[call-arg]
    for name, fn in {
        "upload": lambda: upload(big, local_store, "big.bin"),
        "download": lambda: download(local_store, "big.bin", tmp_path / "back.bin"),
        "transfer": lambda: transfer(local_store, "big.bin", other, "big.bin"),
    }.items():
        peak = _peak(fn)
        assert peak < 8 * MiB, f"{name} peaked at {peak / MiB:.1f} MiB for a 40 MiB file"
    assert (tmp_path / "back.bin").stat().st_size == 40 * MiB
    assert other.get_file_info("big.bin").size == 40 * MiB


def test_s3_to_local_many_files(s3_store: Store, tmp_path: Path) -> None:
    for i in range(40):
        s3_store.write(f"many/{i:03}.bin", bytes([i]) * 2048)
    seen: list[str] = []
    r = download(
        s3_store, "many", tmp_path / "many", max_workers=8, progress=lambda p: p.finished and seen.append(p.path)
    )
    assert r.ok and len(r.files) == 40 and sorted(seen) == [f"many/{i:03}.bin" for i in range(40)]
    assert (tmp_path / "many" / "007.bin").read_bytes() == bytes([7]) * 2048


def test_skip_existing_upload_and_download_compare_md5(tmp_path: Path) -> None:
    store = Store(MemoryBackend())  # etags are content MD5s: same size, other bytes is "changed"
    src = tmp_path / "src"
    src.mkdir()
    (src / "same.txt").write_bytes(b"same")
    (src / "changed.txt").write_bytes(b"new!")
    (src / "new.txt").write_bytes(b"n")
    store.write("up/same.txt", b"same")
    store.write("up/changed.txt", b"old!")
    events: list[TransferProgress] = []
    r = upload(src, store, "up", skip_existing=True, overwrite=True, progress=events.append)
    assert r.ok and r.skipped == ("up/same.txt",)
    assert sorted(r.files) == ["up/changed.txt", "up/new.txt"] and r.bytes == 5
    assert store.read_bytes("up/changed.txt") == b"new!"
    assert events[-1].files_done == 3 and events[-1].bytes_done == events[-1].bytes_total == 9

    out = tmp_path / "out"
    out.mkdir()
    (out / "same.txt").write_bytes(b"same")
    (out / "changed.txt").write_bytes(b"xxxx")
    before = (out / "same.txt").stat().st_mtime_ns
    d = download(store, "up", out, skip_existing=True, overwrite=True)
    assert d.skipped == (str(out / "same.txt"),) and sorted(d.files) == [str(out / "changed.txt"), str(out / "new.txt")]
    assert (out / "changed.txt").read_bytes() == b"new!" and (out / "same.txt").stat().st_mtime_ns == before
    again = download(store, "up", out, skip_existing=True)  # everything matches now: no AlreadyExists
    assert again.ok and again.files == () and len(again.skipped) == 3 and again.bytes == 0
    with pytest.raises(AlreadyExists):
        download(store, "up/same.txt", out / "changed.txt", skip_existing=True)  # size differs, no overwrite
    assert download(store, "up/same.txt", out / "same.txt", skip_existing=True).skipped == (str(out / "same.txt"),)


def test_skip_existing_memory_to_local(local_store: Store) -> None:
    src = Store(MemoryBackend())
    for name, data in {"same.bin": b"1234", "size.bin": b"12345", "blind.bin": b"abcd", "new.bin": b"z"}.items():
        src.write(f"d/{name}", data)
    local_store.write("copy/same.bin", b"1234")
    local_store.write("copy/size.bin", b"123")
    local_store.write("copy/blind.bin", b"ABCD")  # a local etag is mtime-size: only the size can be compared
    r = transfer(src, "d", local_store, "copy", skip_existing=True)
    assert r.skipped == ("copy/blind.bin", "copy/same.bin")
    assert r.files == ("copy/new.bin",) and r.bytes == 1
    assert list(r.failed) == ["d/size.bin"] and isinstance(r.failed["d/size.bin"], AlreadyExists)
    r = transfer(src, "d", local_store, "copy", skip_existing=True, overwrite=True)
    assert r.ok and r.files == ("copy/size.bin",) and len(r.skipped) == 3
    assert local_store.read_bytes("copy/size.bin") == b"12345"
    single = transfer(src, "d/same.bin", local_store, "copy/same.bin", skip_existing=True)
    assert single.skipped == ("copy/same.bin",) and single.files == ()
    fresh = transfer(src, "d", local_store, "elsewhere", skip_existing=True)  # nothing there yet
    assert len(fresh.files) == 4 and fresh.skipped == ()


@pytest.fixture
def sftp_store(sftp_server_session: Any, sftp_base: str) -> Any:
    from remote_store_sftp import SFTPBackend

    srv = sftp_server_session
    backend = SFTPBackend(
        host=srv.host,
        port=srv.port,
        username=srv.username,
        private_key=srv.client_key,
        known_hosts=srv.known_hosts,
        base_path=sftp_base,
        operation_timeout=30.0,
    )
    yield Store(backend)
    backend.close()


def test_skip_existing_s3_to_sftp(s3_store: Store, sftp_store: Store) -> None:
    files = {f"src/{i:02}.bin": os.urandom(100 + i) for i in range(20)}
    for p, data in files.items():
        s3_store.write(p, data)
    first = transfer(s3_store, "src", sftp_store, "dst", max_workers=4)
    assert first.ok and len(first.files) == 20 and first.skipped == ()
    mtimes = {i.path: i.modified_at for i in sftp_store.list_files("dst")}

    s3_store.write("src/03.bin", b"grown" * 100, overwrite=True)
    events: list[TransferProgress] = []
    second = transfer(s3_store, "src", sftp_store, "dst", skip_existing=True, overwrite=True, progress=events.append)
    assert second.ok and second.files == ("dst/03.bin",) and second.bytes == 500
    assert len(second.skipped) == 19 and "dst/03.bin" not in second.skipped
    assert sftp_store.read_bytes("dst/03.bin") == b"grown" * 100
    after = {i.path: i.modified_at for i in sftp_store.list_files("dst")}
    assert all(after[p] == mtimes[p] for p in mtimes if p != "dst/03.bin")  # skipped files not rewritten
    assert events[-1].files_done == 20 and events[-1].bytes_done == events[-1].bytes_total

    # S3 etags of single-part objects are MD5s, and so are memory etags: same size, other bytes is copied.
    mem = Store(MemoryBackend())
    mem.write("m/00.bin", bytes(len(files["src/00.bin"])))
    mem.write("m/01.bin", files["src/01.bin"])
    r = transfer(s3_store, "src", mem, "m", skip_existing=True, overwrite=True)
    assert r.skipped == ("m/01.bin",) and "m/00.bin" in r.files and mem.read_bytes("m/00.bin") == files["src/00.bin"]
