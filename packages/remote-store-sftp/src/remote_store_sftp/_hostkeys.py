"""Host key verification: STRICT, TRUST_ON_FIRST_USE (persisted, 0600) and AUTO_ADD."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
import warnings
from dataclasses import dataclass, field

import paramiko

from remote_store.errors import ConfigError, PermissionDenied
from remote_store_sftp._options import HostKeyPolicy

log = logging.getLogger("remote_store.sftp")
_FILE_LOCK = threading.Lock()


def host_entry(host: str, port: int) -> str:
    """The known_hosts name of ``host:port`` (``host`` for port 22, else ``[host]:port``)."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style fingerprint ``SHA256:…`` of a public key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass
class KnownKeys:
    """The keys trusted for one host: public keys by type, plus pinned fingerprints."""

    keys: dict[str, paramiko.PKey] = field(default_factory=dict)
    fingerprints: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.keys or self.fingerprints)


def _key_from_parts(keytype: str, b64: str) -> paramiko.PKey | None:
    try:
        return paramiko.PKey.from_type_string(keytype, base64.b64decode(b64))
    except Exception:
        return None


def parse_inline(text: str, host: str, port: int) -> KnownKeys:
    """Parse inline host keys: lines of ``keytype base64``, full known_hosts lines, or ``SHA256:…`` fingerprints.

    known_hosts lines whose host field does not match ``host:port`` are ignored.

    Raises:
        ConfigError: A line is neither of those forms.
    """
    out = KnownKeys()
    entry = host_entry(host, port)
    for raw in text.replace("\\n", "\n").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("SHA256:"):
            out.fingerprints.add(line.split()[0].rstrip("="))
            continue
        parts = line.split()
        if len(parts) >= 2 and (parts[0].startswith(("ssh-", "ecdsa-", "sk-")) or parts[0] == "rsa-sha2-256"):
            key = _key_from_parts(parts[0], parts[1])
        elif len(parts) >= 3:
            hk = paramiko.HostKeys()
            hk_entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
            if hk_entry is None:
                raise ConfigError("host_key: unreadable known_hosts line")
            for name in hk_entry.hostnames:
                hk.add(name, hk_entry.key.get_name(), hk_entry.key)
            found = hk.lookup(entry)
            if found is None:
                continue
            for k in found.values():
                out.keys[k.get_name()] = k
            continue
        else:
            raise ConfigError("host_key: expected 'keytype base64', a known_hosts line or a 'SHA256:' fingerprint")
        if key is None:
            raise ConfigError(f"host_key: cannot read a {parts[0]} key")
        out.keys[key.get_name()] = key
    return out


def load_known_hosts(path: str, host: str, port: int) -> KnownKeys:
    """Read the keys for ``host:port`` from a known_hosts file (hashed entries supported); empty if missing."""
    out = KnownKeys()
    if not os.path.exists(path):
        return out
    hk = paramiko.HostKeys()
    try:
        hk.load(path)
    except OSError as exc:
        raise ConfigError(f"known_hosts file {path!r} cannot be read: {exc.strerror or exc}") from None
    found = hk.lookup(host_entry(host, port))
    if found is not None:
        for k in found.values():
            out.keys[k.get_name()] = k
    return out


def preferred_key_types(known: KnownKeys, offered: list[str]) -> list[str]:
    """Order the transport's host key algorithms so the known key types come first."""
    wanted: list[str] = []
    for name in known.keys:
        if name == "ssh-rsa":
            wanted.extend(t for t in ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa") if t in offered)
        elif name in offered:
            wanted.append(name)
    return wanted + [t for t in offered if t not in wanted]


def persist(path: str, host: str, port: int, key: paramiko.PKey) -> None:
    """Append ``key`` for ``host:port`` to known_hosts ``path``; file created with mode 0600, folder 0700."""
    line = f"{host_entry(host, port)} {key.get_name()} {key.get_base64()}\n"
    folder = os.path.dirname(os.path.abspath(path))
    with _FILE_LOCK:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def verify(
    server_key: paramiko.PKey,
    *,
    host: str,
    port: int,
    known: KnownKeys,
    policy: HostKeyPolicy,
    known_hosts_path: str | None,
) -> None:
    """Check the server's host key against ``known`` under ``policy``.

    Raises:
        PermissionDenied: The key differs from a known one (message: ``host key changed``), or it is
            unknown under STRICT (message: ``unknown host key``).
    """
    entry = host_entry(host, port)
    fp = fingerprint(server_key)
    if known:
        same_type = known.keys.get(server_key.get_name())
        if same_type is not None and same_type.asbytes() == server_key.asbytes():
            return
        if fp in known.fingerprints:
            return
        if same_type is not None or known.fingerprints or known.keys:
            raise PermissionDenied(
                f"host key changed for {entry}: the server presented {server_key.get_name()} {fp}, which does not "
                "match the known host key; refusing to connect (possible man-in-the-middle). If the server key was "
                "rotated on purpose, update known_hosts / host_key."
            )
    if policy is HostKeyPolicy.STRICT:
        raise PermissionDenied(
            f"unknown host key for {entry} ({server_key.get_name()} {fp}); add it to known_hosts or pass host_key= "
            "(host_key_policy='strict')"
        )
    if policy is HostKeyPolicy.TRUST_ON_FIRST_USE:
        if not known_hosts_path:
            raise ConfigError("host_key_policy='trust_on_first_use' needs a known_hosts file to persist the key")
        persist(known_hosts_path, host, port, server_key)
        log.info("trusted host key of %s on first use (%s), saved to %s", entry, fp, known_hosts_path)
        return
    msg = f"accepting unknown host key of {entry} ({server_key.get_name()} {fp}) without verification (AUTO_ADD)"
    log.warning(msg)
    warnings.warn(msg, UserWarning, stacklevel=6)
