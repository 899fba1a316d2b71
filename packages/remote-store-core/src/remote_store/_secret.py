"""`Secret`: a credential that never shows itself in repr, str, logs or errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_MASK = "**********"

#: Option keys (lower-cased, compared per ``_``-separated word run) treated as credentials.
SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "secret_key",
        "secret_access_key",
        "aws_secret_access_key",
        "access_key",
        "access_key_id",
        "aws_access_key_id",
        "session_token",
        "aws_session_token",
        "token",
        "account_key",
        "sas_token",
        "connection_string",
        "private_key",
        "passphrase",
        "private_key_passphrase",
        "api_key",
        "credential",
        "client_secret",
    }
)
_URL_KEYS = frozenset({"dsn", "url", "endpoint", "uri", "connection_url", "database_url"})
_USERINFO_PASSWORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://[^/@\s:]*:[^/@\s]+@")


class Secret:
    """Wraps a credential string so it is masked wherever it could leak.

    ``repr()`` and ``str()`` show ``**********``; call `reveal` only where the
    value is handed to the client library. Equality compares values; pickling
    keeps the value (so a store can be sent to worker processes) but still masks it.

    Args:
        value: The credential text.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret value must be a str")
        self._value = value

    def reveal(self) -> str:
        """Return the plain credential. Pass it to the client library, never to a log."""
        return self._value

    get_secret_value = reveal

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


def reveal(value: str | Secret | None) -> str | None:
    """Return the plain text of ``value`` whether it is a `Secret`, a str or None."""
    if isinstance(value, Secret):
        return value.reveal()
    return value


def is_secret_key(key: str) -> bool:
    """Whether an option key names a credential (``password``, ``sas_token``, ``aws_secret_access_key`` …)."""
    k = key.lower().replace("-", "_")
    return k in SECRET_KEYS or k.endswith(("_password", "_secret", "_token", "_key_secret"))


def url_has_password(value: str) -> bool:
    """Whether ``value`` looks like ``scheme://user:password@host…``."""
    return bool(_USERINFO_PASSWORD.match(value))


def wrap_secrets(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``options`` with credential-looking values wrapped in `Secret`.

    Wraps str values whose key is a credential name (see `is_secret_key`) and URL/DSN
    values that embed a password. Nested mappings are processed recursively.
    """
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, Mapping):
            out[key] = wrap_secrets(value)
        elif isinstance(value, str) and (is_secret_key(key) or (key.lower() in _URL_KEYS and url_has_password(value))):
            out[key] = Secret(value)
        else:
            out[key] = value
    return out


def mask_secrets(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``options`` safe to print: every secret replaced by ``'**********'``."""
    out: dict[str, Any] = {}
    for key, value in wrap_secrets(options).items():
        if isinstance(value, Secret):
            out[key] = _MASK
        elif isinstance(value, Mapping):
            out[key] = mask_secrets(value)
        else:
            out[key] = value
    return out
