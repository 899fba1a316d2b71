"""Attacks on the SFTP backend with data other tools wrote on the server's disk, racing threads,
lost connections and killed writers (real OpenSSH sshd; files are made directly on disk)."""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from remote_store import Store
from remote_store.errors import AlreadyExists, ContentChanged, InvalidPath, NotFound, RemoteStoreError
from remote_store_sftp import SFTPBackend, _wire
from testing.servers.sftp import SFTPServer

Make = Callable[..., SFTPBackend]
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def disk(sftp_server_session: SFTPServer, sftp_base: str) -> Path:
    """The test's base folder on the local disk (the server runs on this machine)."""
    if sftp_server_session.kind != "openssh":
        pytest.skip("files are made on the server's filesystem (OpenSSH fixture only)")
    return Path(sftp_server_session.local_path(sftp_base))


def _chown(path: Path, like: Path) -> None:
    st = like.stat()
    os.chown(path, st.st_uid, st.st_gid, follow_symlinks=False)


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".~rs-*"))


# ---------------------------------------------------------------------- reads
def test_fifo_socket_and_device_are_refused_at_once(make_backend: Make, disk: Path) -> None:
    os.mkfifo(disk / "pipe")
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(disk / "sock"))
    (disk / "plain.txt").write_bytes(b"ok")
    store = Store(make_backend(operation_timeout=None))  # a blocked OPEN would hang forever
    outcome: list[BaseException | bytes] = []

    def attempt() -> None:
        for key in ("pipe", "sock"):
            try:
                outcome.append(store.read_bytes(key))
            except BaseException as exc:
                outcome.append(exc)

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(20)
    sock.close()
    assert not t.is_alive(), "read of a FIFO blocked"
    assert len(outcome) == 2 and all(isinstance(o, InvalidPath) for o in outcome), outcome
    assert not store.exists("pipe") and not store.exists("sock")
    assert [i.path for i in store.list_files("")] == ["plain.txt"]
    with pytest.raises(NotFound):
        store.get_file_info("pipe")


def test_reader_takes_size_from_the_open_handle(make_backend: Make, disk: Path) -> None:
    store = Store(make_backend())
    store.write("f.bin", b"a" * 100_000)
    with store.read("f.bin") as stream:
        # replaced by a bigger version after the open: the stream still delivers the old one whole
        store.write_atomic("f.bin", b"b" * 300_000, overwrite=True)
        assert stream.read() == b"a" * 100_000
    assert store.read_bytes("f.bin") == b"b" * 300_000


def test_file_shrunk_in_place_while_read_is_content_changed(make_backend: Make, disk: Path) -> None:
    store = Store(make_backend())
    store.write("f.bin", os.urandom(6 * 1024 * 1024))
    with store.read("f.bin") as stream:
        assert len(stream.read(1024 * 1024)) == 1024 * 1024
        os.truncate(disk / "f.bin", 10)  # another tool rewrites the file in place
        with pytest.raises(ContentChanged):
            while stream.read(1024 * 1024):
                pass


def test_swapping_a_link_to_outside_never_leaks_outside_bytes(
    make_backend: Make, sftp_server_session: SFTPServer, disk: Path
) -> None:
    outside = Path(sftp_server_session.local_path(sftp_server_session.unique_base("outside")))
    (outside / "secret.txt").write_bytes(b"S" * 5000)
    (disk / "inside.txt").write_bytes(b"i" * 4000)
    for sub in ("", "d/"):
        if sub:
            (disk / "d").mkdir()
            _chown(disk / "d", disk)
        link = disk / f"{sub}link"
        link.symlink_to(disk / "inside.txt")
        store = Store(make_backend())
        stop = threading.Event()

        def swapper(link: Path = link, stop: threading.Event = stop) -> None:
            tmp = link.with_name("link.new")
            flip = False
            while not stop.is_set():
                target = outside / "secret.txt" if flip else disk / "inside.txt"
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(target)
                os.replace(tmp, link)
                flip = not flip

        t = threading.Thread(target=swapper)
        t.start()
        seen = {"inside": 0, "refused": 0}
        try:
            for _ in range(300):
                try:
                    data = store.read_bytes(f"{sub}link")
                except (InvalidPath, NotFound):
                    seen["refused"] += 1
                    continue
                assert data == b"i" * 4000, "bytes from outside the base folder leaked"
                seen["inside"] += 1
        finally:
            stop.set()
            t.join()
        assert seen["inside"] + seen["refused"] == 300


# ---------------------------------------------------------------------- move under contention
def test_racing_moves_have_one_winner_and_typed_errors(make_backend: Make) -> None:
    store = Store(make_backend(max_channels=8))
    for round_ in range(5):
        store.write(f"src{round_}", b"payload")
        results: list[str] = []
        lock = threading.Lock()

        def mover(i: int, round_: int = round_, results: list[str] = results, lock: threading.Lock = lock) -> None:
            try:
                store.move(f"src{round_}", f"r{round_}/dst{i}", overwrite=i % 2 == 0)
                outcome = "ok"
            except NotFound:
                outcome = "NotFound"
            except BaseException as exc:
                outcome = repr(exc)
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=mover, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(results) == ["NotFound"] * 7 + ["ok"], results
        assert len(list(store.list_files(f"r{round_}"))) == 1
        assert not store.exists(f"src{round_}")


def test_many_sources_onto_one_destination_exclusive(make_backend: Make) -> None:
    store = Store(make_backend(max_channels=8))
    for i in range(8):
        store.write(f"s{i}", f"v{i}".encode())
    results: list[str] = []
    lock = threading.Lock()

    def mover(i: int) -> None:
        try:
            store.move(f"s{i}", "dst", overwrite=False)
            outcome = "ok"
        except AlreadyExists:
            outcome = "AlreadyExists"
        except BaseException as exc:
            outcome = repr(exc)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["AlreadyExists"] * 7 + ["ok"], results
    winner = store.read_bytes("dst").decode()
    assert not store.exists(f"s{winner[1:]}")
    assert len([i for i in store.list_files("") if i.path.startswith("s")]) == 7


# ---------------------------------------------------------------------- names other tools wrote
def test_undecodable_name_is_skipped_with_one_warning(
    make_backend: Make, disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (disk / "a.txt").write_bytes(b"a")
    sub = disk / "sub"
    sub.mkdir()
    _chown(sub, disk)
    (sub / "z.txt").write_bytes(b"z")
    for raw in (b"caf\xe9.txt", b"\xff\xfe"):
        with open(os.path.join(os.fsencode(disk), raw), "wb") as f:
            f.write(b"latin-1")
        with open(os.path.join(os.fsencode(sub), raw), "wb") as f:
            f.write(b"latin-1")
    store = Store(make_backend())
    with caplog.at_level(logging.WARNING, logger="remote_store.sftp"):
        assert [i.path for i in store.list_files("")] == ["a.txt"]
    warnings = [r for r in caplog.records if "not valid UTF-8" in r.getMessage()]
    assert len(warnings) == 1 and "skipped 2 entries" in warnings[0].getMessage()
    assert sorted(i.path for i in store.list_files("", recursive=True)) == ["a.txt", "sub/z.txt"]
    assert sorted(i.path for i in store.glob("**/*.txt")) == ["a.txt", "sub/z.txt"]
    assert list(store.list_folders("")) == ["sub"]
    store.delete_folder("sub", recursive=True)  # removes the undecodable names too
    assert not sub.exists()


# ---------------------------------------------------------------------- symlinked folders
def test_symlinked_folders_inside_the_root_are_listed(
    make_backend: Make, sftp_server_session: SFTPServer, disk: Path
) -> None:
    outside = Path(sftp_server_session.local_path(sftp_server_session.unique_base("outside")))
    (outside / "secret.txt").write_text("secret")
    real = disk / "real"
    real.mkdir()
    _chown(real, disk)
    (real / "f.txt").write_text("f")
    (disk / "alias").symlink_to(real)
    (disk / "loop").symlink_to(disk)  # points at the root itself
    (real / "up").symlink_to(real)  # points at its own folder
    (disk / "out").symlink_to(outside)
    store = Store(make_backend())
    assert store.is_folder("alias")
    assert sorted(store.list_folders("")) == ["alias", "loop", "real"]  # links are listed like folders
    assert list(store.list_folders("real")) == ["real/up"]
    # ...but a link to a folder already on the way down (a loop) is not walked again
    names = sorted(i.path for i in store.list_files("", recursive=True))
    assert names == ["alias/f.txt", "real/f.txt"]
    assert store.read_text("alias/f.txt") == "f"
    assert [i.path for i in store.list_files("alias")] == ["alias/f.txt"]
    assert not store.is_folder("out")


# ---------------------------------------------------------------------- overwrites
@pytest.mark.parametrize("how", ["write", "write_atomic", "open_atomic", "copy"])
def test_overwrite_keeps_the_old_mode(make_backend: Make, disk: Path, how: str) -> None:
    store = Store(make_backend())
    store.write("f", b"old")
    store.write("other", b"other")
    os.chmod(disk / "f", 0o640)
    if how == "open_atomic":
        with store.open_atomic("f", overwrite=True) as out:
            out.write(b"new")
    elif how == "copy":
        store.copy("other", "f", overwrite=True)
    else:
        getattr(store, how)("f", b"new", overwrite=True)
    assert stat.S_IMODE((disk / "f").stat().st_mode) == 0o640
    assert store.read_bytes("f") in (b"new", b"other")


def test_overwrite_of_a_symlink_replaces_the_link_and_keeps_the_target(make_backend: Make, disk: Path) -> None:
    (disk / "target.txt").write_bytes(b"target")
    os.chmod(disk / "target.txt", 0o600)
    _chown(disk / "target.txt", disk)
    (disk / "link").symlink_to(disk / "target.txt")
    store = Store(make_backend())
    store.write("link", b"new", overwrite=True)
    assert not (disk / "link").is_symlink()
    assert (disk / "link").read_bytes() == b"new"
    assert stat.S_IMODE((disk / "link").stat().st_mode) == 0o600
    assert (disk / "target.txt").read_bytes() == b"target"


# ---------------------------------------------------------------------- lost connections
def _killing_source(srv: SFTPServer, total: int, kill_at: int) -> Iterator[bytes]:
    sent = 0
    block = os.urandom(256 * 1024)
    while sent < total:
        if sent >= kill_at:
            srv.kill_sessions()
            time.sleep(0.2)
        yield block
        sent += len(block)


@pytest.mark.parametrize("how", ["write", "write_atomic", "open_atomic"])
def test_lost_connection_leaves_no_partial_file_and_no_temp(
    make_backend: Make, sftp_server_session: SFTPServer, disk: Path, how: str
) -> None:
    store = Store(make_backend())
    store.write("keep.bin", b"old")
    for key in ("new.bin", "keep.bin", "d/new.bin"):
        source = _killing_source(sftp_server_session, 8 * 1024 * 1024, 2 * 1024 * 1024)
        with pytest.raises(RemoteStoreError):
            if how == "open_atomic":
                with store.open_atomic(key, overwrite=True) as out:
                    for chunk in source:
                        out.write(chunk)
            else:
                getattr(store, how)(key, source, overwrite=True)
        # the temp file outlived its connection; the next connection removes it
        assert store.read_bytes("keep.bin") == b"old"
        assert _temps(disk) == []
        assert not store.exists("new.bin") and not store.exists("d/new.bin")


# ---------------------------------------------------------------------- killed writers
_WRITER = """
import sys, time
sys.path.insert(0, {root!r})
from remote_store import Store
from remote_store_sftp import SFTPBackend
b = SFTPBackend(host={host!r}, port={port}, username={user!r}, private_key={key!r},
                known_hosts={known!r}, base_path={base!r})
w = Store(b).open_atomic("sub/victim.bin", overwrite=True)
with w as out:
    out.write(b"x" * 100000)
    print("ready", flush=True)
    time.sleep(600)
"""


def _killed_writer(srv: SFTPServer, base: str) -> None:
    code = _WRITER.format(
        root=str(ROOT),
        host=srv.host,
        port=srv.port,
        user=srv.username,
        key=srv.client_key,
        known=srv.known_hosts,
        base=base,
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)


def test_collect_garbage_removes_temps_of_a_sigkilled_writer(
    make_backend: Make, sftp_server_session: SFTPServer, sftp_base: str, disk: Path
) -> None:
    _killed_writer(sftp_server_session, sftp_base)
    leftovers = _temps(disk)
    assert len(leftovers) == 1 and leftovers[0].startswith(".~rs-victim.bin.")
    store = Store(make_backend(stale_temp_age=None))
    assert [i.path for i in store.list_files("", recursive=True)] == []  # never listed
    backend = store.backend
    assert backend.collect_garbage("", older_than=3600) == 0  # young: may belong to a live writer
    assert len(_temps(disk)) == 1
    (disk / "sub" / "keep.tmp").write_bytes(b"not ours")
    old = time.time() - 7200
    for p in (disk / "sub").iterdir():
        os.utime(p, (old, old))
    assert backend.collect_garbage("nope", older_than=3600) == 0
    assert backend.collect_garbage("sub", older_than=3600) == 1
    assert _temps(disk) == [] and (disk / "sub" / "keep.tmp").exists()


def test_next_write_into_the_folder_sweeps_stale_temps_rate_limited(
    make_backend: Make, sftp_server_session: SFTPServer, sftp_base: str, disk: Path
) -> None:
    _killed_writer(sftp_server_session, sftp_base)
    old = time.time() - 120
    for p in (disk / "sub").iterdir():
        os.utime(p, (old, old))
    store = Store(make_backend(stale_temp_age=60))
    store.write("elsewhere.txt", b"1")  # another folder: not swept
    assert len(_temps(disk)) == 1
    store.write("sub/a.txt", b"1")
    assert _temps(disk) == []
    _killed_writer(sftp_server_session, sftp_base)
    for p in (disk / "sub").iterdir():
        os.utime(p, (old, old))
    store.write("sub/b.txt", b"2")  # swept a moment ago: rate-limited, no second listing
    assert len(_temps(disk)) == 1


def test_stale_temp_age_is_validated_and_round_trips(sftp_server_session: SFTPServer) -> None:
    from remote_store.errors import ConfigError

    with pytest.raises(ConfigError, match="stale_temp_age"):
        SFTPBackend(host="127.0.0.1", password="x", stale_temp_age=-1)
    b = SFTPBackend(host="127.0.0.1", password="x", stale_temp_age=None)
    assert b.options["stale_temp_age"] is None
    assert SFTPBackend(**b.options).options == b.options


# ---------------------------------------------------------------------- paramiko private API fence
def test_private_paramiko_api_is_present(make_backend: Make) -> None:
    assert _wire.missing_private_api() == []
    assert _wire.PRIVATE_OK
    backend = make_backend()
    Store(backend).write("f", b"x")

    def probe(c: _wire.Client, s: object) -> list[str]:
        f = c.open(f"{s.base}/f", "rb")  # type: ignore[attr-defined]
        try:
            return [name for name in _wire.PRIVATE_FILE_ATTRS if not hasattr(f, name)]
        finally:
            f.close()

    assert backend._pool.run(probe) == []
    assert "limits@openssh.com" in backend.server_extensions


def test_public_api_fallback_works_end_to_end(make_backend: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_wire, "PRIVATE_OK", False)
    store = Store(make_backend())
    assert store.backend.server_extensions == {}
    data = os.urandom(300_000)
    store.write("a/f.bin", data)
    store.write("a/f.bin", data[::-1], overwrite=True)
    with pytest.raises(AlreadyExists):
        store.write("a/f.bin", b"x")
    assert store.read_bytes("a/f.bin") == data[::-1]
    with store.read("a/f.bin") as s:
        s.seek(1000)
        assert s.read(10) == data[::-1][1000:1010]
    store.move("a/f.bin", "b/g.bin")
    store.copy("b/g.bin", "c.bin")
    assert sorted(i.path for i in store.list_files("", recursive=True)) == ["b/g.bin", "c.bin"]
    assert store.backend.collect_garbage("", older_than=0) == 0
    store.delete("c.bin")
    assert not store.exists("c.bin")
