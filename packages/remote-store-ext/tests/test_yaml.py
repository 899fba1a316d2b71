"""from_yaml and the ./remote-store.yaml config source (in-process host and the real entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import remote_store_ext._plugin as ext_plugin
from remote_store import PluginHost, Store, open_store, use_plugin_host
from remote_store.errors import ConfigError
from remote_store.ext.yaml import from_yaml

DOC = """
backends:
  mem:
    type: memory
    options: {name: "yaml-test-${SUFFIX:-x}"}
  disk:
    type: local
    options:
      root: "{root}"
stores:
  notes: {backend: mem, root: notes}
  files:
    backend: disk
    root_path: sub
"""


def write_doc(folder: Path, name: str = "remote-store.yaml") -> Path:
    path = folder / name
    path.write_text(DOC.replace("{root}", str(folder / "data")))
    return path


def test_from_yaml(tmp_path: Path) -> None:
    cfg = from_yaml(write_doc(tmp_path), environ={"SUFFIX": "1"})
    assert set(cfg.stores) == {"notes", "files"}
    assert cfg.backends["mem"].options["name"] == "yaml-test-1"
    nested = tmp_path / "nested.yaml"
    nested.write_text("tool:\n  remote-store:\n    backends: {m: {type: memory}}\n    stores: {s: {backend: m}}\n")
    assert set(from_yaml(nested, key="tool.remote-store").stores) == {"s"}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("backends: [unclosed", "invalid YAML"),
        ("- a list", "mapping"),
        ("backends: {}\nstores: {s: {backend: nope}}", "nope"),
        ("!!python/object/apply:os.system ['echo hacked']", "invalid YAML"),
    ],
)
def test_invalid_yaml_is_config_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        from_yaml(path, environ={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        from_yaml(tmp_path / "nope.yaml")
    (tmp_path / "e.yaml").write_text("a: {}\n")
    with pytest.raises(ConfigError, match=r"no 'a\.b'"):
        from_yaml(tmp_path / "e.yaml", key="a.b")


def test_open_store_finds_cwd_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_doc(tmp_path, "remote-store.yml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REMOTE_STORE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    host = PluginHost(load_entry_points=False)
    host.register(ext_plugin, "ext")
    with use_plugin_host(host):
        assert [s.name for s in host.config_sources()].index("cwd-yaml") == 2  # after env and cwd-toml
        store = open_store("files")
        assert isinstance(store, Store)
        store.write("a.txt", b"1")
        assert (tmp_path / "data" / "sub" / "a.txt").read_bytes() == b"1"
        (tmp_path / "remote-store.yml").unlink()
        assert ext_plugin.cwd_yaml() is None
        with pytest.raises(ConfigError, match="no store named"):
            open_store("files")


def test_toml_wins_over_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_doc(tmp_path)
    (tmp_path / "remote-store.toml").write_text(
        '[backends.t]\ntype = "memory"\n[stores.notes]\nbackend = "t"\nroot = "from-toml"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REMOTE_STORE_CONFIG", raising=False)
    host = PluginHost(load_entry_points=False)
    host.register(ext_plugin, "ext")
    with use_plugin_host(host):
        assert open_store("notes").root_path == "from-toml"
        assert open_store("files").root_path == "sub"  # only the YAML file defines it


def test_real_entry_point_in_subprocess(tmp_path: Path) -> None:
    write_doc(tmp_path)
    code = (
        "import json, remote_store, sys\n"
        "s = remote_store.open_store('files')\n"
        "s.write('x.txt', b'ok')\n"
        "names = [p.name for p in remote_store.plugins()]\n"
        "print(json.dumps({'root': s.root_path, 'yaml': 'yaml' in sys.modules, 'ext': 'ext' in names}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"root": "sub", "yaml": True, "ext": True}
    assert (tmp_path / "data" / "sub" / "x.txt").read_bytes() == b"ok"


def test_plugin_discovery_does_not_import_yaml() -> None:
    code = (
        "import sys, remote_store\n"
        "remote_store.plugins(); remote_store.get_plugin_host().config_sources()\n"
        "print('yaml' in sys.modules, 'remote_store_ext.yaml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_yaml_without_pyyaml_names_the_extra(tmp_path: Path) -> None:
    write_doc(tmp_path)
    code = (
        "import sys\n"
        "sys.modules['yaml'] = None\n"
        "try:\n"
        "    import remote_store.ext.yaml\n"
        "except ModuleNotFoundError as exc:\n"
        "    print('import:', exc)\n"
        "import remote_store\n"
        "try:\n"
        "    remote_store.open_store('files')\n"
        "except remote_store.ConfigError as exc:\n"
        "    print('open:', exc)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, check=True
    )
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("import:") and 'pip install "remote-store-ext[yaml]"' in lines[0]
    assert lines[1].startswith("open:") and "remote-store-ext[yaml]" in lines[1]
