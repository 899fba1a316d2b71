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
        "credentials",
        "client_secret",
    }
)
_URL_KEYS = frozenset({"dsn", "url", "endpoint", "uri", "connection_url", "database_url"})
_USERINFO_PASSWORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://[^/@\s:]*:[^/@\s]+@")
#: ``scheme://user:PASSWORD@`` anywhere in a text (group 2 is the password).
_USERINFO_ANYWHERE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*://[^/@\s:'\"]*:)([^/@\s'\"]+)(@)")

#: Query parameters (compared lower-case) whose values are credentials: presigned S3/GCS
#: URLs, Azure SAS (``sig``), OAuth tokens, API keys.
SECRET_QUERY_PARAMS = frozenset(
    {
        "token",
        "sig",
        "signature",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "x-amz-signature",
        "x-amz-security-token",
        "x-amz-credential",
        "x-goog-signature",
        "x-goog-credential",
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "sas_token",
    }
)
_QUERY_PARAM = re.compile(r"([?&;]([A-Za-z0-9_.\-]+)=)([^&;#\s'\"]*)")

#: Request header names (lower-case) whose values are credentials.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-amz-security-token",
    }
)
_SECRET_HEADER_WORDS = ("token", "secret", "auth", "key", "cookie", "password", "signature", "credential")
_HEADERS_KEY = re.compile(r"(?i)(^|_)headers$")


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
        register_secret(value)

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


def is_secret_header(name: str) -> bool:
    """Whether an HTTP header name carries a credential (``Authorization``, ``Cookie``,
    ``X-Api-Key``, or any name containing token/secret/auth/key …)."""
    n = name.lower()
    return n in SECRET_HEADERS or any(w in n for w in _SECRET_HEADER_WORDS)


def url_credentials(text: str) -> list[str]:
    """The credential parts of URLs in ``text``: userinfo passwords and the values of
    credential query parameters (see `SECRET_QUERY_PARAMS`)."""
    found = [m.group(2) for m in _USERINFO_ANYWHERE.finditer(text)]
    found += [m.group(3) for m in _QUERY_PARAM.finditer(text) if m.group(2).lower() in SECRET_QUERY_PARAMS]
    return [f for f in found if f]


def mask_url(text: str) -> str:
    """Return ``text`` with every URL password (``user:****@``) and credential query
    parameter value (``?sig=****``, ``X-Amz-Signature=****`` …) replaced by the mask."""
    if "://" not in text and "=" not in text:
        return text
    out = _USERINFO_ANYWHERE.sub(lambda m: f"{m.group(1)}{_MASK}{m.group(3)}", text)
    return _QUERY_PARAM.sub(
        lambda m: f"{m.group(1)}{_MASK}" if m.group(2).lower() in SECRET_QUERY_PARAMS and m.group(3) else m.group(0),
        out,
    )


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
            if isinstance(value, str):
                for part in url_credentials(value):
                    register_secret(part)
            out[key] = value
    return out


def register_secret(value: str) -> None:
    """Redact ``value`` from every log record from now on (see `remote_store._log`)."""
    from remote_store._log import redact_value

    redact_value(value)


def mask_secrets(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``options`` safe to print: every secret replaced by ``'**********'``.

    Masked: `Secret` values and credential-named keys (see `is_secret_key`); passwords
    and credential query parameters inside any URL/DSN string (see `mask_url`); and in a
    ``headers`` mapping, the values of credential headers (see `is_secret_header`).
    """
    out: dict[str, Any] = {}
    for key, value in wrap_secrets(options).items():
        if isinstance(value, Mapping) and isinstance(key, str) and _HEADERS_KEY.search(key):
            out[key] = {
                k: _MASK if (isinstance(k, str) and is_secret_header(k)) or isinstance(v, Secret) else _masked(v)
                for k, v in value.items()
            }
        else:
            out[key] = _masked(value)
    return out


def _masked(value: Any) -> Any:
    if isinstance(value, Secret):
        return _MASK
    if isinstance(value, Mapping):
        return mask_secrets(value)
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(v) for v in value)
    return value
