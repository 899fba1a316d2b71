"""Table-driven option validation and the option vocabulary every backend shares.

A backend describes each option once, as an `Option` row (name, converter, default,
aliases, documentation); an `OptionTable` then turns whatever a config file, a URL query
string or a caller passed into validated constructor arguments::

    from remote_store.kit import CONNECT_TIMEOUT, HIERARCHICAL, Option, OptionTable, to_str

    TABLE = OptionTable("jsondir", [Option("root", to_str), HIERARCHICAL, CONNECT_TIMEOUT])
    values = TABLE.parse({"root": "/data", "hierarchical": "true"})
    # {"root": "/data", "hierarchical": True, "connect_timeout": 10.0}

Converters accept the strings that URL query parameters and ``${ENV}`` substitution produce
(``"true"``, ``"8"``, ``"2.5"``) and raise `ConfigError` naming the option otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from remote_store._secret import Secret
from remote_store.errors import ConfigError

__all__ = [
    "CONNECT_TIMEOUT",
    "CREATE_ROOT",
    "HIERARCHICAL",
    "READ_TIMEOUT",
    "REQUIRED",
    "RETRIES",
    "VERIFY",
    "Converter",
    "Option",
    "OptionTable",
    "to_bool",
    "to_choice",
    "to_int",
    "to_mapping",
    "to_optional_str",
    "to_seconds",
    "to_secret",
    "to_str",
    "to_url",
    "to_verify",
]

Converter = Callable[[str, Any], Any]
"""``convert(name, value) -> validated value``; raises `ConfigError` naming ``name``."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_MASK = "**********"


class _Required:
    __slots__ = ()

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final[Any] = _Required()
"""Default of an `Option` that must be given."""


def _fail(owner: str, name: str, what: str, value: Any) -> ConfigError:
    shown = _MASK if isinstance(value, Secret) else repr(value)
    return ConfigError(f"{owner} option '{name}': {what}, got {shown}", path=name)


@dataclass(frozen=True, slots=True)
class Option:
    """One row of an `OptionTable`.

    Attributes:
        name: The canonical option name (the constructor keyword argument).
        convert: ``convert(name, value)`` validating and converting one value; raises
            `ConfigError` naming the option (use the ``to_*`` helpers of this module).
        default: The value when the option is not given; `REQUIRED` when it must be.
        aliases: Other accepted spellings (``("path_checks",)``); each maps to ``name``.
        doc: One line for generated documentation and error messages.
    """

    name: str
    convert: Converter
    default: Any = REQUIRED
    aliases: tuple[str, ...] = ()
    doc: str = ""

    def with_default(self, default: Any) -> Option:
        """Return a copy of this row with another default (a backend's own choice)."""
        return Option(self.name, self.convert, default, self.aliases, self.doc)

    def with_aliases(self, *aliases: str) -> Option:
        """Return a copy of this row that also accepts ``aliases``."""
        return Option(self.name, self.convert, self.default, self.aliases + aliases, self.doc)


class OptionTable:
    """Validates backend options against a table of `Option` rows.

    Args:
        owner: Backend type named in error messages (``"s3"``).
        options: The rows; names and aliases must be unique.

    Raises:
        ValueError: Two rows share a name or alias (a programming error, raised at import).
    """

    def __init__(self, owner: str, options: Iterable[Option]) -> None:
        self.owner = owner
        self._rows: dict[str, Option] = {}
        self._alias: dict[str, str] = {}
        for row in options:
            for spelling in (row.name, *row.aliases):
                if spelling in self._alias:
                    raise ValueError(f"option {spelling!r} appears twice in the {owner} table")
                self._alias[spelling] = row.name
            self._rows[row.name] = row

    @property
    def rows(self) -> Mapping[str, Option]:
        """The rows by canonical name (read-only)."""
        return MappingProxyType(self._rows)

    def canonical(self, name: str) -> str:
        """The canonical name of ``name`` (itself or the option it is an alias of).

        Raises:
            ConfigError: ``name`` is not an option of this table (the message names it and
                lists the accepted names).
        """
        try:
            return self._alias[name]
        except KeyError:
            known = ", ".join(sorted(self._rows))
            raise ConfigError(f"unknown {self.owner} option '{name}' (known options: {known})", path=name) from None

    def check(self, name: str, value: Any) -> Any:
        """Convert one value of the option ``name`` (canonical name or alias).

        Raises:
            ConfigError: Unknown option, or a value the option refuses.
        """
        row = self._rows[self.canonical(name)]
        try:
            return row.convert(row.name, value)
        except ConfigError as exc:
            text = exc.message
            if text.startswith("option '"):
                text = f"{self.owner} {text}"
            elif not text.startswith(f"{self.owner} option"):
                text = f"{self.owner} option '{row.name}': {text}"
            raise ConfigError(text, path=row.name) from None

    def parse(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``given`` and return every option by canonical name, defaults filled in.

        Args:
            given: Option values by canonical name or alias (strings are converted).

        Returns:
            ``{name: value}`` for every row of the table.

        Raises:
            ConfigError: An unknown name, an option given twice (name and alias), a value
                out of range, or a `REQUIRED` option missing; the message names the option.
        """
        out: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for name, value in given.items():
            canon = self.canonical(name)
            if canon in spelled:
                raise ConfigError(
                    f"{self.owner} option '{canon}' is given twice (as '{spelled[canon]}' and '{name}')", path=canon
                )
            spelled[canon] = name
            out[canon] = self.check(canon, value)
        for row in self._rows.values():
            if row.name in out:
                continue
            if row.default is REQUIRED:
                raise ConfigError(f"{self.owner} option '{row.name}' is required", path=row.name)
            out[row.name] = row.default
        return out

    def changed(self, values: Mapping[str, Any], *, keep: Iterable[str] = ()) -> dict[str, Any]:
        """Return the entries of ``values`` that differ from their defaults (plus ``keep`` names).

        Used for a backend's ``options`` property: constructor arguments that rebuild it.
        """
        always = set(keep)
        out: dict[str, Any] = {}
        for name, value in values.items():
            row = self._rows.get(name)
            if name in always or row is None or row.default is REQUIRED or value != row.default:
                out[name] = dict(value) if isinstance(value, Mapping) else value
        return out


# ---------------------------------------------------------------------- converters
def to_str(name: str, value: Any) -> str:
    """A non-optional string.

    Raises:
        ConfigError: ``value`` is not a str.
    """
    if not isinstance(value, str):
        raise ConfigError(f"option '{name}': must be a string, got {type(value).__name__}", path=name)
    return value


def to_optional_str(name: str, value: Any) -> str | None:
    """A string, or None (``""`` counts as None).

    Raises:
        ConfigError: ``value`` is neither a str nor None.
    """
    if value is None or value == "":
        return None
    return to_str(name, value)


def to_bool(name: str, value: Any) -> bool:
    """A bool; also ``"1"/"0"``, ``"true"/"false"``, ``"yes"/"no"``, ``"on"/"off"`` (any case).

    Raises:
        ConfigError: Anything else.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(f"option '{name}': must be true or false, got {value!r}", path=name)


def to_int(lo: int | None = None, hi: int | None = None) -> Converter:
    """A converter for integers in ``[lo, hi]`` (either bound optional); decimal strings accepted.

    Raises (from the returned converter):
        ConfigError: Not an integer (bools are refused) or out of range.
    """

    def convert(name: str, value: Any) -> int:
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ConfigError(f"option '{name}': must be an integer, got {value!r}", path=name) from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"option '{name}': must be an integer, got {value!r}", path=name)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = (
                f"between {lo} and {hi}"
                if lo is not None and hi is not None
                else f">= {lo}"
                if lo is not None
                else f"<= {hi}"
            )
            raise ConfigError(f"option '{name}': must be {bounds}, got {value!r}", path=name)
        return value

    return convert


def to_seconds(name: str, value: Any) -> float:
    """A positive, finite number of seconds (int, float or numeric string).

    Raises:
        ConfigError: Not a number, or not > 0.
    """
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(f"option '{name}': must be a number of seconds, got {value!r}", path=name) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        raise ConfigError(f"option '{name}': must be a positive number of seconds, got {value!r}", path=name)
    return float(value)


def to_choice(*choices: str, optional: bool = False) -> Converter:
    """A converter for one of ``choices`` (None / ``""`` allowed when ``optional``).

    Raises (from the returned converter):
        ConfigError: Anything else; the message lists the choices.
    """

    def convert(name: str, value: Any) -> str | None:
        if optional and (value is None or value == ""):
            return None
        if value not in choices:
            accepted = ", ".join(choices) + (" or None" if optional else "")
            raise ConfigError(f"option '{name}': must be one of {accepted}, got {value!r}", path=name)
        return str(value)

    return convert


def to_secret(name: str, value: Any) -> Secret | None:
    """A credential: a `Secret` (a str is wrapped; ``""`` and None mean not given).

    The value never appears in error messages.

    Raises:
        ConfigError: Neither a str, a `Secret` nor None.
    """
    if value is None or isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value) if value else None
    raise ConfigError(
        f"option '{name}': must be a string or remote_store.Secret, got {type(value).__name__}", path=name
    )


def to_verify(name: str, value: Any) -> bool | str:
    """TLS verification: True, False, or the path of a CA bundle file (boolean strings converted).

    Raises:
        ConfigError: Anything else (an empty string included).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value:
        if value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        return value
    raise ConfigError(f"option '{name}': must be true, false or the path of a CA bundle, got {value!r}", path=name)


_URL_RE = re.compile(r"^https?://[^/\s]+")


def to_url(name: str, value: Any) -> str | None:
    """An ``http://`` or ``https://`` URL, or None (``""`` counts as None).

    Raises:
        ConfigError: Not such a URL.
    """
    text = to_optional_str(name, value)
    if text is not None and not _URL_RE.match(text):
        raise ConfigError(f"option '{name}': must be an http:// or https:// URL, got {value!r}", path=name)
    return text


def to_mapping(name: str, value: Any) -> Mapping[str, Any]:
    """A mapping with str keys (None = empty), returned read-only.

    Raises:
        ConfigError: Not a mapping, or a key is not a str.
    """
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"option '{name}': must be a mapping with str keys, got {value!r}", path=name)
    return MappingProxyType(dict(value))


# ---------------------------------------------------------------------- shared vocabulary
HIERARCHICAL: Final = Option("hierarchical", to_bool, False, doc="enforce file/folder placement with extra requests")
"""Enforce "a key is a file or a folder, never both" with extra requests (declares
`Capability.HIERARCHICAL`). Off by default on flat object stores: no extra requests.
"""
CREATE_ROOT: Final = Option("create_root", to_bool, False, doc="create the root when it is missing")
"""Create the backend root (folder, container, schema) on first use when it is missing."""
CONNECT_TIMEOUT: Final = Option("connect_timeout", to_seconds, 10.0, doc="seconds to wait for a connection")
"""Seconds to wait for a connection (TCP + TLS handshake)."""
READ_TIMEOUT: Final = Option("read_timeout", to_seconds, 60.0, doc="seconds to wait for data")
"""Seconds to wait for data on an open connection."""
RETRIES: Final = Option("retries", to_int(0, 100), 2, doc="retries after a failed first attempt")
"""Retries after the first attempt of a failed request (0 = no retry)."""
VERIFY: Final = Option("verify", to_verify, True, doc="TLS verification: true, false or a CA bundle path")
"""TLS certificate verification: true, false or a CA bundle path."""
