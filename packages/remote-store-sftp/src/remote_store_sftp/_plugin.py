"""Plugin hooks: registers the ``sftp`` backend type and the ``sftp://`` URL scheme (no paramiko import)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from remote_store import BackendSpec, hookimpl


@hookimpl
def remote_store_register_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register ``type = "sftp"`` → ``remote_store_sftp._backend:SFTPBackend`` with scheme ``sftp``."""
    register(
        BackendSpec(
            type="sftp",
            target="remote_store_sftp._backend:SFTPBackend",
            package="remote-store-sftp",
            schemes=("sftp",),
            from_url="remote_store_sftp._plugin:sftp_from_url",
            description="SFTP/SSH server via paramiko (strict host keys, atomic posix-rename writes)",
        )
    )


def sftp_from_url(url: urllib.parse.SplitResult) -> tuple[dict[str, object], str]:
    """``sftp://user[:password]@host[:port]/base/path`` → SFTPBackend options and root ``""``.

    The URL path is the server folder: ``sftp://host/data`` is ``data`` relative to the login
    folder, ``sftp://host//srv/data`` the absolute ``/srv/data``. Query parameters
    ``host_key_policy``, ``known_hosts``, ``private_key`` (a path) and ``host_key`` are passed
    through. A password in the URL becomes a `remote_store.Secret`.

    Raises:
        ConfigError: The URL has no host.
    """
    from remote_store import Secret
    from remote_store.errors import ConfigError

    if not url.hostname:
        raise ConfigError("sftp:// URL needs a host: sftp://user@host[:port]/path")
    options: dict[str, object] = {"host": url.hostname}
    if url.port is not None:
        options["port"] = url.port
    if url.username:
        options["username"] = urllib.parse.unquote(url.username)
    if url.password:
        options["password"] = Secret(urllib.parse.unquote(url.password))
    path = urllib.parse.unquote(url.path)
    options["base_path"] = path[1:] if path.startswith("/") else path
    for name, values in urllib.parse.parse_qs(url.query).items():
        if name in ("host_key_policy", "known_hosts", "private_key", "host_key") and values:
            options[name] = values[-1]
    return options, ""
