"""Config rough edges a new user hits (issue 18): per-backend ``${VAR}``, empty credentials,
"did you mean" for store names / backend types / options, missing options, ``file://host``."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remote_store import BackendConfig, ConfigError, Registry, RegistryConfig, Secret, open_store
from remote_store.errors import ConfigKeyError


def _two_backends(tmp_path: Path) -> Path:
    f = tmp_path / "rs.toml"
    f.write_text(
        f"""
[backends.disk]
type = "local"
options.root = "{tmp_path / "data"}"

[backends.cloud]
type = "local"
options.root = "${{RS_TEST_UNSET_ROOT}}"
options.create_root = false

[stores.mine]
backend = "disk"

[stores.remote]
backend = "cloud"

[stores.wrapped]
backend = "disk"
middleware = [{{name = "x", options = {{token = "${{RS_TEST_UNSET_TOKEN}}"}}}}]
"""
    )
    return f


def test_unset_variable_fails_only_the_stores_on_that_backend(tmp_path: Path) -> None:
    f = _two_backends(tmp_path)
    cfg = RegistryConfig.from_toml(f, environ={})
    with Registry(cfg) as reg:
        store = reg.get_store("mine")
        store.write("a.txt", b"ok")
        assert store.read_bytes("a.txt") == b"ok"
        with pytest.raises(ConfigKeyError) as info:
            reg.get_store("remote")
        msg = str(info.value)
        assert "store 'remote'" in msg and "backend 'cloud'" in msg
        assert "RS_TEST_UNSET_ROOT" in msg and "backends.cloud.options.root" in msg and str(f) in msg
        with pytest.raises(ConfigKeyError, match="RS_TEST_UNSET_ROOT"):
            reg.get_backend("cloud")
        with pytest.raises(ConfigKeyError) as info2:
            reg.get_store("wrapped")  # a store table's own placeholder fails only that store
        assert "store 'wrapped'" in str(info2.value) and "stores.wrapped.middleware[0].options.token" in str(
            info2.value
        )


def test_set_variables_resolve_per_backend(tmp_path: Path) -> None:
    cfg = RegistryConfig.from_toml(
        _two_backends(tmp_path), environ={"RS_TEST_UNSET_ROOT": str(tmp_path / "c"), "RS_TEST_UNSET_TOKEN": "t"}
    )
    assert cfg.backends["cloud"].options["root"] == str(tmp_path / "c")
    assert cfg.backends["cloud"].env_error is None
    assert cfg.stores["wrapped"].middleware[0].options["token"] == Secret("t")


def test_env_error_survives_pickling() -> None:
    cfg = RegistryConfig.from_dict(
        {
            "backends": {"b": {"type": "memory", "options": {"name": "${RS_TEST_UNSET_N}"}}},
            "stores": {"s": {"backend": "b"}},
        },
        environ={},
    )
    clone = pickle.loads(pickle.dumps(cfg))
    assert clone.backends["b"].env_error == cfg.backends["b"].env_error is not None
    with pytest.raises(ConfigKeyError, match="RS_TEST_UNSET_N"):
        Registry(clone).get_store("s")


def test_empty_credential_is_left_out_not_an_empty_secret() -> None:
    cfg = RegistryConfig.from_dict(
        {
            "backends": {
                "b": {
                    "type": "memory",
                    "options": {
                        "password": "${RS_TEST_UNSET_PW:-}",
                        "nested": {"secret_access_key": ""},
                        "prefix": "${RS_TEST_UNSET_P:-}",
                    },
                }
            }
        },
        environ={},
    )
    opts = cfg.backends["b"].options
    assert "password" not in opts and dict(opts["nested"]) == {}
    assert opts["prefix"] == ""  # non-credential empty strings are kept
    with_value = RegistryConfig.from_dict(
        {"backends": {"b": {"type": "memory", "options": {"password": "${PW:-}"}}}}, environ={"PW": "hunter2"}
    )
    assert with_value.backends["b"].options["password"] == Secret("hunter2")
    assert not Secret("")  # an explicitly built empty Secret is falsy too


def test_store_name_typo_suggests_the_closest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _two_backends(tmp_path)
    reg = Registry(RegistryConfig.from_toml(f, environ={}))
    with pytest.raises(ConfigKeyError, match=r"no store named 'mnie'; did you mean 'mine'\?"):
        reg.get_store("mnie")
    with pytest.raises(ConfigKeyError) as info:
        reg.get_store("zzzzzz")
    assert "did you mean" not in str(info.value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REMOTE_STORE_CONFIG", str(f))
    with pytest.raises(ConfigKeyError, match="did you mean 'remote'"):
        open_store("remot")


def test_unknown_backend_type_names_key_file_and_closest(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text('[backends.disk]\ntype = "lcoal"\noptions.root = "/tmp"\n[stores.s]\nbackend = "disk"\n')
    with pytest.raises(ConfigError) as info:
        Registry(RegistryConfig.from_toml(f)).get_store("s")
    msg = str(info.value)
    assert "backends.disk.type" in msg and str(f) in msg and "did you mean 'local'" in msg and "lcoal" in msg


def test_missing_required_option_names_it_and_the_options(tmp_path: Path) -> None:
    reg = Registry(
        RegistryConfig.from_dict({"backends": {"disk": {"type": "local"}}, "stores": {"s": {"backend": "disk"}}})
    )
    with pytest.raises(ConfigError) as info:
        reg.get_store("s")
    msg = str(info.value)
    assert "backends.disk.options" in msg and "missing required option(s) 'root'" in msg
    assert "create_root" in msg and "__init__()" not in msg and "positional" not in msg


def test_unknown_option_suggests_the_closest() -> None:
    reg = Registry(
        RegistryConfig.from_dict(
            {"backends": {"d": {"type": "local", "options": {"roto": "/tmp"}}}, "stores": {"s": {"backend": "d"}}}
        )
    )
    with pytest.raises(ConfigError, match="did you mean 'root'"):
        reg.get_store("s")


@pytest.mark.parametrize("url", ["file://otherhost/tmp/x", "file://tmp/x", "FILE://loc"])
def test_file_url_with_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_store(url)
    assert "file:///path" in str(info.value) and "host" in str(info.value)


def test_file_url_local_forms_open(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"A")
    for u in (tmp_path.as_uri(), f"file://localhost{tmp_path}"):
        with open_store(u) as store:
            assert store.read_bytes("a.txt") == b"A"


def test_backend_config_check_env() -> None:
    BackendConfig("memory").check_env("m")
    with pytest.raises(ConfigKeyError, match="because"):
        BackendConfig("memory", {}, "because").check_env("m")


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True),
        st.tuples(st.booleans(), st.booleans()),  # (uses a variable, the variable is set)
        min_size=1,
        max_size=6,
    )
)
def test_only_stores_on_unresolvable_backends_fail(layout: dict[str, tuple[bool, bool]]) -> None:
    env = {f"RS_P_{n.upper()}": f"mem-{n}" for n, (_, is_set) in layout.items() if is_set}
    backends = {
        n: {"type": "memory", "options": {"name": f"${{RS_P_{n.upper()}}}" if uses else f"lit-{n}"}}
        for n, (uses, _) in layout.items()
    }
    stores = {f"s_{n}": {"backend": n} for n in layout}
    reg = Registry(RegistryConfig.from_dict({"backends": backends, "stores": stores}, environ=env))
    for n, (uses, is_set) in layout.items():
        if uses and not is_set:
            with pytest.raises(ConfigKeyError, match=f"RS_P_{n.upper()}"):
                reg.get_store(f"s_{n}")
        else:
            expected = f"mem-{n}" if uses else f"lit-{n}"
            assert reg.get_store(f"s_{n}").backend.options == {"name": expected}
