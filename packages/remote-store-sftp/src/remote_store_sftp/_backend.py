"""`SFTPBackend`: files in a folder on an SSH server, over paramiko.

One SSH transport per backend (per process), shared by a small pool of SFTP channels
(``max_channels``; paramiko's ``SFTPClient`` is not safe for concurrent requests, so each
call checks one channel out). The transport is opened lazily on first use, checked before
every call, rebuilt when it died (server restart, idle timeout) — an operation that fails
because the connection dropped is retried once on a fresh connection when that is safe —
and never reused across ``fork``.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import posixpath
import secrets
import socket
import stat as stat_mod
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any, TypeVar

import paramiko
from paramiko.sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_DATA,
    CMD_EXTENDED,
    CMD_HANDLE,
    CMD_INIT,
    CMD_LSTAT,
    CMD_NAME,
    CMD_OPEN,
    CMD_READ,
    CMD_REALPATH,
    CMD_STAT,
    CMD_STATUS,
    CMD_VERSION,
    SFTP_FLAG_READ,
    SFTPError,
    int64,
)

from remote_store import SeekableReader, _path
from remote_store._backend import AtomicWriter, Backend
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._models import FileInfo, WriteResult, WriteSource
from remote_store._secret import Secret
from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    RemoteStoreError,
)
from remote_store_sftp import _errors, _hostkeys
from remote_store_sftp._keys import load_private_key, looks_like_pem
from remote_store_sftp._options import DEFAULT_KNOWN_HOSTS, ENV_HOST_KEY, ENV_KNOWN_HOSTS, HostKeyPolicy

T = TypeVar("T")
log = logging.getLogger("remote_store.sftp")

_TMP_PREFIX = ".~rs-"
_TMP_SUFFIX = ".tmp"
_COPY_CHUNK = 1024 * 1024
#: Bytes per SFTP READ request (paramiko's and most servers' safe maximum).
_READ_REQUEST = 32768
#: Read requests kept in flight by a sequential reader (x 32 KiB = 2 MiB window).
_READ_DEPTH = 64

_BASE_CAPS = CapabilitySet(
    {
        Capability.READ,
        Capability.WRITE,
        Capability.DELETE,
        Capability.LIST,
        Capability.GLOB,
        Capability.MOVE,
        Capability.COPY,
        Capability.ATOMIC_WRITE,
        Capability.METADATA,
        Capability.SEEKABLE_READ,
        Capability.LAZY_READ,
        Capability.HIERARCHICAL,
    }
)

_MOVE_CAPS = _BASE_CAPS | {Capability.ATOMIC_MOVE}


def _is_temp(name: str) -> bool:
    return name.startswith(_TMP_PREFIX) and name.endswith(_TMP_SUFFIX)


def _enoent(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == 2 and not _errors.is_connection_error(exc)


def _sftp_status(exc: BaseException) -> bool:
    """An SFTP status reply (the channel is still usable)."""
    return isinstance(exc, (OSError, SFTPError)) and not _errors.is_connection_error(exc)


class _Client(paramiko.SFTPClient):  # type: ignore[misc]
    """``SFTPClient`` that records the server's protocol extensions (paramiko drops them)."""

    extensions: dict[str, bytes]

    def _send_version(self) -> int:
        msg = paramiko.Message()
        msg.add_int(3)
        self._send_packet(CMD_INIT, msg)
        t, data = self._read_packet()
        if t != CMD_VERSION:
            raise SFTPError("Incompatible sftp protocol")
        reply = paramiko.Message(data)
        version = reply.get_int()
        exts: dict[str, bytes] = {}
        with contextlib.suppress(Exception):
            while reply.get_remainder():
                name = reply.get_text()
                exts[name] = reply.get_binary()
        self.extensions = exts
        return int(version)

    def batch(self, *requests: tuple[Any, ...]) -> list[tuple[int, paramiko.Message] | BaseException]:
        """Send several requests at once (one round trip) and collect each reply or its error, in order."""
        nums = [self._async_request(type(None), *req) for req in requests]
        out: list[tuple[int, paramiko.Message] | BaseException] = []
        for num in nums:
            try:
                t, msg = self._read_response(num)
                out.append((t, msg))
            except (OSError, EOFError, SFTPError) as exc:
                if _errors.is_connection_error(exc):
                    raise
                out.append(exc)
        return out

    def close_async(self, handle: bytes) -> None:
        """Send ``CLOSE`` for ``handle`` without waiting (the reply is skipped by a later request)."""
        self._async_request(type(None), CMD_CLOSE, handle)

    def extended(self, name: str, *args: Any) -> None:
        """Send an ``SSH_FXP_EXTENDED`` request and wait for its status (raises on error)."""
        self._request(CMD_EXTENDED, name, *args)


class _Session:
    """One authenticated transport, the resolved base folder, and idle SFTP channels."""

    def __init__(self, transport: paramiko.Transport, base: str, extensions: dict[str, bytes]) -> None:
        self.transport = transport
        self.base = base
        self.extensions = extensions
        self.idle: list[_Client] = []
        self.pid = os.getpid()

    def alive(self) -> bool:
        return bool(self.transport.active) and self.pid == os.getpid()

    def close(self) -> None:
        idle, self.idle = self.idle, []
        for client in idle:
            with contextlib.suppress(Exception):
                client.close()
        with contextlib.suppress(Exception):
            self.transport.close()


#: Sessions inherited across fork: kept referenced (never closed, never collected) in the child,
#: because closing or collecting them would write to the parent's socket.
_FORK_GRAVEYARD: list[Any] = []
_BACKENDS: weakref.WeakSet[SFTPBackend] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for backend in list(_BACKENDS):
        backend._reset_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class SFTPBackend(Backend):
    """A folder on an SFTP server (OpenSSH or any SFTP v3 server), over paramiko.

    Writes with ``overwrite=False`` create the file exclusively (``SSH_FXF_EXCL``); writes that
    replace a file, and every `write_atomic`, stream into a temp file in the same folder and
    publish it with ``posix-rename@openssh.com`` (replace) or ``hardlink@openssh.com`` (exclusive
    create; plain SFTP ``RENAME``, which never replaces, where hardlink is missing), so a failed
    write leaves the old file intact and no temp file behind. `move` is one ``posix-rename``
    (ATOMIC_MOVE is declared only when the server advertises it). `copy` uses the server-side
    ``copy-data`` extension where offered, else streams through the client.

    Reads are lazy and seekable, with a bounded read-ahead window of pipelined ``READ`` requests
    (64 x 32 KiB); writes are pipelined. Nothing reaches outside ``base_path``: keys never hold
    ``..`` and every symlink met on the way is resolved (``REALPATH``) and refused when it points
    outside the base folder.

    Args:
        host: Server name or address, or a ``Host`` alias of ``ssh_config``.
        port: TCP port (default 22, or ``Port`` from ``ssh_config``).
        username: Login name (default: ``User`` from ``ssh_config``, else the local user).
        password: Password (str or `Secret`) for password authentication.
        private_key: Private key for publickey authentication: a file path, PEM text (OpenSSH,
            PKCS#8 or legacy PEM), or a `Secret` holding either. PEM text whose newlines a secret
            store turned into spaces or literal ``\\n`` is repaired; text that cannot be repaired is
            refused with `ConfigError`.
        private_key_passphrase: Passphrase of an encrypted ``private_key`` (str or `Secret`).
        allow_agent: Also try the keys of a running ssh-agent (``SSH_AUTH_SOCK``).
        base_path: Folder on the server the backend is rooted at: absolute, or relative to the
            login folder (``""`` = the login folder).
        create_base: Create ``base_path`` (and missing parents) on first connect.
        host_key_policy: `HostKeyPolicy` or its name; default STRICT.
        known_hosts: known_hosts file to check (and, with TRUST_ON_FIRST_USE, to append to).
            Default: ``$REMOTE_STORE_SFTP_KNOWN_HOSTS``, else ``~/.ssh/known_hosts``.
        host_key: Inline trusted host key(s): ``"ssh-ed25519 AAAA…"``, known_hosts lines, or
            ``"SHA256:…"`` fingerprints, one per line. Default: ``$REMOTE_STORE_SFTP_HOST_KEY``.
            Checked in addition to ``known_hosts``.
        connect_timeout: Seconds to wait for the TCP connection and key exchange.
        banner_timeout: Seconds to wait for the server's SSH banner.
        auth_timeout: Seconds to wait for an authentication reply.
        operation_timeout: Seconds one SFTP request may wait for its reply (None: forever);
            also how long a call waits for a free channel when all ``max_channels`` are busy.
        keepalive_interval: Seconds between SSH keepalive messages (0 disables).
        max_channels: SFTP channels open at once over the one connection (2..MaxSessions;
            OpenSSH allows 10 by default). Each open read stream holds one.
        ssh_config: ``~/.ssh/config``-style file to resolve ``host`` aliases (``HostName``,
            ``Port``, ``User``, ``IdentityFile``); True for ``~/.ssh/config``; None/False: not used.
        fsync: Ask the server to ``fsync`` temp files (``fsync@openssh.com``) before publishing.

    Raises:
        ConfigError: An option is invalid (empty host, bad policy, ``max_channels`` < 2).
    """

    TYPE = "sftp"
    CAPABILITIES = _BASE_CAPS

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        username: str | None = None,
        password: str | Secret | None = None,
        private_key: str | Secret | os.PathLike[str] | None = None,
        private_key_passphrase: str | Secret | None = None,
        allow_agent: bool = False,
        base_path: str = "",
        create_base: bool = True,
        host_key_policy: HostKeyPolicy | str = HostKeyPolicy.STRICT,
        known_hosts: str | os.PathLike[str] | None = None,
        host_key: str | None = None,
        connect_timeout: float = 10.0,
        banner_timeout: float = 15.0,
        auth_timeout: float = 15.0,
        operation_timeout: float | None = 60.0,
        keepalive_interval: int = 30,
        max_channels: int = 8,
        ssh_config: str | bool | None = None,
        fsync: bool = False,
    ) -> None:
        if not host:
            raise ConfigError("SFTPBackend needs a 'host'")
        try:
            self._policy = HostKeyPolicy.parse(host_key_policy)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if int(max_channels) < 2:
            raise ConfigError("max_channels must be at least 2 (streamed copies use two channels)")
        self._host = host
        self._port = int(port) if port is not None else None
        self._username = username
        self._password = Secret(password) if isinstance(password, str) else password
        if isinstance(private_key, str) and looks_like_pem(private_key):
            self._private_key: str | Secret | None = Secret(private_key)
        elif private_key is not None and not isinstance(private_key, Secret):
            self._private_key = os.fspath(private_key)
        else:
            self._private_key = private_key
        self._passphrase = (
            Secret(private_key_passphrase) if isinstance(private_key_passphrase, str) else private_key_passphrase
        )
        self._allow_agent = bool(allow_agent)
        self._base_path = str(base_path or "")
        self._create_base = bool(create_base)
        self._known_hosts = os.fspath(known_hosts) if known_hosts is not None else None
        self._host_key = host_key
        self._connect_timeout = float(connect_timeout)
        self._banner_timeout = float(banner_timeout)
        self._auth_timeout = float(auth_timeout)
        self._operation_timeout = float(operation_timeout) if operation_timeout is not None else None
        self._keepalive = int(keepalive_interval)
        self._max_channels = int(max_channels)
        self._ssh_config = ssh_config
        self._fsync = bool(fsync)
        self._init_runtime()
        _BACKENDS.add(self)

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._free = threading.Condition(self._lock)
        self._busy = 0
        self._waiting = 0
        self._session: _Session | None = None
        self._extensions: dict[str, bytes] | None = None
        self._accepted: dict[str, paramiko.PKey] = {}
        self._caps_failed_at: float | None = None
        self._pid = os.getpid()

    def _reset_after_fork(self) -> None:
        if self._session is not None:
            _FORK_GRAVEYARD.append(self._session)
        extensions, accepted = self._extensions, self._accepted
        self._init_runtime()
        self._extensions, self._accepted = extensions, accepted

    # ------------------------------------------------------------------ identity
    @property
    def options(self) -> dict[str, Any]:
        return {
            "host": self._host,
            "port": self._port,
            "username": self._username,
            "password": self._password,
            "private_key": self._private_key,
            "private_key_passphrase": self._passphrase,
            "allow_agent": self._allow_agent,
            "base_path": self._base_path,
            "create_base": self._create_base,
            "host_key_policy": self._policy.value,
            "known_hosts": self._known_hosts,
            "host_key": self._host_key,
            "connect_timeout": self._connect_timeout,
            "banner_timeout": self._banner_timeout,
            "auth_timeout": self._auth_timeout,
            "operation_timeout": self._operation_timeout,
            "keepalive_interval": self._keepalive,
            "max_channels": self._max_channels,
            "ssh_config": self._ssh_config,
            "fsync": self._fsync,
        }

    @property
    def capabilities(self) -> CapabilitySet:
        """`CAPABILITIES`, plus ATOMIC_MOVE once the server is known to offer ``posix-rename@openssh.com``.

        The first access connects (errors are ignored here and surface on the real call).
        """
        exts = self._extensions
        if exts is None:
            failed = self._caps_failed_at
            if failed is not None and time.monotonic() - failed < self._connect_timeout:
                return _BASE_CAPS  # do not pay a second connect timeout for the same outage
            try:
                exts = self._live_session().extensions
            except Exception:
                self._caps_failed_at = time.monotonic()
                return _BASE_CAPS
        return _MOVE_CAPS if "posix-rename@openssh.com" in exts else _BASE_CAPS

    @property
    def server_extensions(self) -> dict[str, bytes]:
        """SFTP extensions the server advertised (connects if needed)."""
        return dict(self._live_session().extensions)

    # ------------------------------------------------------------------ connection
    def _resolved(self) -> tuple[str, int, str, list[str]]:
        host, port, user = self._host, self._port, self._username
        identity: list[str] = []
        if self._ssh_config:
            path = os.path.expanduser("~/.ssh/config" if self._ssh_config is True else str(self._ssh_config))
            if os.path.exists(path):
                cfg = paramiko.SSHConfig.from_path(path).lookup(self._host)
                host = str(cfg.get("hostname", host))
                if port is None and "port" in cfg:
                    port = int(cfg["port"])
                if user is None and "user" in cfg:
                    user = str(cfg["user"])
                identity = [os.path.expanduser(str(p)) for p in cfg.get("identityfile", [])]
        return host, port or 22, user or getpass.getuser(), identity

    def _known_keys(self, host: str, port: int) -> _hostkeys.KnownKeys:
        known = _hostkeys.KnownKeys()
        inline = self._host_key if self._host_key is not None else os.environ.get(ENV_HOST_KEY)
        if inline:
            known = _hostkeys.parse_inline(inline, host, port)
        path = self._known_hosts_path()
        if path:
            from_file = _hostkeys.load_known_hosts(path, host, port)
            known.keys = {**from_file.keys, **known.keys}
        for name, key in self._accepted.items():
            known.keys.setdefault(name, key)
        return known

    def _known_hosts_path(self) -> str | None:
        path = self._known_hosts or os.environ.get(ENV_KNOWN_HOSTS) or DEFAULT_KNOWN_HOSTS
        return os.path.expanduser(path) if path else None

    def _authenticate(self, t: paramiko.Transport, user: str, identity: list[str]) -> None:
        keys: list[paramiko.PKey] = []
        if self._private_key is not None:
            keys.append(load_private_key(self._private_key, self._passphrase))
        elif self._password is None:
            for path in identity:
                if os.path.exists(path):
                    keys.append(load_private_key(path, self._passphrase))
        if self._allow_agent:
            with contextlib.suppress(Exception):
                keys.extend(paramiko.Agent().get_keys())
        errors: list[str] = []
        for key in keys:
            try:
                t.auth_publickey(user, key)
            except paramiko.AuthenticationException as exc:
                errors.append(f"publickey: {type(exc).__name__}")
                continue
            if t.is_authenticated():
                return
        if self._password is not None:
            pw = self._password.reveal() if isinstance(self._password, Secret) else self._password
            try:
                t.auth_password(user, pw)
            except paramiko.AuthenticationException as exc:
                errors.append(f"password: {type(exc).__name__}")
            if t.is_authenticated():
                return
        if not keys and self._password is None:
            raise ConfigError("SFTPBackend needs password, private_key, allow_agent=True or an ssh_config IdentityFile")
        raise BackendUnavailable(
            f"SSH authentication failed for user {user!r} ({'; '.join(errors) or 'no method accepted'})"
        )

    def _connect(self) -> _Session:
        host, port, user, identity = self._resolved()
        known = self._known_keys(host, port)
        sock = socket.create_connection((host, port), timeout=self._connect_timeout)
        t = paramiko.Transport(sock)
        try:
            t.banner_timeout = self._banner_timeout
            t.handshake_timeout = self._connect_timeout
            t.auth_timeout = self._auth_timeout
            opts = t.get_security_options()
            opts.key_types = _hostkeys.preferred_key_types(known, list(opts.key_types))
            t.start_client(timeout=self._connect_timeout)
            server_key = t.get_remote_server_key()
            _hostkeys.verify(
                server_key,
                host=host,
                port=port,
                known=known,
                policy=self._policy,
                known_hosts_path=self._known_hosts_path(),
            )
            self._accepted.setdefault(server_key.get_name(), server_key)
            self._authenticate(t, user, identity)
            if self._keepalive > 0:
                t.set_keepalive(self._keepalive)
            client = self._open_client(t)
            base = self._resolve_base(client)
        except BaseException:
            t.close()
            raise
        session = _Session(t, base, client.extensions)
        session.idle.append(client)
        self._extensions = client.extensions
        log.debug("connected to %s:%s as %s, base %s", host, port, user, base)
        return session

    def _open_client(self, t: paramiko.Transport) -> _Client:
        chan = t.open_session(timeout=self._connect_timeout)
        try:
            chan.invoke_subsystem("sftp")
            chan.settimeout(self._operation_timeout)
            return _Client(chan)
        except BaseException:
            chan.close()
            raise

    def _resolve_base(self, c: _Client) -> str:
        base = self._base_path or "."
        try:
            real = str(c.normalize(base))
            c.stat(real)  # OpenSSH's REALPATH accepts a missing last component
            return real
        except OSError as exc:
            if not _enoent(exc) or not self._create_base:
                if _enoent(exc):
                    raise BackendUnavailable(f"base_path {self._base_path!r} does not exist on the server") from None
                raise
        parts = [p for p in base.split("/") if p and p != "."]
        cur = "/" if base.startswith("/") else "."
        for part in parts:
            cur = posixpath.join(cur, part)
            try:
                st = c.stat(cur)
            except OSError as exc:
                if not _enoent(exc):
                    raise
                with contextlib.suppress(OSError):
                    c.mkdir(cur)
                st = c.stat(cur)
            if not stat_mod.S_ISDIR(st.st_mode or 0):
                raise BackendUnavailable(f"base_path {self._base_path!r}: {cur!r} is not a folder")
        return str(c.normalize(base))

    def _live_session(self) -> _Session:
        s = self._session
        if s is not None and s.alive():
            return s
        with self._lock:
            s = self._session
            if s is not None and s.pid != os.getpid():
                _FORK_GRAVEYARD.append(s)
                self._session = s = None
            if s is not None and not s.transport.is_active():
                log.info("SFTP connection to %s died; reconnecting", self._host)
                self._session = None
                s.close()
                s = None
            if s is None:
                s = self._connect()
                self._session = s
            return s

    def _drop_session(self, session: _Session) -> None:
        with self._lock:
            if self._session is session:
                self._session = None
        if session.pid == os.getpid():
            session.close()

    def _checkout(self) -> tuple[_Session, _Client]:
        """Take an idle channel, or open one while fewer than ``max_channels`` are out; else wait."""
        timeout = self._operation_timeout
        for attempt in (0, 1):
            session = self._live_session()
            with self._lock:
                deadline: float | None = None
                while True:
                    idle = session.idle
                    while idle:
                        client = idle.pop()
                        if not client.sock.closed:
                            self._busy += 1
                            return session, client
                    if self._busy < self._max_channels:
                        self._busy += 1
                        break
                    self._waiting += 1
                    try:
                        if timeout is not None:
                            now = time.monotonic()
                            deadline = deadline or now + timeout
                            if now >= deadline or not self._free.wait(deadline - now):
                                raise BackendUnavailable(
                                    f"no free SFTP channel after {timeout}s (max_channels={self._max_channels})"
                                )
                        else:
                            self._free.wait()
                    finally:
                        self._waiting -= 1
            try:
                return session, self._open_client(session.transport)
            except BaseException as exc:
                with self._lock:
                    self._busy -= 1
                    self._free.notify()
                if attempt == 1 or not _errors.is_connection_error(exc):
                    raise
                self._drop_session(session)
        raise AssertionError("unreachable")  # pragma: no cover

    def _release(self, session: _Session, client: _Client, *, discard: bool = False) -> None:
        keep = not discard and session is self._session and session.transport.active and not client.sock.closed
        with self._lock:
            self._busy -= 1
            if keep:
                session.idle.append(client)
            if self._waiting:
                self._free.notify()
        if not keep and session.pid == self._pid:
            with contextlib.suppress(Exception):
                client.close()

    def _run(self, fn: Callable[[_Client, str], T], *, retry: Callable[[], bool] | bool = True) -> T:
        """Run ``fn(client, base)`` on a pooled channel; retry once on a fresh connection if it dropped."""
        for attempt in (0, 1):
            session, client = self._checkout()
            try:
                result = fn(client, session.base)
            except BaseException as exc:
                dead = _connection_lost(exc, session)
                clean = not _errors.is_connection_error(exc) and isinstance(exc, (RemoteStoreError, OSError, SFTPError))
                self._release(session, client, discard=not clean)
                if dead:
                    self._drop_session(session)
                    may_retry = retry() if callable(retry) else retry
                    if attempt == 0 and may_retry and isinstance(exc, Exception):
                        log.info("SFTP connection dropped (%s); retrying on a new connection", type(exc).__name__)
                        continue
                raise
            self._release(session, client)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None and session.pid == os.getpid():
            session.close()

    def ping(self) -> None:
        self._run(lambda c, base: c.stat(base))

    # ------------------------------------------------------------------ paths
    @staticmethod
    def _abs(base: str, key: str) -> str:
        if not key:
            return base
        return f"{base.rstrip('/')}/{key}" if base != "/" else f"/{key}"

    @staticmethod
    def _within(base: str, real: str) -> bool:
        if base == "/":
            return real.startswith("/")
        return real == base or real.startswith(base.rstrip("/") + "/")

    def _check_real(self, c: _Client, base: str, path: str, key: str) -> str:
        """``REALPATH`` of ``path``; refuse it when a symlink leads outside ``base``."""
        real = str(c.normalize(path))
        if not self._within(base, real):
            raise InvalidPath("path leads outside the base folder through a symlink", path=key)
        return real

    def _check_parent(self, c: _Client, base: str, key: str) -> None:
        parent = _path.parent(key)
        if parent:
            self._check_real(c, base, self._abs(base, parent), key)

    def _lstat(self, c: _Client, base: str, key: str) -> tuple[str, paramiko.SFTPAttributes]:
        """Resolve ``key`` to ``(real path, attributes)``, following in-base symlinks only.

        Raises:
            NotFound: Nothing at ``key`` (or a parent is missing / a file).
            InvalidPath: A symlink on the way leads outside the base folder.
        """
        path = self._abs(base, key)
        try:
            if "/" in key:
                real = self._check_real(c, base, path, key)
                return real, c.stat(real)
            st = c.lstat(path)
            if stat_mod.S_ISLNK(st.st_mode or 0):
                real = self._check_real(c, base, path, key)
                return real, c.stat(real)
            return path, st
        except OSError as exc:
            if _enoent(exc):
                raise NotFound("file not found", path=key) from None
            raise

    def native_path(self, key: str) -> str:
        base = self._base_path or "."
        return posixpath.normpath(posixpath.join(base, key)) if key else base

    def to_key(self, native: str) -> str:
        base = posixpath.normpath(self._base_path or ".")
        full = posixpath.normpath(native)
        if full == base:
            return ""
        prefix = base.rstrip("/") + "/"
        if base == "." and not native.startswith("/"):
            return full
        if not full.startswith(prefix):
            raise InvalidPath("path is outside the backend's base_path", path=native)
        return full[len(prefix) :]

    # ------------------------------------------------------------------ queries
    def _file_info(self, key: str, st: paramiko.SFTPAttributes) -> FileInfo:
        mtime = st.st_mtime
        size = st.st_size or 0
        return FileInfo(
            key,
            key.rpartition("/")[2],
            size,
            datetime.fromtimestamp(mtime, UTC) if mtime is not None else None,
            f"{mtime or 0:x}-{size:x}",
        )

    def _is_kind(self, key: str, kind: Callable[[int], bool]) -> bool:
        """Whether ``key`` exists and its mode passes ``kind`` (``S_ISREG`` / ``S_ISDIR``)."""

        def op(c: _Client, base: str) -> bool:
            try:
                _, st = self._lstat(c, base, key)
            except (NotFound, InvalidPath):
                return False
            return kind(st.st_mode or 0)

        return self._run(op)

    def exists(self, key: str) -> bool:
        return self._is_kind(key, stat_mod.S_ISREG)

    def is_folder(self, key: str) -> bool:
        return not key or self._is_kind(key, stat_mod.S_ISDIR)

    def stat(self, key: str) -> FileInfo:
        def op(c: _Client, base: str) -> FileInfo:
            _, st = self._lstat(c, base, key)
            if stat_mod.S_ISDIR(st.st_mode or 0):
                raise InvalidPath("is a folder, not a file", path=key)
            if not stat_mod.S_ISREG(st.st_mode or 0):
                raise NotFound("not a regular file", path=key)
            return self._file_info(key, st)

        return self._run(op)

    # ------------------------------------------------------------------ reads
    def _open_file(self, c: _Client, base: str, key: str) -> tuple[bytes, int]:
        """Open ``key`` for reading; return ``(handle, size)``.

        One round trip: ``LSTAT`` (top-level keys) or ``REALPATH`` + ``STAT`` (nested keys) are sent
        together with ``OPEN``; a handle opened on a path that turns out to be a folder, a symlink
        leading outside the base, or missing is closed again unused.
        """
        path = self._abs(base, key)
        nested = "/" in key
        checks: list[tuple[Any, ...]] = [(CMD_REALPATH, path), (CMD_STAT, path)] if nested else [(CMD_LSTAT, path)]
        replies = c.batch(*checks, (CMD_OPEN, path, SFTP_FLAG_READ, paramiko.SFTPAttributes()))
        opened = replies[-1]
        handle = opened[1].get_binary() if isinstance(opened, tuple) and opened[0] == CMD_HANDLE else None
        try:
            for reply in replies[:-1]:
                if isinstance(reply, BaseException):
                    if _enoent(reply):
                        raise NotFound("file not found", path=key) from None
                    raise reply
            if nested:
                t, msg = replies[0]  # type: ignore[misc]
                if t != CMD_NAME or msg.get_int() != 1:
                    raise SFTPError("Expected name response")
                if not self._within(base, msg.get_text()):
                    raise InvalidPath("path leads outside the base folder through a symlink", path=key)
            t, msg = replies[-2]  # type: ignore[misc]
            if t != CMD_ATTRS:
                raise SFTPError("Expected attributes")
            st = paramiko.SFTPAttributes._from_msg(msg)
            if not nested and stat_mod.S_ISLNK(st.st_mode or 0):
                if handle is not None:
                    c.close_async(handle)
                    handle = None
                real, st = self._lstat(c, base, key)
                if stat_mod.S_ISREG(st.st_mode or 0):
                    f = c.open(real, "rb")
                    handle = f.handle
                    f._closed = True  # the reader closes the handle, not paramiko's finalizer
            if stat_mod.S_ISDIR(st.st_mode or 0):
                raise InvalidPath("is a folder, not a file", path=key)
            if not stat_mod.S_ISREG(st.st_mode or 0):
                raise NotFound("not a regular file", path=key)
            if handle is None:
                if isinstance(opened, BaseException):
                    if _enoent(opened):
                        raise NotFound("file not found", path=key) from None
                    raise opened
                raise SFTPError("Expected handle")
        except BaseException:
            if handle is not None:
                c.close_async(handle)
            raise
        return handle, int(st.st_size or 0)

    def open_read(self, key: str) -> IO[bytes]:
        """Open ``key`` as a lazy, seekable stream with a pipelined read-ahead window.

        The stream holds one SFTP channel until it is closed. Maps to ``LSTAT`` (+ ``REALPATH``
        for nested keys or symlinks), ``OPEN``, pipelined ``READ``s and ``CLOSE``.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder, or a symlink leads outside the base folder.
        """
        for attempt in (0, 1):
            session, client = self._checkout()
            try:
                handle, size = self._open_file(client, session.base, key)
            except BaseException as exc:
                dead = _connection_lost(exc, session)
                broken = _errors.is_connection_error(exc) or not isinstance(exc, (RemoteStoreError, OSError))
                self._release(session, client, discard=dead or broken)
                if dead:
                    self._drop_session(session)
                    if attempt == 0 and isinstance(exc, Exception):
                        continue
                raise
            return _Reader(self, session, client, handle, size)  # type: ignore[return-value]
        raise AssertionError("unreachable")  # pragma: no cover

    def read_bytes(self, key: str) -> bytes:
        with self.open_read(key) as stream:
            return stream.read()

    # ------------------------------------------------------------------ writes
    def _makedirs(self, c: _Client, base: str, folder: str, key: str) -> None:
        """Create folder key ``folder`` and its parents below ``base`` (``mkdir -p``), symlink-safe."""
        if not folder:
            return
        try:
            real = self._check_real(c, base, self._abs(base, folder), key)
            st = c.stat(real)
            if stat_mod.S_ISDIR(st.st_mode or 0):
                return
            raise InvalidPath("a parent of the path is a file", path=key)
        except OSError as exc:
            if not _enoent(exc):
                raise
        walked: list[str] = []
        for part in folder.split("/"):
            walked.append(part)
            path = self._abs(base, "/".join(walked))
            try:
                c.mkdir(path)
                continue
            except OSError as exc:
                if _errors.is_connection_error(exc):
                    raise
            try:
                st = c.lstat(path)
            except OSError as exc:
                if _enoent(exc):
                    raise InvalidPath("a parent of the path is a file", path=key) from None
                raise
            if stat_mod.S_ISLNK(st.st_mode or 0):
                real = self._check_real(c, base, path, key)
                st = c.stat(real)
            if not stat_mod.S_ISDIR(st.st_mode or 0):
                raise InvalidPath("a parent of the path is a file", path=key)

    def _create(self, c: _Client, base: str, key: str, path: str) -> paramiko.SFTPFile:
        """Open ``path`` (``key`` or its temp file) with ``CREAT|EXCL``; create missing parent folders and retry."""
        try:
            return c.open(path, "wbx")
        except OSError as exc:
            if not _enoent(exc):
                raise
        self._makedirs(c, base, _path.parent(key), key)
        return c.open(path, "wbx")

    def _upload(self, c: _Client, f: paramiko.SFTPFile, stream: IO[bytes]) -> int:
        """Stream ``stream`` into the open remote file ``f`` with pipelined ``WRITE``s; return bytes written."""
        total = 0
        try:
            f.set_pipelined(True)
            while True:
                chunk = stream.read(_COPY_CHUNK)
                if not chunk:
                    break
                if isinstance(chunk, str):
                    raise TypeError("write() needs a binary stream, got text")
                f.write(chunk)
                total += len(chunk)
        except BaseException:
            with contextlib.suppress(Exception):
                f.close()
            raise
        _finish_write(c, f, fsync=self._fsync and "fsync@openssh.com" in (c.extensions or {}))
        return total

    def _diagnose_target(self, c: _Client, base: str, key: str, overwrite: bool) -> bool:
        """After a failed exclusive create: raise the right error, or return True when the target exists
        and ``overwrite`` allows replacing it, False when the parent folder must be created."""
        try:
            st = c.lstat(self._abs(base, key))
        except OSError as exc:
            if _enoent(exc):
                return False
            raise
        if stat_mod.S_ISDIR(st.st_mode or 0):
            raise InvalidPath("is a folder, not a file", path=key)
        if not overwrite:
            raise AlreadyExists("file exists", path=key)
        return True

    def _result(self, key: str, size: int, metadata: Mapping[str, str]) -> WriteResult:
        return WriteResult(path=key, size=size, source=WriteSource.BASIC, metadata=dict(metadata))

    def _write_direct(self, c: _Client, base: str, key: str, stream: IO[bytes], overwrite: bool) -> int | None:
        """Create ``key`` exclusively and stream into it; None when it exists and must be replaced."""
        path = self._abs(base, key)
        parent = _path.parent(key)
        if parent:
            try:
                self._check_parent(c, base, key)
            except OSError as exc:
                if not _enoent(exc):
                    raise
                self._makedirs(c, base, parent, key)
        for attempt in (0, 1):
            try:
                f = c.open(path, "wbx")
            except OSError as exc:
                if _errors.is_connection_error(exc):
                    raise
                if self._diagnose_target(c, base, key, overwrite):
                    return None
                if attempt == 1:
                    raise
                self._makedirs(c, base, parent, key)
                continue
            break
        try:
            return self._upload(c, f, stream)
        except BaseException:
            with contextlib.suppress(Exception):
                c.remove(path)
            raise

    def _publish(self, c: _Client, base: str, tmp: str, key: str, overwrite: bool) -> None:
        path = self._abs(base, key)
        exts = c.extensions or {}
        try:
            if overwrite:
                if "posix-rename@openssh.com" in exts:
                    c.posix_rename(tmp, path)
                else:  # not atomic: the server lacks posix-rename
                    with contextlib.suppress(OSError):
                        c.remove(path)
                    c.rename(tmp, path)
                return
            if "hardlink@openssh.com" in exts:
                c.extended("hardlink@openssh.com", tmp, path)
                c.remove(tmp)
            else:  # SFTP RENAME never replaces an existing target
                c.rename(tmp, path)
        except OSError as exc:
            if _errors.is_connection_error(exc):
                raise
            self._diagnose_target(c, base, key, overwrite)
            raise

    def _temp_for(self, c: _Client, base: str, key: str, overwrite: bool) -> str:
        """Check the target's folder (creating it) and, without ``overwrite``, that ``key`` is free;
        return a fresh temp path next to ``key``."""
        parent, name = _path.parent(key), _path.basename(key)
        if parent:
            try:
                self._check_parent(c, base, key)
            except OSError as exc:
                if not _enoent(exc):
                    raise
                self._makedirs(c, base, parent, key)
        if not overwrite:
            self._diagnose_target(c, base, key, overwrite)
        return self._abs(base, f"{parent}/{_tmp_name(name)}" if parent else _tmp_name(name))

    def _write_via_temp(self, c: _Client, base: str, key: str, stream: IO[bytes], overwrite: bool) -> int:
        tmp = self._temp_for(c, base, key, overwrite)
        try:
            size = self._upload(c, self._create(c, base, key, tmp), stream)
            self._publish(c, base, tmp, key, overwrite)
        except BaseException:
            with contextlib.suppress(Exception):
                c.remove(tmp)
            raise
        return size

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Stream into ``key``: exclusive create (``SSH_FXF_EXCL``) when the file is new; temp file +
        ``posix-rename`` when it replaces one, so a failure never truncates the old file.

        Raises:
            AlreadyExists: ``overwrite`` is False and a file exists at ``key``.
            InvalidPath: ``key`` is a folder, a parent is a file, or a symlink leads outside the base.
        """
        counted = _CountingReader(stream)

        def op(c: _Client, base: str) -> int:
            size = self._write_direct(c, base, key, counted, overwrite)  # type: ignore[arg-type]
            if size is None:
                size = self._write_via_temp(c, base, key, counted, True)  # type: ignore[arg-type]
            return size

        size = self._run(op, retry=lambda: counted.count == 0)
        return self._result(key, size, metadata)

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Temp file in the same folder, then ``posix-rename@openssh.com`` (replace) or
        ``hardlink@openssh.com`` + ``REMOVE`` (exclusive). On failure the temp file is removed.

        Without hardlink, exclusive publishing uses SFTP ``RENAME``, which never replaces a file
        on OpenSSH and per SFTP v3; the early existence check only produces a quicker error.

        Raises:
            AlreadyExists: ``overwrite`` is False and a file exists at ``key``.
            InvalidPath: ``key`` is a folder, a parent is a file, or a symlink leads outside the base.
        """
        counted = _CountingReader(stream)
        size = self._run(
            lambda c, base: self._write_via_temp(c, base, key, counted, overwrite),  # type: ignore[arg-type]
            retry=lambda: counted.count == 0,
        )
        return self._result(key, size, metadata)

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        """Stream straight into a remote temp file (pipelined ``WRITE``s, one channel held until
        commit/abort); `AtomicWriter.commit` publishes it like `write_atomic`, `AtomicWriter.abort`
        removes it.

        Raises:
            AlreadyExists: ``overwrite`` is False and a file exists at ``key`` (checked at open and at commit).
            InvalidPath: ``key`` is a folder, a parent is a file, or a symlink leads outside the base.
        """
        return _SFTPAtomicWriter(self, key, overwrite=overwrite, metadata=metadata)

    # ------------------------------------------------------------------ delete
    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """``REMOVE`` the file (a symlink is removed itself, never its target).

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """

        def op(c: _Client, base: str) -> None:
            path = self._abs(base, key)
            try:
                self._check_parent(c, base, key)
                c.remove(path)
            except OSError as exc:
                if _errors.is_connection_error(exc):
                    raise
                try:
                    st = c.lstat(path)
                except OSError as exc2:
                    if _enoent(exc2):
                        raise NotFound("file not found", path=key) from None
                    raise
                if stat_mod.S_ISDIR(st.st_mode or 0):
                    raise InvalidPath("is a folder, not a file", path=key) from None
                raise

        self._run(op)

    def _rmtree(self, c: _Client, path: str) -> None:
        for attr in c.listdir_attr(path):
            child = f"{path}/{attr.filename}"
            if stat_mod.S_ISDIR(attr.st_mode or 0):
                self._rmtree(c, child)
            else:
                c.remove(child)
        c.rmdir(path)

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """Remove folder ``key`` (``RMDIR``; with ``recursive``, its content first, without following symlinks).

        Raises:
            NotFound: No folder at ``key``.
            InvalidPath: ``key`` is a file.
            DirectoryNotEmpty: It holds entries and ``recursive`` is False.
        """

        def op(c: _Client, base: str) -> None:
            path = self._abs(base, key)
            try:
                self._check_parent(c, base, key)
                st = c.lstat(path)
            except OSError as exc:
                if _enoent(exc):
                    raise NotFound("folder not found", path=key) from None
                raise
            if not stat_mod.S_ISDIR(st.st_mode or 0):
                raise InvalidPath("not a folder", path=key)
            if recursive:
                self._rmtree(c, path)
                return
            try:
                c.rmdir(path)
            except OSError as exc:
                if _errors.is_connection_error(exc):
                    raise
                if c.listdir(path):
                    raise DirectoryNotEmpty("folder is not empty", path=key) from None
                raise

        self._run(op)

    # ------------------------------------------------------------------ move / copy
    def _source(self, c: _Client, base: str, src: str) -> str:
        try:
            _real, st = self._lstat(c, base, src)
        except InvalidPath:
            raise NotFound("source not found", path=src) from None
        except NotFound:
            raise NotFound("source not found", path=src) from None
        if not stat_mod.S_ISREG(st.st_mode or 0):
            raise NotFound("source is not a file", path=src)
        return self._abs(base, src)

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Rename ``src`` to ``dst``: ``posix-rename@openssh.com`` (replace), or ``hardlink@openssh.com``
        + ``REMOVE`` / plain ``RENAME`` (never replaces) when ``overwrite`` is False.

        Raises:
            NotFound: ``src`` does not exist.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            InvalidPath: ``dst`` is a folder or below a file.
        """

        def op(c: _Client, base: str) -> None:
            src_path = self._source(c, base, src)
            dst_parent = _path.parent(dst)
            if dst_parent:
                try:
                    self._check_parent(c, base, dst)
                except OSError as exc:
                    if not _enoent(exc):
                        raise
                    self._makedirs(c, base, dst_parent, dst)
            try:
                self._publish(c, base, src_path, dst, overwrite)
            except OSError as exc:
                if not _enoent(exc):
                    raise
                self._makedirs(c, base, dst_parent, dst)
                self._publish(c, base, src_path, dst, overwrite)

        self._run(op, retry=False)

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Copy server-side with the ``copy-data`` extension into a temp file published like `write_atomic`;
        without ``copy-data``, stream through the client over a second channel.

        Raises:
            NotFound: ``src`` does not exist.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        exts = self._extensions if self._extensions is not None else self._live_session().extensions
        if "copy-data" not in exts:
            with self.open_read(src) as stream:
                self.write_atomic(dst, stream, overwrite=overwrite, metadata={})
            return

        def op(c: _Client, base: str) -> None:
            src_path = self._source(c, base, src)
            parent, name = _path.parent(dst), _path.basename(dst)
            if parent:
                try:
                    self._check_parent(c, base, dst)
                except OSError as exc:
                    if not _enoent(exc):
                        raise
                    self._makedirs(c, base, parent, dst)
            if not overwrite:
                self._diagnose_target(c, base, dst, overwrite)
            tmp = self._abs(base, f"{parent}/{_tmp_name(name)}" if parent else _tmp_name(name))
            rf = c.open(src_path, "rb")
            try:
                wf = self._create(c, base, dst, tmp)
                try:
                    c.extended("copy-data", rf.handle, int64(0), int64(0), wf.handle, int64(0))
                finally:
                    wf.close()
                self._publish(c, base, tmp, dst, overwrite)
            except BaseException:
                with contextlib.suppress(Exception):
                    c.remove(tmp)
                raise
            finally:
                rf.close()

        self._run(op, retry=False)

    # ------------------------------------------------------------------ listing
    def _listing(self, key: str) -> tuple[str, list[paramiko.SFTPAttributes]] | None:
        """``(real folder path, entries)`` of folder ``key``, or None when it is missing or not a folder."""

        def op(c: _Client, base: str) -> tuple[str, list[paramiko.SFTPAttributes]] | None:
            if key:
                try:
                    real, st = self._lstat(c, base, key)
                except (NotFound, InvalidPath):
                    return None
                if not stat_mod.S_ISDIR(st.st_mode or 0):
                    return None
            else:
                real = base
            try:
                return real, list(c.listdir_attr(real))
            except OSError as exc:
                if _enoent(exc):
                    return None
                raise

        return self._run(op)

    def _resolve_link(self, folder_real: str, name: str) -> paramiko.SFTPAttributes | None:
        def op(c: _Client, base: str) -> paramiko.SFTPAttributes | None:
            try:
                real = str(c.normalize(f"{folder_real}/{name}"))
                if not self._within(base, real):
                    return None
                return c.stat(real)
            except OSError as exc:
                if _errors.is_connection_error(exc):
                    raise
                return None

        return self._run(op)

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Walk folder ``prefix`` breadth-first, one ``READDIR`` listing (one folder) at a time.

        Symlinks to files inside the base folder are listed; symlinks leading outside, and
        symlinked folders, are skipped. Temp files of in-flight atomic writes are hidden.
        """
        queue: deque[tuple[str, int]] = deque([(prefix, 1)])
        while queue:
            folder, depth = queue.popleft()
            listing = self._listing(folder)
            if listing is None:
                continue
            real, entries = listing
            entries.sort(key=lambda a: a.filename)
            for attr in entries:
                name = attr.filename
                key = f"{folder}/{name}" if folder else name
                mode = attr.st_mode or 0
                if stat_mod.S_ISDIR(mode):
                    if recursive and (max_depth is None or depth < max_depth):
                        queue.append((key, depth + 1))
                    continue
                if _is_temp(name):
                    continue
                if stat_mod.S_ISLNK(mode):
                    target = self._resolve_link(real, name)
                    if target is not None and stat_mod.S_ISREG(target.st_mode or 0):
                        yield self._file_info(key, target)
                    continue
                if stat_mod.S_ISREG(mode):
                    yield self._file_info(key, attr)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        listing = self._listing(prefix)
        if listing is None:
            return
        _, entries = listing
        for attr in sorted(entries, key=lambda a: a.filename):
            if stat_mod.S_ISDIR(attr.st_mode or 0):
                yield f"{prefix}/{attr.filename}" if prefix else attr.filename

    # ------------------------------------------------------------------ errors
    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        return _errors.translate(exc, key, self.TYPE)


class _SFTPAtomicWriter(AtomicWriter):
    """Streams into a temp file next to the target over one checked-out channel."""

    def __init__(self, backend: SFTPBackend, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> None:
        self._b = backend
        self._key = key
        self._overwrite = overwrite
        self._metadata = dict(metadata)
        self._size = 0
        self._done = False
        self._session, self._c = backend._checkout()
        try:
            base = self._session.base
            self._tmp = backend._temp_for(self._c, base, key, overwrite)
            self._f = backend._create(self._c, base, key, self._tmp)
            self._f.set_pipelined(True)
        except BaseException as exc:
            self._done = True
            clean = _sftp_status(exc) or isinstance(exc, RemoteStoreError)
            backend._release(self._session, self._c, discard=not clean)
            raise

    def write(self, data: bytes) -> int:
        self._f.write(data)
        self._size += len(data)
        return len(data)

    def commit(self) -> WriteResult:
        if self._done:
            raise ValueError("atomic writer already finished")
        try:
            _finish_write(self._c, self._f, fsync=False)
            self._b._publish(self._c, self._session.base, self._tmp, self._key, self._overwrite)
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._b._release(self._session, self._c)
        return self._b._result(self._key, self._size, self._metadata)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        broken = False
        try:
            with contextlib.suppress(Exception):
                self._f.close()
            try:
                self._c.remove(self._tmp)
            except Exception as exc:
                broken = not _sftp_status(exc)
        finally:
            self._b._release(self._session, self._c, discard=broken or not self._session.transport.is_active())


def _finish_write(c: _Client, f: paramiko.SFTPFile, *, fsync: bool) -> None:
    """Flush ``f``, send ``CLOSE`` without waiting, then check every pipelined ``WRITE`` reply and the close.

    paramiko's pipelined ``SFTPFile.close`` skips the status of writes still in flight, so a
    failed write (disk full, quota) would pass unnoticed; here each reply is read and raised.
    """
    f.flush()
    reqs = f._reqs
    if fsync:
        while reqs:
            c._read_response(reqs.popleft())
        c.extended("fsync@openssh.com", f.handle)
    close_num = c._async_request(type(None), CMD_CLOSE, f.handle)
    f._closed = True  # closed here; keep paramiko's finalizer from closing the handle again
    try:
        while reqs:
            c._read_response(reqs.popleft())
    except BaseException:
        with contextlib.suppress(Exception):
            c._read_response(close_num)
        raise
    c._read_response(close_num)


def _connection_lost(exc: BaseException, session: _Session) -> bool:
    """Whether the whole SSH connection is gone (drop it; a safe call may retry on a new one).

    A request timeout only discards its channel: the transport may be fine and the server slow.
    """
    if not session.transport.is_active():
        return True
    return _errors.is_connection_error(exc) and not isinstance(exc, (socket.timeout, TimeoutError))


def _tmp_name(name: str) -> str:
    return f"{_TMP_PREFIX}{name[:80]}.{secrets.token_hex(6)}{_TMP_SUFFIX}"


class _CountingReader:
    """Wraps a source stream and counts bytes handed out (a retry is safe only while it is 0)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self.count += len(data)
        return data


class _Collector:
    """Receives asynchronous READ replies dispatched by paramiko's ``_read_response``."""

    def __init__(self) -> None:
        self.wanted: set[int] = set()
        self.ready: dict[int, bytes | BaseException] = {}
        self.client: _Client | None = None

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        if num not in self.wanted:
            return
        self.wanted.discard(num)
        if t == CMD_DATA:
            self.ready[num] = msg.get_string()
            return
        if t == CMD_STATUS and self.client is not None:
            try:
                self.client._convert_status(msg)
                self.ready[num] = b""
            except EOFError:
                self.ready[num] = b""
            except Exception as exc:
                self.ready[num] = exc
            return
        self.ready[num] = SFTPError(f"unexpected SFTP reply type {t} to READ")


class _Reader(SeekableReader):
    """Lazy, seekable stream over an open SFTP file handle with a bounded window of pipelined READs.

    Sequential reads keep up to ``_READ_DEPTH`` requests of 32 KiB in flight (the window
    ramps up from one request after every seek, so random access fetches little); memory
    is bounded by the window, never by the file size.
    """

    def __init__(self, backend: SFTPBackend, session: _Session, client: _Client, handle: bytes, size: int) -> None:
        self._backend = backend
        self._session = session
        self._client = client
        self._handle = handle
        self._size = size
        self._pos = 0
        self._next = 0
        self._depth = 1
        self._pending: deque[tuple[int, int, int]] = deque()
        self._col = _Collector()
        self._col.client = client
        self._buf = b""
        self._buf_start = 0
        self._released = False

    def _reset(self, at: int) -> None:
        self._col.wanted.clear()
        self._col.ready.clear()
        self._pending.clear()
        self._next = at
        self._depth = 1

    def _fill(self) -> None:
        c = self._client
        while len(self._pending) < self._depth and self._next < self._size:
            n = min(_READ_REQUEST, self._size - self._next)
            num = c._async_request(self._col, CMD_READ, self._handle, int64(self._next), int(n))
            self._col.wanted.add(num)
            self._pending.append((num, self._next, n))
            self._next += n

    def _fetch(self) -> bool:
        """Load the block at ``_pos`` into the buffer; False at end of file."""
        if self._pos >= self._size:
            return False
        if not self._pending or self._pending[0][1] != self._pos:
            self._reset(self._pos)
        self._fill()
        num, off, n = self._pending.popleft()
        while num not in self._col.ready:
            self._client._read_response()
        data = self._col.ready.pop(num)
        if isinstance(data, BaseException):
            self._reset(self._pos)
            raise data
        if not data:  # the file shrank under us
            self._size = off
            self._reset(off)
            return False
        if len(data) < n:  # short read: restart the window after what we got
            self._reset(off + len(data))
        else:
            self._depth = min(self._depth * 2, _READ_DEPTH)
        self._fill()
        self._buf, self._buf_start = data, off
        return True

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(b).cast("B")
        want = len(view)
        if want == 0 or self._pos >= self._size:
            return 0
        got = 0
        while got < want:
            rel = self._pos - self._buf_start
            if not (0 <= rel < len(self._buf)):
                if got and not self._pending:
                    break
                try:
                    more = self._fetch()
                except BaseException:
                    self._on_error()
                    raise
                if not more:
                    break
                rel = self._pos - self._buf_start
            n = min(want - got, len(self._buf) - rel)
            view[got : got + n] = self._buf[rel : rel + n]
            got += n
            self._pos += n
        return got

    def readall(self) -> bytes:
        out = bytearray()
        chunk = bytearray(_READ_REQUEST * 8)
        while True:
            n = self.readinto(chunk)
            if not n:
                return bytes(out)
            out += chunk[:n]

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        buf = bytearray(size)
        n = self.readinto(buf)
        return bytes(buf[:n])

    def _on_error(self) -> None:
        if not self._session.transport.is_active():
            self._backend._drop_session(self._session)

    def close(self) -> None:
        if self.closed:
            return
        try:
            if not self._released:
                self._released = True
                self._reset(self._pos)
                broken = False
                try:
                    self._client.close_async(self._handle)
                except Exception:
                    broken = True
                self._backend._release(self._session, self._client, discard=broken)
        finally:
            super().close()
