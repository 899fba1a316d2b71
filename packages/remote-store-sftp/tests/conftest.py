"""Fixtures for the SFTP backend tests (the server itself comes from ``testing/servers/sftp.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from remote_store_sftp import SFTPBackend
from testing.servers.sftp import SFTPServer


@pytest.fixture
def make_backend(sftp_server_session: SFTPServer, sftp_base: str) -> Iterator[Callable[..., SFTPBackend]]:
    """Factory for backends on the session server, rooted at this test's fresh folder.

    Defaults: key auth, STRICT host keys against the server's known_hosts file.
    """
    made: list[SFTPBackend] = []

    def make(**overrides: Any) -> SFTPBackend:
        srv = sftp_server_session
        options: dict[str, Any] = {
            "host": srv.host,
            "port": srv.port,
            "username": srv.username,
            "private_key": srv.client_key,
            "known_hosts": srv.known_hosts,
            "base_path": sftp_base,
            "operation_timeout": 30.0,
        }
        options.update(overrides)
        b = SFTPBackend(**options)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()
