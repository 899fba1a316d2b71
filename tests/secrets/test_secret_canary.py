"""Secret canary on every backend that takes credentials (issue 16).

Each case configures unique canary credentials through `RegistryConfig` (the way users do),
then runs write / read / exists / list against a server that is down (a closed port) or that
refuses the credential (the real test server: Azurite checks shared-key signatures, a moto
server with IAM auth on, OpenSSH, MariaDB, an OAuth token endpoint for GCS, the HTTP test
server requiring a header). Every operation must fail with a `remote_store.errors` class, and
no canary may appear in ``repr``/``str`` of the config, store, backend, options or resolution
plan, in any error of the whole cause/context chain (with formatted tracebacks), or in any
DEBUG log record of any logger (`testing.secrets`).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from remote_store import Registry, RegistryConfig
from remote_store.errors import RemoteStoreError
from testing.secrets import CanaryScan, basic_auth_forms, capture_all_logs, pem_fragments
from testing.servers._common import server_missing


def _canary(tag: str) -> str:
    return f"CANARY{tag}{uuid.uuid4().hex}"


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Case:
    """Backend config with canaries in it."""

    type: str
    options: dict[str, Any]
    canaries: list[str]
    forms: list[str] = field(default_factory=list)
    #: Logger name prefixes of which at least one record must be captured (proof the SDK logged).
    sdk_loggers: tuple[str, ...] = ()


# ---------------------------------------------------------------- servers the cases need
@pytest.fixture(scope="module")
def moto_with_auth() -> Iterator[Any]:
    """A moto S3 server of our own with IAM authentication on (the shared one checks nothing)."""
    from testing.servers.s3 import ServerUnavailable, moto_s3_server

    old = os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT")
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    try:
        try:
            ctx = moto_s3_server()
            server = ctx.__enter__()
        except ServerUnavailable as exc:
            server_missing(str(exc))
            return
    finally:
        if old is None:
            os.environ.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
        else:
            os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = old
    try:
        yield server
    finally:
        ctx.__exit__(None, None, None)


class _RefusingTokenHandler(http.server.BaseHTTPRequestHandler):
    """An OAuth token endpoint that refuses every grant and echoes what it got (worst case)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode(errors="replace")
        raw = json.dumps({"error": "invalid_grant", "error_description": f"refused: {body}"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def refusing_token_uri() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingTokenHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token"
    finally:
        server.shutdown()
        server.server_close()


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _encrypted_ed25519(path: Path, passphrase: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )
    path.write_bytes(pem)
    path.chmod(0o600)


# ---------------------------------------------------------------- cases per backend
def _s3(request: pytest.FixtureRequest, down: bool) -> Case:
    secret, token = _canary("s3secret"), _canary("s3token")
    endpoint = f"http://127.0.0.1:{_closed_port()}" if down else request.getfixturevalue("moto_with_auth").endpoint_url
    options = {
        "bucket": "canary-bucket",
        "endpoint_url": endpoint,
        "region": "us-east-1",
        "access_key_id": "AKIACANARYNOTREAL000",
        "secret_access_key": secret,
        "session_token": token,
        "max_attempts": 2,
        "connect_timeout": 2,
    }
    return Case("s3", options, [secret, token], sdk_loggers=("botocore",))


def _azure(request: pytest.FixtureRequest, down: bool, form: str) -> Case:
    import base64

    key = base64.b64encode(_canary("azkey").encode()).decode()
    if down:
        account_url = f"http://127.0.0.1:{_closed_port()}/devstoreaccount1"
    else:
        account_url = request.getfixturevalue("azurite").account_url
    options: dict[str, Any] = {"container": "canary", "retries": 1, "retry_backoff": 0.1, "connect_timeout": 2}
    if form == "key":
        options |= {"account_url": account_url, "account_key": key}
    else:
        options["connection_string"] = (
            f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint={account_url};"
        )
    return Case("azure", options, [key], sdk_loggers=("azure",))


def _azure_sas(request: pytest.FixtureRequest, down: bool) -> Case:
    sas = f"sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&sig={_canary('sas')}"
    if down:
        account_url = f"http://127.0.0.1:{_closed_port()}/devstoreaccount1"
    else:
        account_url = request.getfixturevalue("azurite").account_url
    options = {"container": "canary", "account_url": account_url, "sas_token": sas, "retries": 1, "retry_backoff": 0.1}
    return Case("azure", options, [sas.rsplit("=", 1)[1]], sdk_loggers=("azure",))


def _gcs(request: pytest.FixtureRequest, down: bool) -> Case:
    pem = _rsa_pem()
    key_id = _canary("gcskeyid")
    token_uri = f"http://127.0.0.1:{_closed_port()}/token" if down else request.getfixturevalue("refusing_token_uri")
    endpoint = f"http://127.0.0.1:{_closed_port()}" if down else request.getfixturevalue("gcs_server").endpoint
    info = {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": "canary@test-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    options = {
        "bucket": "canary-bucket",
        "endpoint": endpoint,
        "project": "test-project",
        "credentials": json.dumps(info),
        "retries": 0,
        "connect_timeout": 2,
    }
    fragments = pem_fragments(pem)
    return Case("gcs", options, [key_id, *fragments], [json.dumps(pem)[1:40]], sdk_loggers=("google", "urllib3"))


def _sftp(request: pytest.FixtureRequest, down: bool) -> Case:
    password, passphrase = _canary("sshpw"), _canary("sshpass")
    tmp = Path(request.getfixturevalue("tmp_path"))
    _encrypted_ed25519(tmp / "canary_key", passphrase)
    srv = request.getfixturevalue("sftp_server_session")
    options = {
        "host": "127.0.0.1",
        "port": _closed_port() if down else srv.port,
        "username": srv.username,
        "password": password,
        "private_key": str(tmp / "canary_key"),
        "private_key_passphrase": passphrase,
        "known_hosts": srv.known_hosts,
        "base_path": "canary",
        "connect_timeout": 2,
        "auth_timeout": 5,
    }
    return Case("sftp", options, [password, passphrase], sdk_loggers=("paramiko",))


def _sql(request: pytest.FixtureRequest, down: bool, dialect: str) -> Case:
    import sqlalchemy as sa

    password = _canary("dbpw")
    if dialect == "postgres":
        base = sa.make_url(request.getfixturevalue("postgres_url"))
        # trust authentication accepts any password, so the refusal is for a role that does not exist
        url = base.set(username=f"canary_{uuid.uuid4().hex[:8]}", password=password)
    else:
        base = sa.make_url(request.getfixturevalue("mysql_url"))
        url = base.set(password=password)  # root has no password: a given one is refused
    if down:
        url = url.set(host="127.0.0.1", port=_closed_port())
    options = {"url": url.render_as_string(hide_password=False), "connect_timeout": 2}
    return Case("sql-blob", options, [password], sdk_loggers=("sqlalchemy",))


def _http(request: pytest.FixtureRequest, down: bool, form: str) -> Case:
    site = request.getfixturevalue("http_site")
    site.write("k", b"payload")
    site.server.required_headers["Authorization"] = "Bearer the-right-token"
    base = f"http://127.0.0.1:{_closed_port()}/{site.name}/" if down else site.url
    secret = _canary("http")
    if form == "bearer":
        return Case(
            "http", {"base_url": base, "headers": {"Authorization": f"Bearer {secret}"}, "timeout": 2}, [secret]
        )
    user_base = base.replace("http://", f"http://canaryuser:{secret}@")
    return Case("http", {"base_url": user_base, "timeout": 2}, [secret], basic_auth_forms("canaryuser", secret))


CASES = {
    "s3": _s3,
    "azure-key": lambda r, d: _azure(r, d, "key"),
    "azure-connection-string": lambda r, d: _azure(r, d, "connection_string"),
    "azure-sas": _azure_sas,
    "gcs": _gcs,
    "sftp": _sftp,
    "postgres": lambda r, d: _sql(r, d, "postgres"),
    "mysql": lambda r, d: _sql(r, d, "mysql"),
    "http-bearer": lambda r, d: _http(r, d, "bearer"),
    "http-basic": lambda r, d: _http(r, d, "basic"),
}


def _fail(scan: CanaryScan, what: str, fn: Any) -> None:
    """Run ``fn``: it must raise a typed error; scan that error."""
    with pytest.raises(RemoteStoreError) as info:
        fn()
    scan.add_error(what, info.value)


@pytest.mark.parametrize("situation", ["server-down", "auth-refused"])
@pytest.mark.parametrize("case", list(CASES))
def test_canary_never_in_repr_errors_or_debug_logs(
    case: str, situation: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_SDK_PYTHON_LOGGING_SCOPE", "google")  # google-auth / api-core request logs
    spec = CASES[case](request, situation == "server-down")
    scan = CanaryScan(spec.canaries, spec.forms)
    with capture_all_logs() as logs:
        cfg = RegistryConfig.from_dict(
            {"backends": {"b": {"type": spec.type, "options": spec.options}}, "stores": {"s": {"backend": "b"}}}
        )
        registry = Registry(cfg)
        store = registry.get_store("s")
        backend = store.backend
        scan.add("config", cfg, cfg.to_dict(), cfg.backends["b"], cfg.stores["s"])
        scan.add("store", store, backend, backend.options)
        with contextlib.suppress(RemoteStoreError):
            scan.add("resolve", store.resolve("k"))
        _fail(scan, "write", lambda: store.write("k", b"payload", overwrite=True))
        _fail(scan, "read", lambda: store.read_bytes("k"))
        _fail(scan, "list", lambda: list(store.list_files("")))
        if spec.type != "http":  # http exists() reads a 401 as "not there"? it must raise too
            _fail(scan, "exists", lambda: store.exists("k"))
        store.close()
    scan.add_records("logs", logs.records)
    scan.assert_clean()
    if spec.sdk_loggers and situation == "auth-refused":  # a refused TCP connect may log nothing
        assert any(n.startswith(spec.sdk_loggers) for n in logs.names()), (
            f"no record from {spec.sdk_loggers} captured ({sorted(logs.names())}): the log scan would prove nothing"
        )
