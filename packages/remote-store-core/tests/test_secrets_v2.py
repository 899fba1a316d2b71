"""Secrets in URLs, query strings and headers are masked everywhere; configured secrets never
reach a log record (also from SDK loggers at DEBUG); error types for unknown names."""

from __future__ import annotations

import http.client
import logging
import pickle
import re
import uuid
from typing import Any

import pytest

from remote_store import (
    CapabilityNotSupported,
    ConfigError,
    ConfigKeyError,
    NotFound,
    Registry,
    RegistryConfig,
    Secret,
    Store,
    resolve_env,
)
from remote_store._log import redact_text
from remote_store._secret import mask_secrets, mask_url
from remote_store.backends import HttpBackend, MemoryBackend
from testing.servers.s3 import MotoS3Server

MASK = "**********"


# ---------------------------------------------------------------- errors
def test_unknown_store_name_is_config_error_and_key_error() -> None:
    reg = Registry(RegistryConfig.from_dict({"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m"}}}))
    with pytest.raises(KeyError):
        reg.get_store("nope")
    with pytest.raises(ConfigError) as info:
        reg.get_store("nope")
    assert isinstance(info.value, ConfigKeyError)
    assert "no store named 'nope'" in str(info.value)  # not KeyError's quoted repr
    with pytest.raises(KeyError):
        reg.get_backend("nope")


def test_unset_env_var_is_config_error_and_key_error() -> None:
    with pytest.raises(KeyError) as info:
        resolve_env({"a": {"b": "${RS_SURELY_UNSET_VAR}"}}, environ={})
    assert isinstance(info.value, ConfigError)
    assert "RS_SURELY_UNSET_VAR" in str(info.value) and "a.b" in str(info.value)
    assert resolve_env("${RS_SURELY_UNSET_VAR:-x}", environ={}) == "x"


def test_config_key_error_pickles() -> None:
    err = ConfigKeyError("no store named 'x'", path="stores.x")
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is ConfigKeyError and clone.path == "stores.x" and str(clone) == str(err)


def test_error_repr_names_path_and_backend() -> None:
    err = NotFound("file not found", path="a/b.txt", backend="memory")
    assert repr(err) == "NotFound('file not found', path='a/b.txt', backend='memory')"
    with pytest.raises(NotFound) as info:
        Store(MemoryBackend()).read_bytes("dir/missing.txt")
    assert "dir/missing.txt" in repr(info.value)


def test_capability_not_supported_names_the_capability() -> None:
    err = CapabilityNotSupported("not available", backend="http", capability="GLOB")
    assert "GLOB" in str(err) and "capability='GLOB'" in repr(err)
    with pytest.raises(CapabilityNotSupported) as info:
        Store(MemoryBackend()).glob("*")
    assert "GLOB" in str(info.value) and "GLOB" in repr(info.value)


# ---------------------------------------------------------------- masking
PRESIGNED = (
    "https://bucket.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101"
    "&X-Amz-Signature=deadbeefcafef00d&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE&X-Amz-Expires=60"
)


@pytest.mark.parametrize(
    ("value", "hidden", "kept"),
    [
        ("postgresql://user:hunter2pw@db:5432/app", ["hunter2pw"], ["user:", "@db:5432/app"]),
        (PRESIGNED, ["deadbeefcafef00d", "FQoGZXIvYXdzEXAMPLE"], ["X-Amz-Expires=60", "bucket.s3.amazonaws.com/k"]),
        ("https://acct.blob.core.windows.net/c?sv=2023&sig=abcSAS%3D&se=2030", ["abcSAS%3D"], ["sv=2023", "se=2030"]),
        (
            "https://api.example/x?access_token=tok123&api_key=k456&key=k789&page=2",
            ["tok123", "k456", "k789"],
            ["page=2"],
        ),
        ("https://h/x?token=t1;password=p2", ["t1", "p2"], ["https://h/x"]),
        ("plain text, no url", [], ["plain text, no url"]),
    ],
)
def test_mask_url(value: str, hidden: list[str], kept: list[str]) -> None:
    masked = mask_url(value)
    for h in hidden:
        assert h not in masked
    for k in kept:
        assert k in masked


def test_url_and_header_secrets_are_masked_in_every_repr_and_to_dict() -> None:
    data = {
        "backends": {
            "db": {"type": "memory", "options": {"name": "postgresql://u:pw-in-dsn-1@h/db"}},
            "web": {
                "type": "http",
                "options": {
                    "base_url": "https://example.invalid/files/?sig=sas-sig-2",
                    "headers": {"Authorization": "Bearer hdr-3", "X-Trace-Id": "visible-4", "x-my-apikey": "k-5"},
                    "endpoint_url": "https://someone:pw-6@host/",
                },
            },
        },
        "stores": {
            "s": {"backend": "db", "middleware": [{"name": "mw", "options": {"url": "https://a:pw-7@x/?token=t-8"}}]}
        },
    }
    cfg = RegistryConfig.from_dict(data)
    secrets = ["pw-in-dsn-1", "sas-sig-2", "hdr-3", "k-5", "pw-6", "pw-7", "t-8"]
    for text in (repr(cfg), str(cfg.to_dict()), repr(cfg.backends["web"]), repr(cfg.stores["s"])):
        for sec in secrets:
            assert sec not in text, (sec, text)
    assert "visible-4" in str(cfg.to_dict())
    raw = cfg.to_dict(mask=False)
    assert raw["backends"]["web"]["options"]["headers"]["Authorization"] == "Bearer hdr-3"
    assert raw["backends"]["db"]["options"]["name"] == "postgresql://u:pw-in-dsn-1@h/db"


def test_http_backend_headers_and_url_are_masked_in_repr_and_resolve() -> None:
    b = HttpBackend(
        "https://example.invalid/root/?sig=sas-in-url",
        headers={"X-Api-Key": "api-k1", "Cookie": "c=ookie", "X-Session-Token": "sess-t", "Accept": "text/plain"},
    )
    plan = Store(b).resolve("f.txt")
    for text in (repr(b), repr(Store(b)), str(plan.options), repr(plan)):
        for sec in ("sas-in-url", "api-k1", "c=ookie", "sess-t"):
            assert sec not in text, (sec, text)
    assert plan.options["headers"]["Accept"] == "text/plain"
    assert mask_secrets({"headers": {"Proxy-Authorization": "Basic x"}}) == {"headers": {"Proxy-Authorization": MASK}}


# ---------------------------------------------------------------- log redaction
def test_configured_secret_is_redacted_from_records_of_any_logger(caplog: pytest.LogCaptureFixture) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    Secret(canary)
    child = logging.getLogger("some.sdk.deep.child")  # a child logger: logger filters would miss it
    with caplog.at_level(logging.DEBUG):
        child.debug("sending %s with key=%s", {"x": canary}, canary)
        child.info("Authorization: Bearer abc.def.ghi")
        child.debug("headers={'Authorization': b'AWS4-HMAC-SHA256 Credential=AK/x, Signature=0123456789abcdef0123'}")
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert canary not in text
    assert "abc.def.ghi" not in text
    assert "0123456789abcdef0123" not in text
    assert text.count(MASK) >= 3


def test_redact_text_leaves_ordinary_messages_alone() -> None:
    msg = "Authorization failed for bucket data (403); retrying in 2s"
    assert redact_text(msg) == msg


def test_botocore_debug_logs_never_show_the_session_token_or_signature(
    s3_server: MotoS3Server, s3_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A real boto3 client against moto, every SDK logger at DEBUG: the canary session token
    (sent as X-Amz-Security-Token and part of the signed request) must not appear in any record."""
    import boto3

    canary = f"CANARYTOKEN{uuid.uuid4().hex}"
    # Configuring the secret the way a user does: through RegistryConfig (wraps it in Secret).
    cfg = RegistryConfig.from_dict(
        {"backends": {"s3": {"type": "memory", "options": {"aws_session_token": canary}}}, "stores": {}}
    )
    assert isinstance(cfg.backends["s3"].options["aws_session_token"], Secret)
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name=s3_server.region,
        aws_access_key_id=s3_server.access_key_id,
        aws_secret_access_key=s3_server.secret_access_key,
        aws_session_token=canary,
    )
    http.client.HTTPConnection.debuglevel = 0
    with caplog.at_level(logging.DEBUG):
        for name in ("botocore", "boto3", "urllib3", ""):
            logging.getLogger(name).setLevel(logging.DEBUG)
        client.put_object(Bucket=s3_bucket, Key="k.txt", Body=b"hello")
        assert client.get_object(Bucket=s3_bucket, Key="k.txt")["Body"].read() == b"hello"
        url = client.generate_presigned_url("get_object", Params={"Bucket": s3_bucket, "Key": "k.txt"})
        logging.getLogger("app").info("presigned: %s", url)
    messages = [r.getMessage() for r in caplog.records]
    botocore_records = [r for r in caplog.records if r.name.startswith("botocore")]
    assert len(botocore_records) > 20, "botocore did not log at DEBUG; the test would prove nothing"
    joined = "\n".join(messages) + caplog.text
    assert "x-amz-security-token" in joined.lower(), "expected botocore to log the token header (redacted)"
    assert canary not in joined
    assert "Signature=" in joined
    assert f"'Authorization': b'{MASK}'" in joined, "expected botocore to log the signed Authorization header"
    assert "Credential=" not in joined and not re.search(r"Signature[=:]\s*[0-9a-f]{16}", joined)
    assert re.search(r"Signature:\s*" + re.escape(MASK), joined), "botocore's signature dump must be redacted"
    assert "Signature=" + MASK in joined  # the presigned URL's query signature (SigV2 or SigV4)


def teardown_module(module: Any) -> None:
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_secrets_registered_while_other_threads_log_are_never_lost(caplog: pytest.LogCaptureFixture) -> None:
    """Racing threads: some build Secrets (growing the redaction set), others log each one
    right after building it; no record may show a value and logging must never fail."""
    import threading

    errors: list[BaseException] = []
    log = logging.getLogger("race.sdk.child")

    def worker(n: int) -> None:
        try:
            for i in range(200):
                value = f"race-secret-{n}-{i}-{uuid.uuid4().hex}"
                Secret(value)
                log.debug("token=%s header=%s", value, {"X-Thing": value})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with caplog.at_level(logging.DEBUG, logger="race"):
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert len(caplog.records) == 1200
    assert not any("race-secret-" in r.getMessage() for r in caplog.records)
