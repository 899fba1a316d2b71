"""SFTP-specific behaviour the conformance suite cannot express: authentication, host keys,
reconnects, concurrency, big streams, symlink containment, fork/pickle, config and URLs."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import pickle
import stat
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import remote_store_sftp
from remote_store import Secret, Store, open_store, open_url
from remote_store.errors import BackendUnavailable, ConfigError, InvalidPath, NotFound, PermissionDenied
from remote_store_sftp import HostKeyPolicy, SFTPBackend
from remote_store_sftp._keys import repair_pem
from testing.servers.sftp import SFTPServer

Make = Callable[..., SFTPBackend]
OTHER_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMmWcAmdwZb6c6WXPZc0ZC2Ydt5MqTFzJ6A3oXQJ7L6n"


def test_public_surface() -> None:
    assert remote_store_sftp.__all__ == ["HostKeyPolicy", "SFTPBackend"]
    assert sorted(remote_store_sftp.__all__) == remote_store_sftp.__all__


# ---------------------------------------------------------------------- authentication
def test_password_auth(make_backend: Make, sftp_server_session: SFTPServer) -> None:
    store = Store(make_backend(private_key=None, password=sftp_server_session.password))
    store.write("p.txt", b"by password")
    assert store.read_bytes("p.txt") == b"by password"


def test_wrong_password_is_backend_unavailable(make_backend: Make) -> None:
    store = Store(make_backend(private_key=None, password="not-the-password"))
    with pytest.raises(BackendUnavailable, match="authentication failed") as info:
        store.exists("x")
    assert "not-the-password" not in str(info.value)


def test_key_auth_from_path_text_and_secret(make_backend: Make, sftp_server_session: SFTPServer) -> None:
    pem = Path(sftp_server_session.client_key).read_text()
    for key in (sftp_server_session.client_key, pem, Secret(pem)):
        store = Store(make_backend(private_key=key))
        store.write("k.txt", b"k", overwrite=True)
        assert store.read_bytes("k.txt") == b"k"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda pem: pem.replace("\n", " "),
        lambda pem: pem.replace("\n", "\\n"),
        lambda pem: pem.replace("\n", "\r\n"),
        lambda pem: '"' + pem.strip().replace("\n", "\\n") + '"',
    ],
    ids=["spaces", "literal-backslash-n", "crlf", "quoted"],
)
def test_mangled_pem_is_repaired(
    make_backend: Make, sftp_server_session: SFTPServer, mangle: Callable[[str], str]
) -> None:
    pem = Path(sftp_server_session.client_key).read_text()
    store = Store(make_backend(private_key=Secret(mangle(pem))))
    store.write("m.txt", b"m")
    assert store.exists("m.txt")


def test_broken_pem_is_rejected_clearly(make_backend: Make, sftp_server_session: SFTPServer) -> None:
    pem = Path(sftp_server_session.client_key).read_text()
    lines = pem.splitlines()
    broken = "\n".join([lines[0], lines[1][:10] + "%%%" + lines[1][10:], *lines[2:]])
    with pytest.raises(ConfigError, match="not base64"):
        Store(make_backend(private_key=broken)).exists("x")
    with pytest.raises(ConfigError, match="no complete"):
        repair_pem("-----BEGIN OPENSSH PRIVATE KEY----- abc")


def test_missing_key_file_is_config_error(make_backend: Make, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        Store(make_backend(private_key=str(tmp_path / "nope"))).exists("x")


# ---------------------------------------------------------------------- host keys
def test_strict_rejects_unknown_host_key(make_backend: Make, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    store = Store(make_backend(known_hosts=str(empty)))
    with pytest.raises(PermissionDenied, match="unknown host key"):
        store.exists("x")
    assert empty.read_text() == ""


def test_strict_is_default_and_missing_known_hosts_refuses(make_backend: Make, tmp_path: Path) -> None:
    b = make_backend(known_hosts=str(tmp_path / "absent"))
    assert b.options["host_key_policy"] == "strict"
    with pytest.raises(PermissionDenied, match="unknown host key"):
        Store(b).exists("x")
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize("policy", ["strict", "trust_on_first_use", "auto_add"])
def test_changed_host_key_is_always_refused(
    make_backend: Make, sftp_server_session: SFTPServer, tmp_path: Path, policy: str
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sftp_server_session.port} {OTHER_HOST_KEY}\n")
    store = Store(make_backend(known_hosts=str(known), host_key_policy=policy))
    with pytest.raises(PermissionDenied, match="host key changed"):
        store.exists("x")
    assert known.read_text().count("\n") == 1


def test_changed_inline_host_key_is_refused(make_backend: Make, tmp_path: Path) -> None:
    store = Store(make_backend(known_hosts=str(tmp_path / "none"), host_key=OTHER_HOST_KEY))
    with pytest.raises(PermissionDenied, match="host key changed"):
        store.exists("x")


def test_inline_host_key_and_fingerprint(make_backend: Make, sftp_server_session: SFTPServer, tmp_path: Path) -> None:
    import base64
    import hashlib as h

    line = sftp_server_session.host_key_line
    Store(make_backend(known_hosts=str(tmp_path / "none"), host_key=line)).write("a", b"1")
    blob = base64.b64decode(line.split()[1])
    fp = "SHA256:" + base64.b64encode(h.sha256(blob).digest()).decode().rstrip("=")
    assert Store(make_backend(known_hosts=str(tmp_path / "none"), host_key=fp)).read_bytes("a") == b"1"


def test_host_key_from_environment(
    make_backend: Make, sftp_server_session: SFTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMOTE_STORE_SFTP_HOST_KEY", sftp_server_session.host_key_line)
    Store(make_backend(known_hosts=str(tmp_path / "none"))).write("env", b"ok")
    monkeypatch.delenv("REMOTE_STORE_SFTP_HOST_KEY")
    monkeypatch.setenv("REMOTE_STORE_SFTP_KNOWN_HOSTS", sftp_server_session.known_hosts)
    assert Store(make_backend(known_hosts=None)).read_bytes("env") == b"ok"


def test_trust_on_first_use_persists_with_mode_0600(
    make_backend: Make, sftp_server_session: SFTPServer, tmp_path: Path
) -> None:
    known = tmp_path / "new" / "known_hosts"
    Store(make_backend(known_hosts=str(known), host_key_policy=HostKeyPolicy.TRUST_ON_FIRST_USE)).write("t", b"1")
    assert known.exists()
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    content = known.read_text()
    assert content == f"[127.0.0.1]:{sftp_server_session.port} {sftp_server_session.host_key_line}\n"
    # now STRICT accepts it, and a second TOFU connection does not append again
    assert Store(make_backend(known_hosts=str(known))).read_bytes("t") == b"1"
    Store(make_backend(known_hosts=str(known), host_key_policy="tofu")).read_bytes("t")
    assert known.read_text() == content


def test_auto_add_warns_and_does_not_persist(make_backend: Make, tmp_path: Path) -> None:
    known = tmp_path / "kh"
    store = Store(make_backend(known_hosts=str(known), host_key_policy="auto_add"))
    with pytest.warns(UserWarning, match="AUTO_ADD"):
        store.write("a", b"1")
    assert not known.exists()


def test_bad_policy_is_config_error(sftp_server_session: SFTPServer) -> None:
    with pytest.raises(ConfigError, match="unknown host key policy"):
        SFTPBackend(host="127.0.0.1", host_key_policy="yolo")
    with pytest.raises(ConfigError, match="max_channels"):
        SFTPBackend(host="127.0.0.1", max_channels=1)


# ---------------------------------------------------------------------- connection lifecycle
def test_lazy_connect_and_unreachable_host() -> None:
    from testing.servers._common import free_port

    b = SFTPBackend(host="127.0.0.1", port=free_port(), password="x", connect_timeout=2)
    assert b._session is None  # constructing does no I/O
    with pytest.raises(BackendUnavailable):
        Store(b).exists("x")


def test_reconnect_after_server_restart(make_backend: Make, sftp_server_session: SFTPServer) -> None:
    store = Store(make_backend())
    store.write("before.txt", b"1")
    first = store.backend._session  # type: ignore[attr-defined]
    assert first is not None and first.transport.is_active()
    sftp_server_session.restart()
    # the next calls work on a new connection; no cached dead connection is reused
    assert store.read_bytes("before.txt") == b"1"
    store.write("after.txt", b"2")
    second = store.backend._session  # type: ignore[attr-defined]
    assert second is not None and second is not first and second.transport.is_active()
    assert not first.transport.is_active()
    assert sorted(i.path for i in store.list_files("")) == ["after.txt", "before.txt"]


def test_reconnect_after_connection_killed(make_backend: Make, sftp_server_session: SFTPServer) -> None:
    store = Store(make_backend())
    store.write("a.txt", b"1")
    sftp_server_session.kill_sessions()
    assert store.read_text("a.txt") == "1"
    assert store.exists("a.txt")


def test_error_while_stream_is_read_is_translated(make_backend: Make, sftp_server_session: SFTPServer) -> None:
    store = Store(make_backend(retries=0))  # with retries a stream resumes on a new connection (test_faults.py)
    store.write("big.bin", os.urandom(8 * 1024 * 1024))
    stream = store.read("big.bin")
    assert len(stream.read(1024)) == 1024
    sftp_server_session.kill_sessions()
    with pytest.raises(BackendUnavailable):
        while stream.read(1024 * 1024):
            pass
    stream.close()
    # And the backend recovers. With retries=0 nothing is retried, so the first call may still
    # meet another pooled channel of the killed session (a typed BackendUnavailable, seen under
    # load); the pool drops it, and the next call must work on a fresh connection.
    try:
        info = store.get_file_info("big.bin")
    except BackendUnavailable:
        info = store.get_file_info("big.bin")
    assert info.size == 8 * 1024 * 1024


def test_sixteen_threads_share_one_backend(make_backend: Make) -> None:
    backend = make_backend(max_channels=4)
    store = Store(backend)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(8):
                data = os.urandom(1000 + n * 37 + i)
                key = f"t{n}/f{i}.bin"
                store.write(key, data, overwrite=True)
                assert store.read_bytes(key) == data
                with store.read(key) as s:
                    s.seek(10)
                    assert s.read(5) == data[10:15]
                assert store.get_file_info(key).size == len(data)
            assert len(list(store.list_files(f"t{n}"))) == 8
            store.delete(f"t{n}/f0.bin")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert len(list(store.list_files("", recursive=True))) == 16 * 7
    session = backend._session
    assert session is not None and len(session.idle) <= 4


def test_pickle_rebuilds_from_options(make_backend: Make, sftp_server_session: SFTPServer) -> None:
    b = make_backend(private_key=None, password=sftp_server_session.password)
    Store(b).write("p", b"x")
    assert sftp_server_session.password not in repr(b)
    assert isinstance(b.options["password"], Secret)
    clone = pickle.loads(pickle.dumps(b))
    assert clone is not b and clone._session is None
    assert Store(clone).read_bytes("p") == b"x"
    clone.close()


def _child_read(store: Store, q: multiprocessing.Queue[bytes | str]) -> None:
    try:
        store.write("from-child", b"child")
        q.put(store.read_bytes("p"))
    except BaseException as exc:
        q.put(repr(exc))


def test_fork_rebuilds_the_connection(make_backend: Make) -> None:
    store = Store(make_backend())
    store.write("p", b"parent")
    parent_session = store.backend._session  # type: ignore[attr-defined]
    ctx = multiprocessing.get_context("fork")
    q: multiprocessing.Queue[bytes | str] = ctx.Queue()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (paramiko's transport thread)
        proc = ctx.Process(target=_child_read, args=(store, q))
        proc.start()
    assert q.get(timeout=60) == b"parent"
    proc.join(30)
    assert proc.exitcode == 0
    # the parent's connection was not disturbed by the child
    assert store.backend._session is parent_session  # type: ignore[attr-defined]
    assert store.read_bytes("from-child") == b"child"


# ---------------------------------------------------------------------- streaming
def _chunks(total: int, seed: bytes) -> Iterator[bytes]:
    block = hashlib.sha256(seed).digest() * (1024 * 1024 // 32)
    sent = 0
    while sent < total:
        n = min(len(block), total - sent)
        yield block[:n]
        sent += n


def test_64_mib_streamed_round_trip(make_backend: Make) -> None:
    total = 64 * 1024 * 1024
    store = Store(make_backend())
    expected = hashlib.sha256()
    for chunk in _chunks(total, b"seed"):
        expected.update(chunk)
    result = store.write("big/64.bin", _chunks(total, b"seed"))
    assert result.size == total
    got = hashlib.sha256()
    n = 0
    with store.read("big/64.bin") as stream:
        while chunk := stream.read(1024 * 1024):
            got.update(chunk)
            n += len(chunk)
    assert n == total
    assert got.hexdigest() == expected.hexdigest()


def test_read_window_is_bounded_and_lazy(make_backend: Make) -> None:
    store = Store(make_backend())
    data = os.urandom(6 * 1024 * 1024)
    store.write("w.bin", data)
    backend = store.backend
    raw = backend.open_read("w.bin")
    try:
        assert raw._next == 0  # type: ignore[attr-defined]  # nothing fetched before the first read
        raw.seek(5 * 1024 * 1024)
        assert raw.read(100) == data[5 * 1024 * 1024 : 5 * 1024 * 1024 + 100]
        # a partial read after a seek fetched little, not the whole file
        assert raw._next - 5 * 1024 * 1024 <= 4 * 32768  # type: ignore[attr-defined]
        while raw.read(256 * 1024):
            assert len(raw._pending) <= 64  # type: ignore[attr-defined]
        raw.seek(-10, os.SEEK_END)
        assert raw.read() == data[-10:]
    finally:
        raw.close()


def test_failed_write_keeps_old_file_and_leaves_no_temp(
    make_backend: Make, sftp_server_session: SFTPServer, sftp_base: str
) -> None:
    store = Store(make_backend())
    store.write("keep.txt", b"old")

    def failing() -> Iterator[bytes]:
        yield b"x" * 100_000
        raise RuntimeError("source broke")

    for call in (store.write, store.write_atomic):
        with pytest.raises(RuntimeError, match="source broke"):
            call("keep.txt", failing(), overwrite=True)
        assert store.read_bytes("keep.txt") == b"old"
    with pytest.raises(RuntimeError):
        store.write("new.txt", failing())
    assert not store.exists("new.txt")
    assert sorted(os.listdir(sftp_server_session.local_path(sftp_base))) == ["keep.txt"]


def test_server_extensions_drive_capabilities(make_backend: Make, sftp_server_session: SFTPServer) -> None:
    from remote_store import Capability

    b = make_backend()
    exts = b.server_extensions
    if sftp_server_session.kind == "openssh":
        assert "posix-rename@openssh.com" in exts and "hardlink@openssh.com" in exts
        assert Capability.ATOMIC_MOVE in b.capabilities
    assert Capability.USER_METADATA not in b.capabilities


def test_copy_is_server_side_where_offered(make_backend: Make) -> None:
    store = Store(make_backend())
    data = os.urandom(300_000)
    store.write("src.bin", data)
    store.copy("src.bin", "d/dst.bin")
    assert store.read_bytes("d/dst.bin") == data
    with pytest.raises(Exception, match="exists"):
        store.copy("src.bin", "d/dst.bin")


# ---------------------------------------------------------------------- containment
def test_symlinks_cannot_escape_base(make_backend: Make, sftp_server_session: SFTPServer, sftp_base: str) -> None:
    if sftp_server_session.kind != "openssh":
        pytest.skip("symlinks are created on the server's filesystem (OpenSSH fixture only)")
    local = Path(sftp_server_session.local_path(sftp_base))
    outside = Path(sftp_server_session.local_path(sftp_server_session.unique_base("outside")))
    (outside / "secret.txt").write_text("secret")
    (local / "inside.txt").write_text("inside")
    (local / "out-file").symlink_to(outside / "secret.txt")
    (local / "out-dir").symlink_to(outside)
    (local / "in-link").symlink_to(local / "inside.txt")
    store = Store(make_backend())

    for path in ("out-file", "out-dir/secret.txt"):
        with pytest.raises((InvalidPath, NotFound)):
            store.read_bytes(path)
        assert not store.exists(path)
    with pytest.raises(InvalidPath):
        store.write("out-dir/new.txt", b"x")
    with pytest.raises(InvalidPath):
        store.write("out-dir/sub/new.txt", b"x")
    assert not (outside / "new.txt").exists() and not (outside / "sub").exists()
    assert not store.is_folder("out-dir")
    assert store.read_bytes("in-link") == b"inside"
    names = sorted(i.path for i in store.list_files("", recursive=True))
    assert names == ["in-link", "inside.txt"]
    # deleting the link removes the link, never its target
    store.delete("out-file")
    assert (outside / "secret.txt").read_text() == "secret"
    # replacing the link with a real file never writes through it
    store.write("in-link", b"replaced", overwrite=True)
    assert (local / "inside.txt").read_text() == "inside"


# ---------------------------------------------------------------------- config, URL, plugin
def test_sftp_url_opens_a_store(sftp_server_session: SFTPServer, sftp_base: str) -> None:
    srv = sftp_server_session
    url = (
        f"sftp://{srv.username}@{srv.host}:{srv.port}/{sftp_base}"
        f"?known_hosts={srv.known_hosts}&private_key={srv.client_key}"
    )
    store = open_url(url)
    try:
        assert store.backend.type_name == "sftp"
        store.write("u.txt", b"url")
        assert Path(srv.local_path(f"{sftp_base}/u.txt")).read_bytes() == b"url"
    finally:
        store.close()


def test_config_opens_a_store(sftp_server_session: SFTPServer, sftp_base: str) -> None:
    srv = sftp_server_session
    config = {
        "backends": {
            "drop": {
                "type": "sftp",
                "options": {
                    "host": srv.host,
                    "port": srv.port,
                    "username": srv.username,
                    "password": srv.password,
                    "known_hosts": srv.known_hosts,
                    "base_path": sftp_base,
                },
            }
        },
        "stores": {"partner": {"backend": "drop", "root_path": "in"}},
    }
    store = open_store("partner", config=config)
    try:
        store.write("c.txt", b"cfg")
        assert Path(srv.local_path(f"{sftp_base}/in/c.txt")).read_bytes() == b"cfg"
        assert "password" not in repr(store.resolve("c.txt").options.get("password"))
    finally:
        store.close()


def test_ssh_config_alias(sftp_server_session: SFTPServer, sftp_base: str, tmp_path: Path) -> None:
    srv = sftp_server_session
    cfg = tmp_path / "config"
    cfg.write_text(
        f"Host partner\n  HostName {srv.host}\n  Port {srv.port}\n  User {srv.username}\n  IdentityFile {srv.client_key}\n"
    )
    b = SFTPBackend("partner", ssh_config=str(cfg), known_hosts=srv.known_hosts, base_path=sftp_base)
    try:
        Store(b).write("alias.txt", b"a")
        assert Path(srv.local_path(f"{sftp_base}/alias.txt")).read_bytes() == b"a"
    finally:
        b.close()


def test_relative_base_path_and_native_path(make_backend: Make, sftp_server_session: SFTPServer) -> None:
    rel = sftp_server_session.unique_base("rel").rsplit("/", 2)
    relative = f"{rel[-2]}/{rel[-1]}/sub"
    b = make_backend(base_path=relative)
    store = Store(b)
    store.write("r.txt", b"r")
    assert store.native_path("r.txt") == f"{relative}/r.txt"
    assert store.to_key(f"{relative}/r.txt") == "r.txt"
    with pytest.raises(InvalidPath):
        store.to_key("/etc/passwd")
    assert io.BytesIO(store.read_bytes("r.txt")).read() == b"r"


# ---------------------------------------------------------------------- more streaming / keys
def test_open_atomic_streams_into_a_hidden_temp(
    make_backend: Make, sftp_server_session: SFTPServer, sftp_base: str
) -> None:
    store = Store(make_backend())
    store.write("a.bin", b"old")
    local = Path(sftp_server_session.local_path(sftp_base))
    with store.open_atomic("a.bin", overwrite=True) as out:
        for _ in range(8):
            out.write(b"n" * 100_000)
        names = os.listdir(local)
        assert len(names) == 2 and any(n.startswith(".~rs-a.bin.") for n in names)  # streamed, not spooled
        assert [i.path for i in store.list_files("")] == ["a.bin"]  # temp hidden
        assert store.read_bytes("a.bin") == b"old"  # not visible before commit
    assert store.read_bytes("a.bin") == b"n" * 800_000
    with pytest.raises(RuntimeError):
        with store.open_atomic("a.bin", overwrite=True) as out:
            out.write(b"partial")
            raise RuntimeError("abort")
    assert store.read_bytes("a.bin") == b"n" * 800_000
    assert os.listdir(local) == ["a.bin"]


def test_encrypted_private_key_needs_its_passphrase(make_backend: Make, sftp_server_session: SFTPServer) -> None:
    from cryptography.hazmat.primitives import serialization

    raw = Path(sftp_server_session.client_key).read_bytes()
    key = serialization.load_ssh_private_key(raw, password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.BestAvailableEncryption(b"pass phrase"),
    ).decode()
    store = Store(make_backend(private_key=Secret(encrypted), private_key_passphrase=Secret("pass phrase")))
    store.write("enc", b"1")
    assert store.exists("enc")
    with pytest.raises(ConfigError, match="passphrase"):
        Store(make_backend(private_key=encrypted)).exists("enc")


def test_plugin_and_package_import_no_paramiko() -> None:
    import subprocess
    import sys

    code = (
        "import sys, remote_store_sftp, remote_store_sftp._plugin\n"
        "from remote_store import get_plugin_host\n"
        "assert 'sftp' in get_plugin_host().backend_types()\n"
        "print('paramiko' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_url_parsing() -> None:
    import urllib.parse

    from remote_store_sftp._plugin import sftp_from_url

    opts, root = sftp_from_url(
        urllib.parse.urlsplit("sftp://bob:p%40ss@files.example.com:2222//srv/drop?host_key_policy=tofu")
    )
    assert root == ""
    assert opts["host"] == "files.example.com" and opts["port"] == 2222 and opts["username"] == "bob"
    assert opts["password"] == Secret("p@ss") and opts["base_path"] == "/srv/drop"
    assert opts["host_key_policy"] == "tofu"
    opts, _ = sftp_from_url(urllib.parse.urlsplit("sftp://files.example.com/drop"))
    assert opts["base_path"] == "drop" and "password" not in opts
    with pytest.raises(ConfigError):
        sftp_from_url(urllib.parse.urlsplit("sftp:///nohost"))


def test_channel_pool_bounds_and_wakes_waiters(make_backend: Make) -> None:
    store = Store(make_backend(max_channels=2, operation_timeout=2.0))
    store.write("f", b"data")
    a, b = store.read("f"), store.read("f")  # both channels held
    with pytest.raises(BackendUnavailable, match="no free SFTP channel"):
        store.exists("f")
    results: list[object] = []
    waiters = [threading.Thread(target=lambda: results.append(store.read_bytes("f"))) for _ in range(3)]
    for t in waiters:
        t.start()
    a.close()
    b.close()
    for t in waiters:
        t.join(10)
    assert results == [b"data"] * 3
