"""Package surface, plugin registration, import hygiene and option/metadata helpers (no server)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse

import pytest

import remote_store_azure
from remote_store import Capability, Secret, get_plugin_host
from remote_store_azure._errors import redact
from remote_store_azure._metadata import reported_metadata, split_metadata
from remote_store_azure._plugin import azure_from_url


def test_public_surface_is_exactly_all() -> None:
    assert remote_store_azure.__all__ == sorted(remote_store_azure.__all__)
    assert set(remote_store_azure.__all__) == {"AzureBackend", "AzureOptions"}
    public = {n for n in dir(remote_store_azure) if not n.startswith("_")} - {"annotations", "TYPE_CHECKING", "Any"}
    assert public <= set(remote_store_azure.__all__)
    for name in remote_store_azure.__all__:
        assert getattr(remote_store_azure, name).__name__ == name


def test_import_and_discovery_do_not_import_the_sdk() -> None:
    code = (
        "import json, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "import remote_store_azure, remote_store\n"
        "a = sorted(m for m in sys.modules if m.split('.')[0] == 'azure')\n"
        "types = remote_store.get_plugin_host().backend_types()\n"
        "b = sorted(m for m in sys.modules if m.split('.')[0] == 'azure')\n"
        "print(json.dumps({'import': a, 'discovery': b, 'azure': 'azure' in types}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"import": [], "discovery": [], "azure": True}


def test_plugin_registers_type_and_schemes() -> None:
    spec = get_plugin_host().backend_types()["azure"]
    assert spec.schemes == ("az", "azure")
    assert spec.package == "remote-store-azure"
    cls = spec.load()
    assert cls is remote_store_azure.AzureBackend
    assert Capability.ATOMIC_MOVE not in cls.CAPABILITIES
    assert {Capability.WRITE_RESULT_NATIVE, Capability.USER_METADATA, Capability.LAZY_READ} <= set(cls.CAPABILITIES)


@pytest.mark.parametrize(
    ("url", "options", "root"),
    [
        ("az://data", {"container": "data"}, ""),
        ("az://data/a/b/", {"container": "data"}, "a/b"),
        ("azure://data@acct/x", {"container": "data", "account_name": "acct"}, "x"),
        ("az://data@acct.blob.core.windows.net/x%20y", {"container": "data", "account_name": "acct"}, "x y"),
    ],
)
def test_url_parsing(url: str, options: dict[str, object], root: str) -> None:
    assert azure_from_url(urllib.parse.urlsplit(url)) == (options, root)


def test_options_wrap_secrets_and_omit_defaults() -> None:
    b = remote_store_azure.AzureBackend("box", account_name="acct", account_key="c2VjcmV0", prefix="/a//b/")
    assert b.options == {"container": "box", "account_name": "acct", "prefix": "a/b", "account_key": Secret("c2VjcmV0")}
    assert "c2VjcmV0" not in repr(b)
    assert b.native_path("k/x.txt") == "az://box/a/b/k/x.txt"
    assert b.to_key("az://box/a/b/k/x.txt") == "k/x.txt"
    opts = remote_store_azure.AzureOptions(container="box", account_name="acct")
    assert remote_store_azure.AzureBackend.from_options(opts).azure_options == opts


@pytest.mark.parametrize("meta", [{}, {"a": "1", "B_2": "x y"}, {"_under": "v=1;w=2", "Owner": "~!@#$%^&*()"}])
def test_metadata_that_fits_azure_is_stored_unchanged(meta: dict[str, str]) -> None:
    stored, encoding = split_metadata(meta)
    assert stored == meta and encoding is None
    assert reported_metadata(stored, None) == meta


@pytest.mark.parametrize(
    ("meta", "rule"),
    [
        ({"with-dash": "v"}, "C# identifiers"),
        ({"ünï": "v"}, "C# identifiers"),
        ({"": "empty name"}, "C# identifiers"),
        ({"9lives": "v"}, "C# identifiers"),
        ({"k": "çödé"}, "printable ASCII"),
        ({"k": " lead"}, "leading or trailing whitespace"),
        ({"k": "multi\nline"}, "printable ASCII"),
        ({"Owner": "a", "owner": "b"}, "case"),
        ({"big": "x" * 9000}, "8 KiB"),
    ],
)
def test_metadata_azure_cannot_store_is_refused_naming_the_rule(meta: dict[str, str], rule: str) -> None:
    from remote_store.errors import InvalidPath

    with pytest.raises(InvalidPath, match=rule):
        split_metadata(meta, key="k.txt")


def test_content_encoding_is_a_property_not_user_metadata() -> None:
    stored, encoding = split_metadata({"owner": "me", "Content-Encoding": "gzip"})
    assert stored == {"owner": "me"} and encoding == "gzip"
    assert reported_metadata(stored, encoding) == {"owner": "me", "Content-Encoding": "gzip"}


@pytest.mark.parametrize(
    ("key", "odd"),
    [
        ("a/b.txt", False),
        ("..x/y", False),
        ("a/.hidden", False),
        ("a//b", True),
        ("/lead", True),
        ("dir/", True),
        ("a/./b", True),
        ("a/../b", True),
        ("..", True),
        (".", True),
        ("a/..", True),
    ],
)
def test_unaddressable_blob_names(key: str, odd: bool) -> None:
    from remote_store_azure._names import unaddressable

    assert unaddressable(key) is odd


def test_redact_removes_sas_and_keys() -> None:
    text = "GET https://a.blob.core.windows.net/c/x?sv=2020&sig=abc%2Fdef&se=1 AccountKey=Zm9v;x"
    out = redact(text)
    assert "abc%2Fdef" not in out and "Zm9v" not in out
    assert "sig=REDACTED" in out and "AccountKey=REDACTED" in out
