"""Package surface, plugin registration, import hygiene, options and the error mapping (no server)."""

from __future__ import annotations

import inspect
import json
import pickle
import subprocess
import sys
import urllib.parse
from typing import Any

import pytest
from google.api_core import exceptions as gex
from google.auth import exceptions as gauth
from hypothesis import given, settings
from hypothesis import strategies as st

import remote_store
import remote_store_gcs
from remote_store import Capability, Secret, get_plugin_host
from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)
from remote_store_gcs._errors import scrub, translate
from remote_store_gcs._plugin import from_url


def test_public_surface_is_exactly_all() -> None:
    assert remote_store_gcs.__all__ == sorted(remote_store_gcs.__all__)
    assert set(remote_store_gcs.__all__) == {"GCSBackend", "GCSOptions"}
    public = {n for n in dir(remote_store_gcs) if not n.startswith("_")} - {"annotations", "TYPE_CHECKING", "Any"}
    assert public <= set(remote_store_gcs.__all__)
    for name in remote_store_gcs.__all__:
        assert getattr(remote_store_gcs, name).__name__ == name


def test_import_and_discovery_do_not_import_the_sdk() -> None:
    code = (
        "import json, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "import remote_store_gcs, remote_store\n"
        "a = sorted(m for m in sys.modules if m.split('.')[0] == 'google')\n"
        "types = remote_store.get_plugin_host().backend_types()\n"
        "b = sorted(m for m in sys.modules if m.split('.')[0] == 'google')\n"
        "print(json.dumps({'import': a, 'discovery': b, 'gcs': 'gcs' in types}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"import": [], "discovery": [], "gcs": True}


def test_plugin_registers_type_schemes_and_the_reference_import() -> None:
    spec = get_plugin_host().backend_types()["gcs"]
    assert spec.schemes == ("gs", "gcs") and spec.package == "remote-store-gcs"
    assert spec.load() is remote_store_gcs.GCSBackend
    from remote_store.backends import GCSBackend

    assert GCSBackend is remote_store_gcs.GCSBackend
    caps = set(GCSBackend.CAPABILITIES)
    assert {Capability.WRITE_RESULT_NATIVE, Capability.USER_METADATA, Capability.LAZY_READ} <= caps
    assert Capability.ATOMIC_MOVE not in caps and Capability.HIERARCHICAL not in caps


@pytest.mark.parametrize(
    ("url", "options", "root"),
    [
        ("gs://data", {"bucket": "data"}, ""),
        ("gs://data/a/b/", {"bucket": "data"}, "a/b"),
        ("gcs://data/x%20y?project=p&anonymous=true", {"bucket": "data", "project": "p", "anonymous": "true"}, "x y"),
    ],
)
def test_url_parsing(url: str, options: dict[str, object], root: str) -> None:
    assert from_url(urllib.parse.urlsplit(url)) == (options, root)


@pytest.mark.parametrize("url", ["gs:///x", "gs://user:pw@bucket/x", "gs://b?project=a&project=b"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        from_url(urllib.parse.urlsplit(url))


def test_open_store_builds_a_gcs_store_from_a_url() -> None:
    store = remote_store.open_store("gs://bucket/reports?anonymous=true&endpoint=http://127.0.0.1:9&chunk_size=524288")
    backend = store.backend
    assert isinstance(backend, remote_store_gcs.GCSBackend)
    assert backend.gcs_options.chunk_size == 512 * 1024 and backend.gcs_options.anonymous
    assert store.native_path("a.txt") == "gs://bucket/reports/a.txt"


def test_options_secret_pickle_and_paths() -> None:
    b = remote_store_gcs.GCSBackend("box", credentials='{"private_key": "TOPSECRET"}', prefix="/a/b/")
    assert isinstance(b.options["credentials"], Secret)
    assert "TOPSECRET" not in repr(b) and "TOPSECRET" not in repr(remote_store.Store(b).resolve("k"))
    assert b.prefix == "a/b" and b.native_path("k/x.txt") == "gs://box/a/b/k/x.txt"
    clone = pickle.loads(pickle.dumps(b))
    assert clone.options == b.options
    c = remote_store_gcs.GCSBackend("box", prefix="a/b", anonymous=True)
    assert c.native_path("k/x.txt") == "gs://box/a/b/k/x.txt"
    assert c.to_key("gs://box/a/b/k/x.txt") == "k/x.txt" and c.to_key("a/b/k") == "k"
    for bad in ("gs://other/a/b/k", "gs://box/elsewhere/k", "gs://box/a/b/x//y"):
        with pytest.raises(InvalidPath):
            c.to_key(bad)
    assert remote_store_gcs.GCSBackend.from_options(c.gcs_options).gcs_options == c.gcs_options


@pytest.mark.parametrize(
    "options",
    [
        {"chunk_size": 300_000},  # not a multiple of 256 KiB
        {"chunk_size": 0},
        {"multipart_threshold": 1000},
        {"bucket": "Upper"},
        {"prefix": "a/../b"},
        {"retries": -1},
        {"connect_timeout": 0},
        {"anonymous": True, "credentials": "x.json"},
        {"no_such_option": 1},
        {"project": "p", "project_id": "p"},
    ],
)
def test_invalid_options_are_config_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        remote_store_gcs.GCSBackend(**{"bucket": "box", **options})


def test_aliases_and_string_values() -> None:
    o = remote_store_gcs.GCSOptions.from_mapping(
        {"bucket": "bkt", "part_size": "524288", "endpoint_url": "http://x:1", "path_checks": "true", "retries": "0"}
    )
    assert (o.chunk_size, o.endpoint, o.hierarchical, o.retries) == (512 * 1024, "http://x:1", True, 0)
    assert remote_store_gcs.GCSBackend.from_options(o).hierarchical


# ---------------------------------------------------------------------- error mapping
def _api_classes() -> list[type[BaseException]]:
    return [
        c
        for _, c in inspect.getmembers(gex, inspect.isclass)
        if issubclass(c, gex.GoogleAPIError) and c.__module__ == gex.__name__
    ]


def _instance(cls: type[BaseException]) -> BaseException:
    if issubclass(cls, gex.RetryError):
        return cls("gave up", gex.ServiceUnavailable("down"))
    return cls("message")


@pytest.mark.parametrize("cls", _api_classes(), ids=lambda c: c.__name__)
def test_every_api_core_exception_becomes_a_typed_error(cls: type[BaseException]) -> None:
    err = translate(_instance(cls), "k.txt", bucket="b")  # type: ignore[arg-type]
    assert isinstance(err, RemoteStoreError), cls


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (gex.NotFound("No such object: b/k.txt"), NotFound),
        (gex.NotFound("The specified bucket does not exist."), ConfigError),
        (gex.PreconditionFailed("At least one of the pre-conditions you specified did not hold."), AlreadyExists),
        (gex.Conflict("conflict"), AlreadyExists),
        (gex.Forbidden("denied"), PermissionDenied),
        (gex.Unauthorized("who"), PermissionDenied),
        (gex.InternalServerError("oops"), BackendUnavailable),
        (gex.ServiceUnavailable("down"), BackendUnavailable),
        (gex.DeadlineExceeded("slow"), BackendUnavailable),
        (gex.TooManyRequests("slow down"), BackendUnavailable),
        (gex.RetryError("gave up", gex.ServiceUnavailable("down")), BackendUnavailable),
        (gex.BadRequest("bad name"), InvalidPath),
        (gex.RequestRangeNotSatisfiable("range"), InvalidPath),
        (gex.MovedPermanently("moved"), RemoteStoreError),
        (gauth.RefreshError("invalid_grant"), PermissionDenied),
        (gauth.TransportError("dns"), BackendUnavailable),
        (gauth.DefaultCredentialsError("no ADC"), ConfigError),
        (ConnectionResetError("reset"), BackendUnavailable),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v.__name__,
)
def test_mapping(exc: BaseException, expected: type[RemoteStoreError]) -> None:
    err = translate(exc, "k.txt", bucket="b")
    assert type(err) is expected


def test_requests_and_resumable_media_errors_are_mapped() -> None:
    import requests
    from google.resumable_media import common

    assert isinstance(translate(requests.ConnectionError("refused"), "k", bucket="b"), BackendUnavailable)
    assert isinstance(translate(requests.Timeout("slow"), "k", bucket="b"), BackendUnavailable)
    assert isinstance(translate(common.DataCorruption(None, "crc32c mismatch"), "k", bucket="b"), BackendUnavailable)
    resp = requests.Response()
    resp.status_code = 404
    assert isinstance(translate(common.InvalidResponse(resp, "gone"), "k", bucket="b"), NotFound)
    assert translate(KeyError("not ours"), "k", bucket="b") is None


def test_scrub_masks_keys_tokens_and_given_secrets() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEabc\n-----END PRIVATE KEY-----"
    text = scrub(f'x {pem} "private_key": "abc" Bearer ya29.tok secretvalue', ["secretvalue"])
    for leak in ("MIIEabc", '"abc"', "ya29.tok", "secretvalue"):
        assert leak not in text


def test_missing_emulator_is_reported_with_where_it_looked(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import importlib.util

    from testing.servers import gcs

    monkeypatch.setenv("REMOTE_STORE_TOOLS", str(tmp_path))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(gcs.ServerUnavailable, match="fake-gcs-server not found") as err:
        gcs.emulator_binary()
    assert str(tmp_path) in str(err.value)


_SEGMENT = st.text(
    alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1
).filter(lambda t: t not in (".", ".."))


@settings(max_examples=60, deadline=None)
@given(prefix=st.lists(_SEGMENT, max_size=2), key=st.lists(_SEGMENT, min_size=1, max_size=4))
def test_native_path_and_to_key_round_trip(prefix: list[str], key: list[str]) -> None:
    b = remote_store_gcs.GCSBackend("box", prefix="/".join(prefix), anonymous=True)
    k = "/".join(key)
    native = b.native_path(k)
    assert native == "gs://box/" + "/".join([*prefix, *key])
    assert b.to_key(native) == k
    assert b.object_key(k) == native[len("gs://box/") :]
