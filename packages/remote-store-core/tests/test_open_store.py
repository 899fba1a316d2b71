"""open_store: config-source order and URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

import remote_store
from remote_store import ConfigError, PluginHost
from remote_store.backends import LocalBackend, MemoryBackend


def _toml(path: Path, store: str, root: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[backends.b]\ntype = "local"\noptions.root = "{root}"\n[stores.{store}]\nbackend = "b"\n')


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plugin_host: PluginHost) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REMOTE_STORE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_source_order(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the same store name in every source: the earliest source wins
    _toml(isolated / "xdg" / "remote-store" / "config.toml", "s", isolated / "user")
    assert remote_store.open_store("s").backend.options["root"] == str(isolated / "user")
    (isolated / "pyproject.toml").write_text(
        f'[tool.remote-store.backends.b]\ntype = "local"\noptions.root = "{isolated / "pyproj"}"\n'
        '[tool.remote-store.stores.s]\nbackend = "b"\n'
    )
    assert remote_store.open_store("s").backend.options["root"] == str(isolated / "pyproj")
    _toml(isolated / "remote-store.toml", "s", isolated / "cwd")
    assert remote_store.open_store("s").backend.options["root"] == str(isolated / "cwd")
    _toml(isolated / "env.toml", "s", isolated / "env")
    monkeypatch.setenv("REMOTE_STORE_CONFIG", str(isolated / "env.toml"))
    assert remote_store.open_store("s").backend.options["root"] == str(isolated / "env")


def test_later_source_used_when_earlier_lacks_name(isolated: Path) -> None:
    _toml(isolated / "remote-store.toml", "other", isolated / "cwd")
    _toml(isolated / "xdg" / "remote-store" / "config.toml", "s", isolated / "user")
    assert remote_store.open_store("s").backend.options["root"] == str(isolated / "user")


def test_unknown_name_lists_sources(isolated: Path) -> None:
    _toml(isolated / "remote-store.toml", "other", isolated / "cwd")
    with pytest.raises(ConfigError) as ei:
        remote_store.open_store("nope")
    assert "cwd-toml" in str(ei.value)


def test_invalid_file_names_file(isolated: Path) -> None:
    (isolated / "remote-store.toml").write_text("[stores.s]\nbackend = 'missing'\n")
    with pytest.raises(ConfigError) as ei:
        remote_store.open_store("s")
    assert "remote-store.toml" in str(ei.value) and "stores.s.backend" in str(ei.value)


def test_explicit_config_forms(isolated: Path) -> None:
    _toml(isolated / "c.toml", "s", isolated / "explicit")
    assert isinstance(remote_store.open_store("s", config=isolated / "c.toml").backend, LocalBackend)
    data = {"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m", "root_path": "r"}}}
    store = remote_store.open_store("s", config=data)
    assert isinstance(store.backend, MemoryBackend) and store.root_path == "r"


def test_urls(isolated: Path) -> None:
    store = remote_store.open_store(f"file://{isolated}/data/sub")
    store.write("a.txt", b"1")
    assert (isolated / "data" / "sub" / "a.txt").read_bytes() == b"1"
    m1 = remote_store.open_store("memory://shared-ns/p")
    m1.write("x", b"y")
    assert remote_store.open_store("memory://shared-ns").read_bytes("p/x") == b"y"


def test_unknown_scheme_hints(isolated: Path) -> None:
    with pytest.raises(ConfigError, match="pip install remote-store-sftp"):
        remote_store.open_store("sftp://host/x")
    with pytest.raises(ConfigError, match="no installed backend opens 'zz://'"):
        remote_store.open_store("zz://x")


def test_store_context_manager_closes_backend(isolated: Path) -> None:
    with remote_store.open_store(f"file://{isolated}/cm") as store:
        store.write("f", b"1")
        backend = store.backend
    assert isinstance(backend, LocalBackend) and backend._fd is None
