"""The full remote-store conformance suite against a real OpenSSH sshd."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remote_store_conformance import BackendConformance
from remote_store_sftp import SFTPBackend
from testing.servers.sftp import SFTPServer


class TestSFTPConformance(BackendConformance):
    @pytest.fixture
    def backend(self, sftp_server_session: SFTPServer, sftp_base: str) -> Iterator[SFTPBackend]:
        srv = sftp_server_session
        b = SFTPBackend(
            host=srv.host,
            port=srv.port,
            username=srv.username,
            private_key=srv.client_key,
            known_hosts=srv.known_hosts,
            base_path=sftp_base,
        )
        yield b
        b.close()
