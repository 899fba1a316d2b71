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


def test_options_value_accepts_the_former_names_and_reads_them_back() -> None:
    from remote_store.errors import ConfigError
    from remote_store_azure._options import AzureOptions

    old = AzureOptions(container="box", account_name="acct", retry_total=5, connection_timeout=3, strict_paths=True)
    new = AzureOptions(container="box", account_name="acct", retries=5, connect_timeout=3.0, hierarchical=True)
    assert old == new and old.retry_total == 5 and old.connection_timeout == 3.0
    assert AzureOptions.from_mapping({"container": "box", "account_name": "acct", "retries": "5"}).retries == 5
    with pytest.raises(ConfigError) as info:
        AzureOptions(container="box", account_name="acct", retries=1, retry_total=2)
    assert info.value.path == "retries"


def test_ranged_body_grows_its_ranges_and_ends_early_when_the_blob_changes() -> None:
    from remote_store.errors import ContentChanged
    from remote_store_azure._blobs import RangedBody

    blob = bytes(range(256)) * 40  # 10,240 bytes
    asked: list[tuple[int, int]] = []

    def fetch(start: int, n: int) -> bytes:
        asked.append((start, n))
        return blob[start : start + n]

    body = RangedBody(fetch, 0, len(blob), 1000, 4000)
    assert asked == []  # lazy: nothing before the first read
    got = b""
    while chunk := body.read(700):
        got += chunk
    assert got == blob
    assert [n for _, n in asked] == [1000, 2000, 4000, 3240]  # doubling up to the cap, then the rest

    def changed(start: int, n: int) -> bytes:
        if start:
            raise ContentChanged("replaced")
        return blob[:n]

    body = RangedBody(changed, 0, len(blob), 1000, 4000)
    assert body.read(5000) == blob[:1000]
    assert body.read(5000) == b""  # ended early: the kit's reader decides (follow or ContentChanged)


def test_ordered_md5_hashes_blocks_in_order_whatever_order_they_arrive() -> None:
    import hashlib
    import threading

    from remote_store_azure._blobs import OrderedMD5

    blocks = [bytes([i]) * 1000 for i in range(1, 9)]
    md5 = OrderedMD5()
    threads = [threading.Thread(target=md5.update, args=(n, blocks[n - 1])) for n in range(8, 0, -1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert md5.digest() == hashlib.md5(b"".join(blocks), usedforsecurity=False).digest()


@pytest.mark.parametrize("native", ["az://box/a/b/x//y", "az://box/other/x", "s3://box/a/b/x"])
def test_to_key_refuses_what_no_store_path_can_name(native: str) -> None:
    from remote_store.errors import InvalidPath

    b = remote_store_azure.AzureBackend("box", account_name="acct", prefix="a/b")
    with pytest.raises(InvalidPath):
        b.to_key(native)
    assert b.to_key("az://box/a/b") == ""
