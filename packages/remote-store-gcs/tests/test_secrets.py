"""Secret canary: a real service-account key (fresh RSA key) used against the emulator, with a
local OAuth token endpoint; its private key must never reach repr, resolve, errors or any DEBUG
log record (remote_store's, the SDK's, google-auth's, urllib3's)."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remote_store import Secret, Store
from remote_store.errors import ConfigError, PermissionDenied, RemoteStoreError
from remote_store_gcs import GCSBackend
from testing.secrets import CanaryScan, pem_fragments
from testing.servers.gcs import FakeGCSServer


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class _TokenHandler(http.server.BaseHTTPRequestHandler):
    mode = "ok"
    echo = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "ok":
            body, status = {"access_token": "canary-access-token", "expires_in": 3600, "token_type": "Bearer"}, 200
        else:  # a refusing endpoint that echoes the key back: the message must still be scrubbed
            body, status = {"error": "invalid_grant", "error_description": self.echo}, 400
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def token_server() -> Iterator[tuple[str, type[_TokenHandler]]]:
    handler = type("Handler", (_TokenHandler,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def key_info(token_server: tuple[str, type[_TokenHandler]]) -> dict[str, str]:
    return {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "canarykeyid0123456789abcdef",
        "private_key": _rsa_pem(),
        "client_email": "canary@test-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_server[0],
    }


def _assert_clean(text: str, info: dict[str, str]) -> None:
    """No PEM body line of the key (each alone would leak part of it), its id or its JSON form."""
    scan = CanaryScan(
        [info["private_key_id"], *pem_fragments(info["private_key"])], [json.dumps(info["private_key"])[1:40]]
    )
    scan.add("text", text)
    scan.assert_clean()


@pytest.mark.parametrize("form", ["inline", "file"])
def test_private_key_never_in_repr_resolve_errors_or_debug_logs(
    gcs_server: FakeGCSServer,
    gcs_bucket: str,
    key_info: dict[str, str],
    tmp_path: Path,
    form: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_SDK_PYTHON_LOGGING_SCOPE", "google")  # turn on google-auth/api-core request logs
    text = json.dumps(key_info)
    if form == "file":
        path = tmp_path / "key.json"
        path.write_text(text)
        text = str(path)
    caplog.set_level(logging.DEBUG)
    b = GCSBackend(gcs_bucket, endpoint=gcs_server.endpoint, credentials=text, project="test-project")
    store = Store(b)
    store.write("a/secret-canary.txt", b"payload")
    store.write("a/big.bin", b"x" * (9 * 1024 * 1024))  # resumable path too
    assert store.read_bytes("a/secret-canary.txt") == b"payload"
    assert [i.path for i in store.list_files("a")] == ["a/big.bin", "a/secret-canary.txt"]
    missing = Store(GCSBackend("no-such-bucket-xyz", endpoint=gcs_server.endpoint, credentials=text, retries=0))
    with pytest.raises(RemoteStoreError) as err:
        missing.read_bytes("x")
    assert isinstance(b.options["credentials"], Secret)
    everything = "\n".join(
        [
            repr(b),
            repr(store),
            repr(store.resolve("a/secret-canary.txt")),
            str(err.value),
            repr(err.value),
            *(r.getMessage() for r in caplog.records),
            *(str(r.args) for r in caplog.records),
        ]
    )
    assert any(r.name.startswith(("google", "urllib3")) for r in caplog.records), "no SDK log record captured"
    _assert_clean(everything, key_info)
    b.close()


def test_refused_credentials_raise_permission_denied_without_the_key(
    gcs_server: FakeGCSServer,
    gcs_bucket: str,
    key_info: dict[str, str],
    token_server: tuple[str, type[_TokenHandler]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = token_server[1]
    handler.mode, handler.echo = "refuse", key_info["private_key"]
    caplog.set_level(logging.DEBUG)
    store = Store(GCSBackend(gcs_bucket, endpoint=gcs_server.endpoint, credentials=json.dumps(key_info), retries=0))
    with pytest.raises(PermissionDenied) as err:
        store.write("x.txt", b"x")
    _assert_clean(str(err.value) + repr(err.value), key_info)
    assert "**********" in str(err.value)  # the echoed key was there, and masked


@pytest.mark.parametrize(
    "mutate",
    [
        lambda info: {k: v for k, v in info.items() if k != "client_email"},
        lambda info: {**info, "private_key": info["private_key"][:300]},
    ],
    ids=["missing-field", "truncated-key"],
)
def test_malformed_key_is_a_config_error_without_the_key(key_info: dict[str, str], mutate: Any) -> None:
    bad = mutate(key_info)
    b = GCSBackend("bucket", credentials=json.dumps(bad), endpoint="http://127.0.0.1:9")
    with pytest.raises(ConfigError) as err:
        Store(b).read_bytes("x")
    _assert_clean(str(err.value) + repr(err.value) + repr(b), key_info)
    with pytest.raises(ConfigError) as err2:
        Store(GCSBackend("bucket", credentials="{not json " + key_info["private_key"])).read_bytes("x")
    _assert_clean(str(err2.value) + repr(err2.value), key_info)
