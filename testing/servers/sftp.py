"""SFTP test server: a real OpenSSH ``sshd`` on a free 127.0.0.1 port.

`sftp_server` starts ``/usr/sbin/sshd -D -e -f <own config>`` with its own host key, its own
``sshd_config`` and a test user (created with ``useradd``, unlocked with ``chpasswd``) that
accepts both a password and an ed25519 key; it writes a ``known_hosts`` file for the port.
Without ``sshd`` (or without root, which ``useradd`` and sshd need) it falls back to an
in-process asyncssh SFTP server and says so; under ``REMOTE_STORE_TEST_REQUIRE_SERVERS=1``
(the CI) a missing ``sshd`` fails instead, so CI always tests against OpenSSH.

The context manager is usable outside pytest (``benchmarks/bench_sftp.py``). Fixtures:

- ``sftp_server`` (session): the running `SFTPServer`.
- ``sftp_base`` (function): a fresh, unique, empty folder below the test user's data folder,
  as the absolute path the server sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from testing.servers._common import free_port, server_missing, servers_required, stop_process, wait_until, which

SSHD_PATHS = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
TEST_USER = "rs-sftp-test"
TEST_PASSWORD = "rs-sftp-pass-" + "x1"


def _keypair(path: Path, comment: str) -> str:
    """Write an unencrypted OpenSSH ed25519 private key at ``path`` (mode 0600) and ``path.pub``;
    return the public key line ``ssh-ed25519 AAAA… comment``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    line = f"{pub.decode()} {comment}"
    path.with_name(path.name + ".pub").write_text(line + "\n")
    return line


@dataclass
class SFTPServer:
    """A running SFTP server and everything a client needs to reach it.

    Attributes:
        host: ``"127.0.0.1"``.
        port: TCP port.
        username: Test user name.
        password: Test user password.
        client_key: Path of the test user's ed25519 private key (OpenSSH PEM, unencrypted).
        known_hosts: Path of a known_hosts file holding the server's host key for ``[host]:port``.
        host_key_line: ``"ssh-ed25519 AAAA…"`` of the server's host key.
        data_root: Absolute server-side folder (owned by the test user) tests create folders in.
        kind: ``"openssh"`` or ``"asyncssh"`` (fallback).
        state_dir: Local folder with config, keys and logs.
    """

    host: str
    port: int
    username: str
    password: str
    client_key: str
    known_hosts: str
    host_key_line: str
    data_root: str
    kind: str
    state_dir: str
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _config: str = field(default="", repr=False)
    _async: Any = field(default=None, repr=False)

    def unique_base(self, prefix: str = "t") -> str:
        """Create and return a fresh empty server-side folder below `data_root`."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        local = self._local_path(f"{self.data_root}/{name}")
        os.makedirs(local)
        if self.kind == "openssh":
            pw = pwd.getpwnam(self.username)
            os.chown(local, pw.pw_uid, pw.pw_gid)
        return f"{self.data_root}/{name}"

    def _local_path(self, server_path: str) -> str:
        if self.kind == "openssh":
            return server_path
        return os.path.join(self._async.root, server_path.lstrip("/"))

    def local_path(self, server_path: str) -> str:
        """The local filesystem path of a server-side path (same machine)."""
        return self._local_path(server_path)

    @property
    def pid(self) -> int | None:
        """PID of the sshd listener (None for the asyncssh fallback)."""
        return self._proc.pid if self._proc is not None else None

    def kill_sessions(self) -> None:
        """Kill every per-connection sshd child (drops all client connections; the listener stays)."""
        if self._proc is not None:
            import psutil

            for child in psutil.Process(self._proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        elif self._async is not None:
            self._async.drop_connections()

    def restart(self) -> None:
        """Stop the server (dropping every connection) and start it again on the same port and host key."""
        if self.kind == "openssh":
            self.kill_sessions()
            assert self._proc is not None
            stop_process(self._proc)
            self._proc = _start_sshd(self._config, self.port, self.state_dir)
        else:
            self._async.stop()
            self._async.start()

    def stop(self) -> None:
        """Stop the server and every session it started."""
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self.kill_sessions()
            stop_process(self._proc)
            self._proc = None
        if self._async is not None:
            self._async.stop()


def _start_sshd(config: str, port: int, state_dir: str) -> subprocess.Popen[bytes]:
    log = open(os.path.join(state_dir, "sshd.log"), "ab")  # noqa: SIM115 - owned by the process
    sshd = which("sshd", SSHD_PATHS)
    assert sshd is not None
    # absolute path: sshd re-executes itself
    proc = subprocess.Popen([os.path.abspath(sshd), "-D", "-e", "-f", config], stdout=log, stderr=log)
    log.close()

    def ready() -> bool:
        import socket

        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            return s.recv(7) == b"SSH-2.0"

    try:
        wait_until(ready, 15, "sshd", proc)
    except BaseException:
        stop_process(proc)
        raise
    return proc


@contextlib.contextmanager
def _user_lock() -> Iterator[None]:
    """Serialise changes to the shared test user across processes (pytest-xdist workers, other
    sessions, a benchmark): two ``useradd`` at once fail, and the authorized_keys rewrite in
    `_forget_key` must not drop a key another process appends meanwhile."""
    import fcntl

    with open(os.path.join(tempfile.gettempdir(), f"{TEST_USER}.lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _ensure_user(state: Path) -> tuple[str, str]:
    """Create (or reuse) the test user; return (home, data_root). Call under `_user_lock`."""
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", TEST_USER], check=True, capture_output=True)
        pw = pwd.getpwnam(TEST_USER)
    # a fresh useradd account is locked ('!'); sshd refuses it even for key auth until unlocked
    subprocess.run(["chpasswd"], input=f"{TEST_USER}:{TEST_PASSWORD}".encode(), check=True, capture_output=True)
    home = pw.pw_dir
    os.makedirs(home, exist_ok=True)
    os.chown(home, pw.pw_uid, pw.pw_gid)
    os.chmod(home, 0o755)  # StrictModes refuses group/world-writable homes
    return home, f"{home}/data-{uuid.uuid4().hex[:10]}"


def _forget_key(line: str) -> None:
    """Remove this session's client key from the test user's authorized_keys (other sessions keep theirs)."""
    with _user_lock():
        try:
            auth = Path(pwd.getpwnam(TEST_USER).pw_dir) / ".ssh" / "authorized_keys"
            kept = [x for x in auth.read_text().splitlines() if x.strip() and x != line]
            auth.write_text("".join(k + "\n" for k in kept))
        except (KeyError, OSError):
            pass


@contextlib.contextmanager
def openssh_server(state_dir: str | None = None) -> Iterator[SFTPServer]:
    """Start a real OpenSSH sshd (needs root and ``/usr/sbin/sshd``); stop it (by PID) on exit.

    Raises:
        RuntimeError: sshd is missing, we are not root, or it did not become ready.
    """
    sshd = which("sshd", SSHD_PATHS)
    if sshd is None:
        raise RuntimeError("OpenSSH sshd not installed (apt-get install openssh-server)")
    if os.geteuid() != 0:
        raise RuntimeError("the sshd fixture needs root (useradd, privilege separation)")
    own_tmp = state_dir is None
    state = Path(state_dir or tempfile.mkdtemp(prefix="rs-sshd-"))
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o755)
    proc = None
    data_root = ""
    client_line = ""
    try:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege-separation dir
        host_line = _keypair(state / "host_ed25519", "rs-test-host")
        client_line = _keypair(state / "client_ed25519", "rs-test-client")
        with _user_lock():
            home, data_root = _ensure_user(state)
            pw = pwd.getpwnam(TEST_USER)
            ssh_dir = Path(home) / ".ssh"
            ssh_dir.mkdir(mode=0o700, exist_ok=True)
            os.chown(ssh_dir, pw.pw_uid, pw.pw_gid)
            os.chmod(ssh_dir, 0o700)
            auth = ssh_dir / "authorized_keys"
            existing = auth.read_text().splitlines() if auth.exists() else []
            if client_line not in existing:
                # several sessions (tests, benchmark) may run at once: append, never replace
                with open(auth, "a") as f:
                    f.write(client_line + "\n")
            os.chown(auth, pw.pw_uid, pw.pw_gid)
            os.chmod(auth, 0o600)
        os.makedirs(data_root)
        os.chown(data_root, pw.pw_uid, pw.pw_gid)
        port = free_port()
        config = state / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {state / 'host_ed25519'}",
                    f"PidFile {state / 'sshd.pid'}",
                    "AuthorizedKeysFile .ssh/authorized_keys",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication yes",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin no",
                    f"AllowUsers {TEST_USER}",
                    "UsePAM no",
                    "StrictModes yes",
                    "X11Forwarding no",
                    "AllowTcpForwarding no",
                    "PrintMotd no",
                    "MaxStartups 50:30:100",
                    "MaxSessions 50",
                    "Subsystem sftp internal-sftp",
                    "LogLevel INFO",
                    "",
                ]
            )
        )
        subprocess.run([os.path.abspath(sshd), "-t", "-f", str(config)], check=True, capture_output=True)
        proc = _start_sshd(str(config), port, str(state))
        known = state / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {' '.join(host_line.split()[:2])}\n")
        server = SFTPServer(
            host="127.0.0.1",
            port=port,
            username=TEST_USER,
            password=TEST_PASSWORD,
            client_key=str(state / "client_ed25519"),
            known_hosts=str(known),
            host_key_line=" ".join(host_line.split()[:2]),
            data_root=data_root,
            kind="openssh",
            state_dir=str(state),
            _proc=proc,
            _config=str(config),
        )
        try:
            yield server
        finally:
            server.stop()
    finally:
        if proc is not None and proc.poll() is None:
            stop_process(proc)
        if data_root:
            shutil.rmtree(data_root, ignore_errors=True)
        if client_line:
            _forget_key(client_line)
        if own_tmp:
            shutil.rmtree(state, ignore_errors=True)


class _AsyncSSHServer:
    """In-process asyncssh SFTP server on its own event-loop thread (fallback without sshd)."""

    def __init__(self, port: int, root: str, host_key: str, client_pub: str, user: str, password: str) -> None:
        self.port, self.root, self.user, self.password = port, root, user, password
        self._host_key, self._client_pub = host_key, client_pub
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._conns: list[Any] = []

    def start(self) -> None:
        import asyncssh

        host_key = asyncssh.read_private_key(self._host_key)
        client_pub = asyncssh.import_public_key(self._client_pub)
        outer = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: Any) -> None:
                outer._conns.append(conn)

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                return username == outer.user and password == outer.password

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: Any) -> bool:
                return bool(username == outer.user and key == client_pub)

        class Chroot(asyncssh.SFTPServer):
            def __init__(self, chan: Any) -> None:
                super().__init__(chan, chroot=outer.root.encode())

        loop = asyncio.new_event_loop()
        started = threading.Event()

        async def main() -> None:
            self._server = await asyncssh.listen(
                "127.0.0.1", self.port, server_host_keys=[host_key], server_factory=Server, sftp_factory=Chroot
            )
            started.set()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(main())
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="asyncssh-sftp", daemon=True)
        self._thread.start()
        if not started.wait(15):
            raise RuntimeError("asyncssh SFTP server did not start")

    def drop_connections(self) -> None:
        loop = self._loop
        if loop is None:
            return
        conns, self._conns = self._conns, []
        for conn in conns:
            loop.call_soon_threadsafe(conn.abort)
        time.sleep(0.2)

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self.drop_connections()

        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        loop.close()
        self._loop = None


@contextlib.contextmanager
def asyncssh_server() -> Iterator[SFTPServer]:
    """Start the in-process asyncssh fallback server (chrooted to a temp folder)."""
    state = Path(tempfile.mkdtemp(prefix="rs-asyncssh-"))
    try:
        root = state / "root"
        (root / "data").mkdir(parents=True)
        host_line = _keypair(state / "host_ed25519", "rs-test-host")
        client_line = _keypair(state / "client_ed25519", "rs-test-client")
        port = free_port()
        srv = _AsyncSSHServer(port, str(root), str(state / "host_ed25519"), client_line, TEST_USER, TEST_PASSWORD)
        srv.start()
        known = state / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {' '.join(host_line.split()[:2])}\n")
        server = SFTPServer(
            host="127.0.0.1",
            port=port,
            username=TEST_USER,
            password=TEST_PASSWORD,
            client_key=str(state / "client_ed25519"),
            known_hosts=str(known),
            host_key_line=" ".join(host_line.split()[:2]),
            data_root="/data",
            kind="asyncssh",
            state_dir=str(state),
            _async=srv,
        )
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(state, ignore_errors=True)


#: Set to ``asyncssh`` to use the in-process fallback server even where sshd is installed.
FORCE_ENV = "REMOTE_STORE_TEST_SFTP_SERVER"


def _forced() -> bool:
    return os.environ.get(FORCE_ENV, "").lower() == "asyncssh"


def sshd_unavailable_reason() -> str | None:
    """Why the real sshd cannot be used here, or None when it can."""
    if _forced():
        return f"{FORCE_ENV}=asyncssh"
    if which("sshd", SSHD_PATHS) is None:
        return "OpenSSH sshd is not installed (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "the OpenSSH sshd fixture needs root (useradd, privilege separation)"
    return None


@contextlib.contextmanager
def sftp_server() -> Iterator[SFTPServer]:
    """Start the best available SFTP server: OpenSSH sshd, else the asyncssh fallback (announced on stderr).

    Raises:
        RuntimeError: sshd is unavailable and REMOTE_STORE_TEST_REQUIRE_SERVERS=1 is set
            (CI must test against real OpenSSH).
    """
    reason = sshd_unavailable_reason()
    if reason is None:
        with openssh_server() as server:
            yield server
        return
    if servers_required() and not _forced():
        raise RuntimeError(reason)
    print(f"[remote-store] {reason}; falling back to an in-process asyncssh SFTP server", file=sys.stderr)
    with asyncssh_server() as server:
        yield server


@pytest.fixture(scope="session")
def sftp_server_session() -> Iterator[SFTPServer]:
    """The session's SFTP server (real sshd; asyncssh fallback outside CI)."""
    reason = sshd_unavailable_reason()
    if reason is not None and servers_required() and not _forced():
        server_missing(reason)
    try:
        ctx = sftp_server()
        server = ctx.__enter__()
    except ImportError as exc:
        server_missing(f"SFTP fallback server needs asyncssh: {exc}")
        return
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        server_missing(f"could not start an SFTP server: {exc}")
        return
    try:
        yield server
    finally:
        ctx.__exit__(None, None, None)


@pytest.fixture
def sftp_base(sftp_server_session: SFTPServer) -> str:
    """A fresh, empty, unique server-side folder for one test (absolute server path)."""
    return sftp_server_session.unique_base()


@pytest.fixture
def sftp_fault_proxy(sftp_server_session: SFTPServer) -> Iterator[Any]:
    """A `testing.tcpfaults.FaultProxy` in front of the session's SFTP server (fresh per test).

    Connect to ``127.0.0.1:<proxy.port>`` and trust ``sftp_server_session.host_key_line``
    (the known_hosts file names the server's own port).
    """
    from testing.tcpfaults import FaultProxy

    with FaultProxy((sftp_server_session.host, sftp_server_session.port), name="sftp") as proxy:
        yield proxy
