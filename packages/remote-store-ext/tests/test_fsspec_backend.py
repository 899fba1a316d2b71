"""``type = "fsspec"``: the conformance suite on fsspec's memory and local file systems, plus
what it cannot express (config, secrets, pickling, staging files)."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from remote_store import Secret, Store, open_store
from remote_store.errors import ConfigError, InvalidPath
from remote_store_conformance import BackendConformance
from remote_store_ext.fsspec_backend import TEMP_PREFIX, FsspecBackend


class TestFsspecMemoryConformance(BackendConformance):
    """fsspec's in-process memory file system (one unique root per test)."""

    shares_state_across_processes = False

    @pytest.fixture
    def backend(self) -> Iterator[FsspecBackend]:
        root = f"/conf-{uuid.uuid4().hex}"
        b = FsspecBackend("memory", root)
        yield b
        try:
            b.fs.rm(root, recursive=True)
        except FileNotFoundError:
            pass
        b.close()


class TestFsspecLocalConformance(BackendConformance):
    """fsspec's local file system in a fresh folder."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[FsspecBackend]:
        root = tmp_path / "fsroot"
        root.mkdir()
        b = FsspecBackend("file", str(root))
        yield b
        b.close()


def test_open_store_type_fsspec_from_toml(tmp_path: Path) -> None:
    cfg = tmp_path / "remote-store.toml"
    cfg.write_text(
        f"""
[backends.disk]
type = "fsspec"
options = {{ protocol = "file", root = "{tmp_path / "data"}", storage_options = {{ auto_mkdir = true }} }}

[stores.raw]
backend = "disk"
root_path = "raw"
"""
    )
    (tmp_path / "data").mkdir()
    store = open_store("raw", config=cfg)
    store.write("2024/a.csv", b"x,y\n1,2\n")
    assert (tmp_path / "data" / "raw" / "2024" / "a.csv").read_bytes() == b"x,y\n1,2\n"
    assert [i.path for i in store.list_files("", recursive=True)] == ["2024/a.csv"]
    assert store.backend.type_name == "fsspec"
    store.close()


def test_credentials_are_secrets_and_never_shown() -> None:
    b = FsspecBackend(
        "memory",
        "/sec",
        {"key": "AKIA-canary", "secret": "s3cr3t-canary", "client_kwargs": {"sas_token": "sas-canary"}, "anon": False},
    )
    opts = b.options["storage_options"]
    assert isinstance(opts["key"], Secret) and isinstance(opts["secret"], Secret)
    assert isinstance(opts["client_kwargs"]["sas_token"], Secret)
    assert opts["anon"] is False
    shown = repr(b) + repr(Store(b)) + repr(Store(b).resolve("x"))
    for canary in ("AKIA-canary", "s3cr3t-canary", "sas-canary"):
        assert canary not in shown
    clone = pickle.loads(pickle.dumps(b))
    assert clone.options["storage_options"]["secret"].reveal() == "s3cr3t-canary"


def test_failed_write_leaves_old_file_and_no_staging_file(tmp_path: Path) -> None:
    store = Store(FsspecBackend("file", str(tmp_path)))
    store.write("f.bin", b"old")

    def broken() -> Iterator[bytes]:
        yield b"new-partial"
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError):
        store.write("f.bin", broken(), overwrite=True)
    assert store.read_bytes("f.bin") == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.rglob("*"))


def test_staging_files_are_never_listed(tmp_path: Path) -> None:
    (tmp_path / f"{TEMP_PREFIX}abc-x.bin").write_bytes(b"leftover")
    store = Store(FsspecBackend("file", str(tmp_path)))
    store.write("x.bin", b"1")
    assert [i.path for i in store.list_files("")] == ["x.bin"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"protocol": ""}, "protocol"),
        ({"protocol": "memory", "root": 3}, "root"),
        ({"protocol": "memory", "storage_options": [1]}, "storage_options"),
    ],
)
def test_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        FsspecBackend(**kwargs)  # type: ignore[arg-type]


def test_unknown_protocol_is_config_error_on_first_use() -> None:
    store = Store(FsspecBackend("no-such-protocol-xyz"))
    with pytest.raises(ConfigError, match="no-such-protocol-xyz"):
        store.exists("a")


def test_native_path_round_trip_and_outside_root(tmp_path: Path) -> None:
    b = FsspecBackend("file", str(tmp_path / "r"))
    store = Store(b)
    native = store.native_path("a/b.txt")
    assert store.to_key(native) == "a/b.txt"
    with pytest.raises(InvalidPath):
        store.to_key(str(tmp_path / "elsewhere" / "b.txt"))
