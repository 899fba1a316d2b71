"""Option types of the SFTP backend (no paramiko import here)."""

from __future__ import annotations

import enum

#: Environment variable holding inline host keys (``ssh-ed25519 AAAA…`` or known_hosts lines,
#: one per line) used when neither ``host_key`` nor ``known_hosts`` is given.
ENV_HOST_KEY = "REMOTE_STORE_SFTP_HOST_KEY"
#: Environment variable naming a known_hosts file used when ``known_hosts`` is not given.
ENV_KNOWN_HOSTS = "REMOTE_STORE_SFTP_KNOWN_HOSTS"
#: known_hosts used when neither the option nor `ENV_KNOWN_HOSTS` names one.
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


class HostKeyPolicy(enum.Enum):
    """What to do with the server's host key.

    STRICT: the key must already be known (``host_key`` inline keys, the ``known_hosts`` file,
        or the `ENV_HOST_KEY` / `ENV_KNOWN_HOSTS` environment variables); an unknown key is
        refused with `remote_store.errors.PermissionDenied`. The default.
    TRUST_ON_FIRST_USE: an unknown key is accepted once and appended to the ``known_hosts``
        file (created with mode 0600); later connections are then STRICT.
    AUTO_ADD: an unknown key is accepted for this backend's lifetime without being saved, and a
        warning is logged and issued (``UserWarning``). Use only on trusted networks.

    Under every policy a host key that differs from a known one is refused with
    `remote_store.errors.PermissionDenied` whose message says ``host key changed``.
    """

    STRICT = "strict"
    TRUST_ON_FIRST_USE = "trust_on_first_use"
    AUTO_ADD = "auto_add"

    @classmethod
    def parse(cls, value: HostKeyPolicy | str) -> HostKeyPolicy:
        """Accept a member, its value or its name in any case (``"tofu"`` is accepted too).

        Raises:
            ValueError: ``value`` names no policy.
        """
        if isinstance(value, HostKeyPolicy):
            return value
        text = str(value).strip().lower().replace("-", "_")
        if text == "tofu":
            return cls.TRUST_ON_FIRST_USE
        for member in cls:
            if text in (member.value, member.name.lower()):
                return member
        raise ValueError(f"unknown host key policy {value!r}; use one of: strict, trust_on_first_use, auto_add")


#: Temp files of writes are named ``.~rs-<name>.<12 hex>.tmp`` in the target's folder; never listed.
TMP_PREFIX = ".~rs-"
TMP_SUFFIX = ".tmp"
#: Default ``stale_temp_age``: a temp file untouched for this many seconds belongs to a dead writer
#: (a live writer's ``WRITE``s keep its modification time fresh).
DEFAULT_STALE_TEMP_AGE = 3600.0
#: A folder is swept for stale temp files at most once per this many seconds per backend.
SWEEP_INTERVAL = 300.0
