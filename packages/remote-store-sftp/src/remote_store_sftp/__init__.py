"""remote-store-sftp: the ``sftp`` backend (paramiko) for remote-store.

Installing the distribution registers ``type = "sftp"`` and ``sftp://user@host:port/path``
through the ``remote_store`` entry point. Importing this package does not import paramiko;
`SFTPBackend` is loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remote_store_sftp._options import HostKeyPolicy

if TYPE_CHECKING:
    from remote_store_sftp._backend import SFTPBackend

__all__ = ["HostKeyPolicy", "SFTPBackend"]


def __getattr__(name: str) -> Any:
    if name == "SFTPBackend":
        from remote_store_sftp._backend import SFTPBackend

        return SFTPBackend
    raise AttributeError(f"module 'remote_store_sftp' has no attribute {name!r}")
