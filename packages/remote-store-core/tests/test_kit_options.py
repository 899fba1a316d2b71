"""`remote_store.kit` option tables: aliases, unknown keys, conversions, the shared vocabulary."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remote_store import Secret
from remote_store.errors import ConfigError
from remote_store.kit import (
    CONNECT_TIMEOUT,
    CREATE_ROOT,
    HIERARCHICAL,
    READ_TIMEOUT,
    REQUIRED,
    RETRIES,
    VERIFY,
    Option,
    OptionTable,
    to_bool,
    to_choice,
    to_int,
    to_mapping,
    to_secret,
    to_str,
    to_url,
)

TABLE = OptionTable(
    "demo",
    [
        Option("root", to_str, REQUIRED, ("path",)),
        HIERARCHICAL.with_aliases("strict_paths"),
        CREATE_ROOT,
        CONNECT_TIMEOUT,
        READ_TIMEOUT,
        RETRIES,
        VERIFY,
        Option("mode", to_choice("fast", "safe"), "safe"),
        Option("token", to_secret, None),
        Option("size", to_int(1, 10), 5),
        Option("endpoint", to_url, None),
        Option("extra", to_mapping, None),
    ],
)


def test_defaults_and_string_conversion() -> None:
    values = TABLE.parse(
        {"root": "/data", "hierarchical": "TRUE", "connect_timeout": "2.5", "retries": "0", "verify": "off"}
    )
    assert values["hierarchical"] is True and values["connect_timeout"] == 2.5
    assert values["retries"] == 0 and values["verify"] is False
    assert values["create_root"] is False and values["read_timeout"] == 60.0 and values["mode"] == "safe"


def test_aliases_map_to_the_canonical_name() -> None:
    values = TABLE.parse({"path": "/x", "strict_paths": "yes"})
    assert values["root"] == "/x" and values["hierarchical"] is True
    assert TABLE.canonical("strict_paths") == "hierarchical"


def test_unknown_option_names_the_key_and_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown demo option 'colour'") as info:
        TABLE.parse({"root": "/x", "colour": "blue"})
    assert info.value.path == "colour" and "hierarchical" in str(info.value)


def test_name_and_alias_together_is_refused() -> None:
    with pytest.raises(ConfigError, match="given twice"):
        TABLE.parse({"root": "/x", "path": "/y"})


def test_required_option_missing() -> None:
    with pytest.raises(ConfigError, match="'root' is required"):
        TABLE.parse({})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("hierarchical", "maybe"),
        ("connect_timeout", 0),
        ("connect_timeout", "soon"),
        ("connect_timeout", float("inf")),
        ("retries", -1),
        ("retries", True),
        ("size", 11),
        ("mode", "slow"),
        ("verify", ""),
        ("endpoint", "ftp://x"),
        ("extra", [1]),
        ("token", 12),
        ("root", 3),
    ],
)
def test_bad_values_raise_config_error_naming_the_option(name: str, value: Any) -> None:
    given_opts = {"root": "/x", name: value}
    with pytest.raises(ConfigError, match=f"demo option '{name}'") as info:
        TABLE.parse(given_opts)
    assert info.value.path == name


def test_secrets_are_wrapped_and_never_shown() -> None:
    values = TABLE.parse({"root": "/x", "token": "s3cr3t"})
    assert isinstance(values["token"], Secret) and values["token"].reveal() == "s3cr3t"
    with pytest.raises(ConfigError) as info:
        TABLE.check("size", Secret("s3cr3t"))
    assert "s3cr3t" not in str(info.value)


def test_changed_returns_only_non_defaults() -> None:
    values = TABLE.parse({"root": "/x", "size": 7})
    assert TABLE.changed(values) == {"root": "/x", "size": 7}


def test_duplicate_rows_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        OptionTable("bad", [Option("a", to_str), Option("b", to_str, aliases=("a",))])


@given(st.text(max_size=8))
def test_to_bool_accepts_only_known_spellings(text: str) -> None:
    known = text.strip().lower() in ("1", "0", "true", "false", "yes", "no", "on", "off")
    if known:
        assert to_bool("x", text) in (True, False)
    else:
        with pytest.raises(ConfigError):
            to_bool("x", text)


@given(st.integers())
def test_to_int_bounds(n: int) -> None:
    conv = to_int(0, 100)
    if 0 <= n <= 100:
        assert conv("n", n) == n and conv("n", str(n)) == n
    else:
        with pytest.raises(ConfigError):
            conv("n", n)
