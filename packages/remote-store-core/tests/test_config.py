"""RegistryConfig parsing, env placeholders and secret wrapping."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from remote_store import BackendConfig, ConfigError, Registry, RegistryConfig, Secret, resolve_env


def test_from_dict_builds_typed_config() -> None:
    cfg = RegistryConfig.from_dict(
        {
            "backends": {"main": {"type": "local", "options": {"root": "/tmp/x"}}},
            "stores": {"data": {"backend": "main", "root": "/reports/"}, "all": {"backend": "main"}},
        }
    )
    assert cfg.backends["main"].type == "local"
    assert cfg.stores["data"].root_path == "reports"
    assert cfg.stores["all"].root_path == ""
    with pytest.raises(TypeError):
        cfg.backends["x"] = BackendConfig("local")  # type: ignore[index]


def test_store_naming_unknown_backend_names_key_path() -> None:
    with pytest.raises(ConfigError) as ei:
        RegistryConfig.from_dict({"backends": {}, "stores": {"s": {"backend": "nope"}}})
    assert "stores.s.backend" in str(ei.value)
    assert "nope" in str(ei.value)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"backend": {}}, "unknown top-level"),
        ({"backends": {"b": {"options": {}}}}, "backends.b.type"),
        ({"backends": {"b": {"type": "local", "options": 3}}}, "backends.b.options"),
        ({"backends": {"b": {"type": "local", "extra": 1}}}, "backends.b"),
        (
            {"backends": {"b": {"type": "local"}}, "stores": {"s": {"backend": "b", "root_path": 5}}},
            "stores.s.root_path",
        ),
        (
            {"backends": {"b": {"type": "local"}}, "stores": {"s": {"backend": "b", "root_path": "../x"}}},
            "stores.s.root_path",
        ),
        (
            {"backends": {"b": {"type": "local"}}, "stores": {"s": {"backend": "b", "middleware": "x"}}},
            "stores.s.middleware",
        ),
        (
            {"backends": {"b": {"type": "local"}}, "stores": {"s": {"backend": "b", "middleware": [3]}}},
            "stores.s.middleware[0]",
        ),
    ],
)
def test_invalid_config_names_the_key(data: dict[str, object], where: str) -> None:
    with pytest.raises(ConfigError) as ei:
        RegistryConfig.from_dict(data)
    assert where in str(ei.value)


def test_middleware_entries() -> None:
    cfg = RegistryConfig.from_dict(
        {
            "backends": {"b": {"type": "memory"}},
            "stores": {"s": {"backend": "b", "middleware": ["observe", {"name": "cache", "options": {"size": 3}}]}},
        }
    )
    mw = cfg.stores["s"].middleware
    assert [m.name for m in mw] == ["observe", "cache"]
    assert dict(mw[1].options) == {"size": 3}


def test_env_placeholders() -> None:
    env = {"BUCKET": "b1", "EMPTY": ""}
    data = {
        "a": "${BUCKET}",
        "b": "x-${MISSING:-dflt}-y",
        "c": "$${BUCKET}",
        "d": ["${EMPTY}", 3],
        "e": {"f": "${BUCKET}"},
    }
    assert resolve_env(data, environ=env) == {
        "a": "b1",
        "b": "x-dflt-y",
        "c": "${BUCKET}",
        "d": ["", 3],
        "e": {"f": "b1"},
    }


def test_missing_env_var_names_key_path_and_file(tmp_path: Path) -> None:
    f = tmp_path / "rs.toml"
    f.write_text('[backends.main]\ntype = "s3"\noptions.bucket = "${NO_SUCH_VAR_RS}"\n')
    cfg = RegistryConfig.from_toml(f, environ={})  # deferred: only this backend's stores fail
    with pytest.raises(ConfigError) as ei:
        Registry(cfg).get_backend("main")
    msg = str(ei.value)
    assert "NO_SUCH_VAR_RS" in msg and "backends.main.options.bucket" in msg and str(f) in msg


def test_secrets_are_wrapped_and_masked() -> None:
    cfg = RegistryConfig.from_dict(
        {
            "backends": {
                "s3": {
                    "type": "s3",
                    "options": {
                        "bucket": "b",
                        "secret_key": "SUPERSECRET1",
                        "access_key": "AKIAXXXX",
                        "nested": {"password": "pw-SECRET-2"},
                    },
                },
                "db": {"type": "sql-blob", "options": {"url": "postgresql://u:SECRETPW3@h/db"}},
                "db2": {"type": "sql-blob", "options": {"url": "sqlite:///x.db"}},
            }
        }
    )
    opts = cfg.backends["s3"].options
    assert isinstance(opts["secret_key"], Secret) and opts["secret_key"].reveal() == "SUPERSECRET1"
    assert isinstance(opts["access_key"], Secret)
    assert isinstance(opts["nested"]["password"], Secret)
    assert isinstance(cfg.backends["db"].options["url"], Secret)
    assert cfg.backends["db2"].options["url"] == "sqlite:///x.db"
    shown = repr(cfg) + str(cfg) + repr(cfg.to_dict())
    for secret in ("SUPERSECRET1", "AKIAXXXX", "pw-SECRET-2", "SECRETPW3"):
        assert secret not in shown
    assert cfg.to_dict(mask=False)["backends"]["s3"]["options"]["secret_key"] == "SUPERSECRET1"


def test_secret_value_semantics() -> None:
    s = Secret("abc")
    assert repr(s) == "Secret('**********')" and str(s) == "**********" and "abc" not in f"{s}{s!r}"
    assert s == Secret("abc") and s != Secret("abd") and hash(s) == hash(Secret("abc"))
    assert pickle.loads(pickle.dumps(s)).reveal() == "abc"
    assert Secret(s).reveal() == "abc"
    with pytest.raises(TypeError):
        Secret(3)  # type: ignore[arg-type]


def test_from_toml_with_table_and_errors(tmp_path: Path) -> None:
    py = tmp_path / "pyproject.toml"
    py.write_text('[tool.remote-store.backends.m]\ntype = "memory"\n[tool.remote-store.stores.s]\nbackend = "m"\n')
    cfg = RegistryConfig.from_toml(py, table="tool.remote-store")
    assert cfg.source == str(py) and "s" in cfg.stores
    with pytest.raises(ConfigError, match="not found"):
        RegistryConfig.from_toml(py, table="tool.other")
    with pytest.raises(ConfigError, match="not found"):
        RegistryConfig.from_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[backends\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        RegistryConfig.from_toml(bad)


def test_config_pickles_with_secrets() -> None:
    cfg = RegistryConfig.from_dict(
        {"backends": {"b": {"type": "memory", "options": {"token": "T0KEN"}}}, "stores": {"s": {"backend": "b"}}}
    )
    again = pickle.loads(pickle.dumps(cfg))
    assert again == cfg
    assert isinstance(again.backends["b"].options["token"], Secret)
