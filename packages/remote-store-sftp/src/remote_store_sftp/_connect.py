"""Opening a connection: ``ssh_config`` resolution, host-key checks, authentication, base folder."""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import posixpath
import socket
import stat as stat_mod
from typing import TYPE_CHECKING

import paramiko

from remote_store import Secret
from remote_store.errors import BackendUnavailable, ConfigError
from remote_store_sftp import _hostkeys, _pool, _wire
from remote_store_sftp._errors import enoent
from remote_store_sftp._keys import load_private_key
from remote_store_sftp._options import DEFAULT_KNOWN_HOSTS, ENV_HOST_KEY, ENV_KNOWN_HOSTS

if TYPE_CHECKING:
    from remote_store_sftp._backend import SFTPBackend

log = logging.getLogger("remote_store.sftp")


def resolved(b: SFTPBackend) -> tuple[str, int, str, list[str]]:
    host, port, user = b._host, b._port, b._username
    identity: list[str] = []
    if b._ssh_config:
        path = os.path.expanduser("~/.ssh/config" if b._ssh_config is True else str(b._ssh_config))
        if os.path.exists(path):
            cfg = paramiko.SSHConfig.from_path(path).lookup(b._host)
            host = str(cfg.get("hostname", host))
            if port is None and "port" in cfg:
                port = int(cfg["port"])
            if user is None and "user" in cfg:
                user = str(cfg["user"])
            identity = [os.path.expanduser(str(p)) for p in cfg.get("identityfile", [])]
    return host, port or 22, user or getpass.getuser(), identity


def known_keys(b: SFTPBackend, host: str, port: int) -> _hostkeys.KnownKeys:
    known = _hostkeys.KnownKeys()
    inline = b._host_key if b._host_key is not None else os.environ.get(ENV_HOST_KEY)
    if inline:
        known = _hostkeys.parse_inline(inline, host, port)
    path = known_hosts_path(b)
    if path:
        from_file = _hostkeys.load_known_hosts(path, host, port)
        known.keys = {**from_file.keys, **known.keys}
    for name, key in b._accepted.items():
        known.keys.setdefault(name, key)
    return known


def known_hosts_path(b: SFTPBackend) -> str | None:
    path = b._known_hosts or os.environ.get(ENV_KNOWN_HOSTS) or DEFAULT_KNOWN_HOSTS
    return os.path.expanduser(path) if path else None


def authenticate(b: SFTPBackend, t: paramiko.Transport, user: str, identity: list[str]) -> None:
    keys: list[paramiko.PKey] = []
    if b._private_key is not None:
        keys.append(load_private_key(b._private_key, b._passphrase))
    elif b._password is None:
        for path in identity:
            if os.path.exists(path):
                keys.append(load_private_key(path, b._passphrase))
    if b._allow_agent:
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
    if b._password is not None:
        pw = b._password.reveal() if isinstance(b._password, Secret) else b._password
        try:
            t.auth_password(user, pw)
        except paramiko.AuthenticationException as exc:
            errors.append(f"password: {type(exc).__name__}")
        if t.is_authenticated():
            return
    if not keys and b._password is None:
        raise ConfigError("SFTPBackend needs password, private_key, allow_agent=True or an ssh_config IdentityFile")
    raise BackendUnavailable(
        f"SSH authentication failed for user {user!r} ({'; '.join(errors) or 'no method accepted'})"
    )


def connect(b: SFTPBackend) -> _pool.Session:
    host, port, user, identity = resolved(b)
    known = known_keys(b, host, port)
    sock = socket.create_connection((host, port), timeout=b._connect_timeout)
    # pipelined requests are small packets sent back to back: without TCP_NODELAY, Nagle holds
    # the second one until the first is acknowledged, which serialises the pipeline
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = paramiko.Transport(sock)
    try:
        t.banner_timeout = b._banner_timeout
        t.handshake_timeout = b._connect_timeout
        t.auth_timeout = b._auth_timeout
        opts = t.get_security_options()
        opts.key_types = _hostkeys.preferred_key_types(known, list(opts.key_types))
        t.start_client(timeout=b._connect_timeout)
        server_key = t.get_remote_server_key()
        _hostkeys.verify(
            server_key,
            host=host,
            port=port,
            known=known,
            policy=b._policy,
            known_hosts_path=known_hosts_path(b),
        )
        b._accepted.setdefault(server_key.get_name(), server_key)
        authenticate(b, t, user, identity)
        if b._keepalive > 0:
            t.set_keepalive(b._keepalive)
        client = _pool.open_channel(t, b._operation_timeout, b._connect_timeout)
        base = resolve_base(b, client)
    except BaseException:
        t.close()
        raise
    session = _pool.Session(t, base, client.extensions)
    session.idle.append(client)
    b._extensions = client.extensions
    log.debug("connected to %s:%s as %s, base %s", host, port, user, base)
    return session


def resolve_base(b: SFTPBackend, c: _wire.Client) -> str:
    base = b._base_path or "."
    try:
        real = str(c.normalize(base))
        c.stat(real)  # OpenSSH's REALPATH accepts a missing last component
        return real
    except OSError as exc:
        if not enoent(exc) or not b._create_base:
            if enoent(exc):
                raise BackendUnavailable(f"base_path {b._base_path!r} does not exist on the server") from None
            raise
    parts = [p for p in base.split("/") if p and p != "."]
    cur = "/" if base.startswith("/") else "."
    for part in parts:
        cur = posixpath.join(cur, part)
        try:
            st = c.stat(cur)
        except OSError as exc:
            if not enoent(exc):
                raise
            with contextlib.suppress(OSError):
                c.mkdir(cur)
            st = c.stat(cur)
        if not stat_mod.S_ISDIR(st.st_mode or 0):
            raise BackendUnavailable(f"base_path {b._base_path!r}: {cur!r} is not a folder")
    return str(c.normalize(base))
