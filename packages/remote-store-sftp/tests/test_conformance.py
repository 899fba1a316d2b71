"""The full remote-store conformance suite against a real OpenSSH sshd."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import paramiko
import pytest

from remote_store.errors import BackendUnavailable, RemoteStoreError
from remote_store_conformance import BackendConformance
from remote_store_sftp import SFTPBackend
from testing.servers.sftp import SFTPServer


class TestSFTPConformance(BackendConformance):
    # OpenSSH has no no-replace rename: an exclusive move is hardlink@openssh.com, then REMOVE.
    exclusive_move_is_one_step = False

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

    @pytest.fixture
    def native_errors(self) -> list[tuple[Exception, type[RemoteStoreError]]]:
        return [
            (paramiko.SSHException("Server connection dropped"), BackendUnavailable),
            (EOFError(), BackendUnavailable),
            (TimeoutError("timed out"), BackendUnavailable),
        ]

    @pytest.fixture
    def unreachable_backend(self, sftp_server_session: SFTPServer, sftp_base: str) -> Iterator[SFTPBackend]:
        srv = sftp_server_session
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        b = SFTPBackend(
            host="127.0.0.1",
            port=port,
            username=srv.username,
            private_key=srv.client_key,
            known_hosts=srv.known_hosts,
            base_path=sftp_base,
            connect_timeout=2,
        )
        yield b
        b.close()
