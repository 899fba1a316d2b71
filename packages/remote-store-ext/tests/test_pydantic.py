"""`from_pydantic` / `register_settings` with real pydantic-settings models (env-driven)."""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pydantic_settings")

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from remote_store import PluginHost, Registry, Secret, Store, open_store, use_plugin_host
from remote_store.errors import ConfigError, ConfigKeyError
from remote_store_ext.pydantic import from_pydantic, register_settings, unregister_settings


class LocalOptions(BaseModel):
    root: str
    api_token: SecretStr | None = None  # not needed by local: only to see it wrapped


class BackendModel(BaseModel):
    type: str
    options: dict[str, object] = {}


class StoreModel(BaseModel):
    backend: str
    root_path: str = ""


class AppSettings(BaseSettings):
    """An app's settings: the store config is read from RS_APP_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="RS_APP_", env_nested_delimiter="__")

    backends: dict[str, BackendModel] = {}
    stores: dict[str, StoreModel] = {}


class Storage(BaseModel):
    backends: dict[str, dict[str, object]] = {}
    stores: dict[str, dict[str, str]] = {}


class NestedSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RS_NESTED_")

    debug: bool = False
    remote_store: Storage = Storage()


@pytest.fixture
def host() -> Iterator[PluginHost]:
    h = PluginHost(load_entry_points=False)
    with use_plugin_host(h):
        yield h


def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppSettings:
    monkeypatch.setenv(
        "RS_APP_BACKENDS",
        '{"disk": {"type": "local", "options": {"root": "%s", "password": "${RS_APP_TEST_PW:-}"}}}' % (tmp_path / "d"),
    )
    monkeypatch.setenv("RS_APP_STORES", '{"reports": {"backend": "disk", "root_path": "reports"}}')
    return AppSettings()


def test_from_pydantic_reads_an_env_driven_settings_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path, monkeypatch)
    cfg = from_pydantic(settings)
    assert cfg.source == "pydantic settings AppSettings"
    assert cfg.backends["disk"].options["root"] == str(tmp_path / "d")
    assert "password" not in cfg.backends["disk"].options  # ${VAR:-} unset: an empty credential is left out
    with Registry(cfg) as reg:
        store = reg.get_store("reports")
        store.write("q1.csv", b"a,b\n")
    assert (tmp_path / "d" / "reports" / "q1.csv").read_bytes() == b"a,b\n"
    monkeypatch.setenv("RS_APP_TEST_PW", "pw-from-env")
    assert from_pydantic(settings).backends["disk"].options["password"] == Secret("pw-from-env")


def test_secretstr_becomes_secret_whatever_the_key(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Opts(BaseModel):
        root: str
        innocent_name: SecretStr  # not a credential-looking key: wrapped because it is a SecretStr
        from_env: SecretStr

    class B(BaseModel):
        type: str = "memory"
        options: Opts

    class S(BaseSettings):
        backends: dict[str, B]
        stores: dict[str, dict[str, str]] = {}

    settings = S(
        backends={
            "m": B(
                options=Opts(
                    root=str(tmp_path), innocent_name=SecretStr("s3cr3t-v4lue"), from_env=SecretStr("${RS_T_SECRET}")
                )
            )
        }
    )
    cfg = from_pydantic(settings, environ={"RS_T_SECRET": "resolved-s3cr3t"})
    opts = cfg.backends["m"].options
    assert opts["innocent_name"] == Secret("s3cr3t-v4lue") and isinstance(opts["innocent_name"], Secret)
    assert opts["from_env"] == Secret("resolved-s3cr3t")  # ${VAR} resolved inside a SecretStr too
    assert "s3cr3t" not in repr(cfg) and "s3cr3t" not in str(cfg.to_dict())
    with caplog.at_level(logging.WARNING, logger="remote_store"):
        logging.getLogger("remote_store").warning("value %s", "s3cr3t-v4lue")
    assert "s3cr3t-v4lue" not in caplog.text  # registered for log redaction
    clone = pickle.loads(pickle.dumps(cfg))
    assert clone.backends["m"].options["innocent_name"] == Secret("s3cr3t-v4lue")


def test_unset_variable_fails_only_its_backend(tmp_path: Path) -> None:
    settings = NestedSettings(
        remote_store=Storage(
            backends={
                "ok": {"type": "local", "options": {"root": str(tmp_path)}},
                "bad": {"type": "local", "options": {"root": "${RS_T_UNSET_ROOT}"}},
            },
            stores={"good": {"backend": "ok"}, "broken": {"backend": "bad"}},
        )
    )
    cfg = from_pydantic(settings, environ={})
    assert cfg.source == "pydantic settings NestedSettings.remote_store"
    reg = Registry(cfg)
    reg.get_store("good").write("a.txt", b"A")
    with pytest.raises(ConfigKeyError) as info:
        reg.get_store("broken")
    assert "store 'broken'" in str(info.value) and "RS_T_UNSET_ROOT" in str(info.value)
    assert "backends.bad.options.root" in str(info.value)


def test_field_argument_and_bad_input(tmp_path: Path) -> None:
    class Outer(BaseSettings):
        storage: Storage = Storage(backends={"m": {"type": "memory"}}, stores={"s": {"backend": "m"}})

    assert set(from_pydantic(Outer(), field="storage").stores) == {"s"}
    with pytest.raises(ConfigError, match="no 'backends'/'stores' fields"):
        from_pydantic(Outer())
    with pytest.raises(ConfigError, match="no field 'nope'"):
        from_pydantic(Outer(), field="nope")
    with pytest.raises(ConfigError, match="pydantic model"):
        from_pydantic({"backends": {}})
    bad = NestedSettings(remote_store=Storage(stores={"s": {"backend": "missing"}}))
    with pytest.raises(ConfigError, match=r"stores\.s\.backend names unknown backend 'missing'"):
        from_pydantic(bad)


def test_register_settings_lets_open_store_find_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: PluginHost
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REMOTE_STORE_CONFIG", raising=False)
    settings = _settings(tmp_path, monkeypatch)
    source = register_settings(settings)
    assert source.name == "pydantic" and source.priority == 15
    names = [s.name for s in host.config_sources()]
    assert names.index("pydantic") < names.index("cwd-toml") and names.index("env") < names.index("pydantic")
    with open_store("reports") as store:
        assert isinstance(store, Store)
        store.write("x.txt", b"X")
    assert (tmp_path / "d" / "reports" / "x.txt").read_bytes() == b"X"
    with pytest.raises(ConfigKeyError, match="did you mean 'reports'"):
        open_store("reprots")
    # Re-registering under the same name replaces the model; a changed model is seen at the next look-up.
    settings.stores["extra"] = settings.stores["reports"].model_copy(update={"root_path": "extra"})
    register_settings(settings)
    assert [s.name for s in host.config_sources()].count("pydantic") == 1
    assert open_store("extra").root_path == "extra"
    assert unregister_settings() is True and unregister_settings() is False
    with pytest.raises(ConfigKeyError):
        open_store("reports")


def test_toml_file_named_by_env_wins_over_registered_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: PluginHost
) -> None:
    monkeypatch.chdir(tmp_path)
    register_settings(_settings(tmp_path, monkeypatch))
    f = tmp_path / "ops.toml"
    f.write_text(
        f'[backends.o]\ntype = "local"\noptions.root = "{tmp_path / "ops"}"\n[stores.reports]\nbackend = "o"\n'
    )
    monkeypatch.setenv("REMOTE_STORE_CONFIG", str(f))
    with open_store("reports") as store:
        store.write("y.txt", b"Y")
    assert (tmp_path / "ops" / "y.txt").read_bytes() == b"Y"


def test_register_settings_rejects_a_model_without_stores(host: PluginHost) -> None:
    class Nothing(BaseSettings):
        debug: bool = False

    with pytest.raises(ConfigError):
        register_settings(Nothing())
    with pytest.raises(ConfigError):
        register_settings(object())
    assert "pydantic" not in [s.name for s in host.config_sources()]


def test_reference_import_path_and_missing_extra(tmp_path: Path) -> None:
    from remote_store.ext import pydantic as alias

    assert alias.from_pydantic is from_pydantic
    code = (
        "import sys\n"
        "sys.modules['pydantic'] = None\n"
        "try:\n"
        "    import remote_store.ext.pydantic\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert 'pip install "remote-store-ext[pydantic]"' in out.stdout
