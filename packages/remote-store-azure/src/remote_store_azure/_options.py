"""`AzureOptions`: the typed, validated configuration of an `AzureBackend` (table-driven).

Validation runs through one `remote_store.kit.OptionTable` (`OPTIONS`), which carries the
vocabulary every backend shares — ``hierarchical``, ``create_root``, ``connect_timeout``,
``read_timeout``, ``retries``, ``retry_backoff``, ``retry_backoff_max``, ``retry_budget``,
``retry_on``, ``verify`` — and the former Azure spellings as aliases
(``strict_paths``, ``create_container``, ``connection_timeout``, ``retry_total``,
``connection_verify``).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remote_store import Secret
from remote_store.errors import ConfigError
from remote_store.kit import (
    CONNECT_TIMEOUT,
    CREATE_ROOT,
    HIERARCHICAL,
    READ_TIMEOUT,
    REQUIRED,
    RETRIES,
    RETRY_BACKOFF,
    RETRY_BACKOFF_MAX,
    RETRY_BUDGET,
    RETRY_CATEGORIES,
    RETRY_ON,
    VERIFY,
    Option,
    OptionTable,
    to_bool,
    to_int,
    to_optional_str,
    to_secret,
    to_str,
    to_url,
)

MiB = 1024 * 1024

#: Environment variables consulted when an option is not given (first match wins).
ENV_CONNECTION_STRING = ("AZURE_STORAGE_CONNECTION_STRING",)
ENV_ACCOUNT_NAME = ("AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT")
ENV_ACCOUNT_KEY = ("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY")
ENV_SAS_TOKEN = ("AZURE_STORAGE_SAS_TOKEN",)

_CONTAINER_RE = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
_API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Azure's limit on one block (Put Block), bytes.
MAX_BLOCK_SIZE = 4000 * MiB
#: Azure's limit on one Put Blob request, bytes.
MAX_SINGLE_PUT_SIZE = 5000 * MiB
#: Most blocks one committed block blob may have.
MAX_BLOCKS = 50_000


def _env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


@dataclass(frozen=True, slots=True, init=False)
class AzureOptions:
    """Configuration of an Azure Blob Storage backend, validated at construction.

    How the client authenticates is chosen in this order: ``connection_string``;
    ``account_key`` (shared key); ``sas_token``; ``credential`` (any azure-core token
    credential); anonymous access when ``anonymous`` is True; otherwise azure-identity's
    ``DefaultAzureCredential`` (install ``remote-store-azure[identity]``). Options left
    unset fall back to ``AZURE_STORAGE_CONNECTION_STRING``, ``AZURE_STORAGE_ACCOUNT_NAME``
    (or ``AZURE_STORAGE_ACCOUNT``), ``AZURE_STORAGE_ACCOUNT_KEY`` (or ``AZURE_STORAGE_KEY``)
    and ``AZURE_STORAGE_SAS_TOKEN`` when the client is created.

    String values of numeric and boolean fields (URL query strings, ``${ENV}``
    substitution) are converted. The constructor (and `from_mapping`) also accepts the former names
    ``retry_total`` (``retries``), ``connection_timeout`` (``connect_timeout``),
    ``connection_verify`` (``verify``), ``create_container`` (``create_root``) and
    ``strict_paths`` (``hierarchical``); giving a name and its alias together is a
    `ConfigError`.

    Attributes:
        container: Container name (3-63 characters: lower-case letters, digits, single hyphens).
        account_name: Storage account name; gives ``https://<name>.blob.core.windows.net``.
        account_url: Blob endpoint URL (overrides the one built from ``account_name``), e.g.
            ``http://127.0.0.1:10000/devstoreaccount1`` for Azurite.
        prefix: Folder inside the container that is this backend's root (``""`` = whole container).
        connection_string: Full connection string (`Secret`).
        account_key: Shared account key, base64 (`Secret`).
        sas_token: Shared access signature query string, with or without the leading ``?`` (`Secret`).
        credential: A token credential object (``azure.identity.*Credential``); not a string.
        anonymous: Use no credential (public containers) instead of ``DefaultAzureCredential``.
        retries: Retries after a failed first attempt (0-100; default 3), by azure-storage's
            `ExponentialRetry` policy: connection errors, timeouts, 408 and 5xx responses.
            Non-idempotent calls that were resent are checked after the fact (see `AzureBackend`).
        retry_backoff: Seconds before the first retry (≥ 0; default 0.5); each later retry
            waits twice as long as the one before, with ±20 % jitter, up to ``retry_backoff_max``.
        retry_backoff_max: Longest wait between two attempts in seconds (≥ 0; default 10).
        retry_budget: Seconds one request may spend, every attempt and wait included (≥ 0;
            default 120): azure-core starts no retry whose wait would end past it. A call
            made of several requests (a staged upload) has this budget per request.
        retry_on: Failure categories that are retried: ``connection``, ``timeout`` (connect
            and read timeouts, 408), ``throttling`` (429, 503, ``ServerBusy``), ``server``
            (other 5xx); a set or a comma-separated string, ``"all"`` (default) or ``"none"``.
        max_single_put_size: Uploads shorter than this many bytes (and than one
            ``block_size``) are one Put Blob request; longer ones are staged blocks
            (Put Block + Put Block List). Default 8 MiB.
        block_size: Bytes per staged block (default 8 MiB). One upload holds at most
            ``block_size x (max_concurrency + 1)`` bytes in memory.
        max_concurrency: Blocks uploaded, or ranges of a `read_bytes` downloaded, in parallel.
        read_block_size: Read buffer of `open_read` streams in bytes (default 1 MiB).
        verify: TLS certificate verification: True, False, or a CA bundle path.
        api_version: Storage REST API version to pin (``"2021-08-06"``) for emulators; None = SDK default.
        connect_timeout: Seconds to wait for a TCP (and TLS) connection (> 0; default 10).
        read_timeout: Seconds to wait for data on an open connection (> 0; default 60).
        create_root: Create the container on first use when it does not exist.
        hierarchical: Enforce "a key is a file or a folder, never both" (a write onto a folder
            or below a file, a copy or move there raise `InvalidPath`) and declare
            `Capability.HIERARCHICAL`. Costs one listing plus one Get Blob Properties per
            parent folder before a write is published, and one Get Blob Properties before a
            delete. False (the default): flat object-store semantics, no extra requests.
            Accounts with a hierarchical namespace (ADLS Gen2, detected at first use) are
            treated as hierarchical anyway.
        compute_md5: Compute the MD5 of staged uploads on the client and store it as the
            blob's Content-MD5, so `WriteResult.digest` and later reads have it. Off by
            default (CPU cost); a single Put Blob gets its MD5 from the service anyway.

    Raises:
        ConfigError: A value has the wrong type or is out of range; the message names the option.
    """

    container: str
    account_name: str | None = None
    account_url: str | None = None
    prefix: str = ""
    connection_string: Secret | None = None
    account_key: Secret | None = None
    sas_token: Secret | None = None
    credential: Any = None
    anonymous: bool = False
    retries: int = 3
    retry_backoff: float = 0.5
    retry_backoff_max: float = 10.0
    retry_budget: float = 120.0
    retry_on: frozenset[str] = frozenset(RETRY_CATEGORIES)
    max_single_put_size: int = 8 * MiB
    block_size: int = 8 * MiB
    max_concurrency: int = 4
    read_block_size: int = 1 * MiB
    verify: bool | str = True
    api_version: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    create_root: bool = False
    hierarchical: bool = False
    compute_md5: bool = False

    def __init__(self, container: str | None = None, **options: Any) -> None:
        """Validate ``options`` (canonical names or the former aliases; see the class docstring).

        Raises:
            ConfigError: An unknown option, a name given twice (as name and alias), a missing
                ``container`` or an invalid value; the message names the option.
        """
        given = dict(options)
        if container is not None:
            given["container"] = container
        for name, value in OPTIONS.parse(given).items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    def __post_init__(self) -> None:
        if not (
            self.connection_string
            or self.account_url
            or self.account_name
            or _env(ENV_CONNECTION_STRING)
            or _env(ENV_ACCOUNT_NAME)
        ):
            raise ConfigError(
                "azure option 'account_name': no storage account given (set account_name, account_url or "
                "connection_string, or AZURE_STORAGE_ACCOUNT_NAME / AZURE_STORAGE_CONNECTION_STRING)",
                path="account_name",
            )

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> AzureOptions:
        """Validate ``options`` (canonical names or the former aliases) and build the value.

        Raises:
            ConfigError: An unknown option, a name given twice (as name and alias), a missing
                ``container`` or an invalid value; the message names the option.
        """
        return cls(**options)

    def as_kwargs(self) -> dict[str, Any]:
        """The options as constructor keyword arguments (secrets stay `Secret`): ``container``
        plus every option that differs from its default."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "container" or value != f.default:
                out[f.name] = value
        return out

    # Former attribute names, read-only (older callers read them).
    @property
    def retry_total(self) -> int:
        """Former name of `retries`."""
        return self.retries

    @property
    def connection_timeout(self) -> float:
        """Former name of `connect_timeout`."""
        return self.connect_timeout

    @property
    def connection_verify(self) -> bool | str:
        """Former name of `verify`."""
        return self.verify

    @property
    def create_container(self) -> bool:
        """Former name of `create_root`."""
        return self.create_root


# ---------------------------------------------------------------------- validators
def _container(name: str, value: Any) -> str:
    text = to_str(name, value)
    if text != "$root" and not _CONTAINER_RE.match(text):
        raise ConfigError(
            f"option '{name}': {text!r} is not a valid container name (3-63 lower-case letters, digits and "
            "single hyphens)",
            path=name,
        )
    return text


def _account(name: str, value: Any) -> str | None:
    text = to_optional_str(name, value)
    if text is not None and not _ACCOUNT_RE.match(text):
        raise ConfigError(
            f"option '{name}': {text!r} is not a valid account name (3-24 lower-case letters/digits)", path=name
        )
    return text


def _prefix(name: str, value: Any) -> str:
    text = to_str(name, value)
    parts = [s for s in text.split("/") if s]
    if any(p in (".", "..") for p in parts) or "\x00" in text:
        raise ConfigError(f"option '{name}': {text!r} must be a folder path without '.' or '..'", path=name)
    return "/".join(parts)


def _credential(name: str, value: Any) -> Any:
    if isinstance(value, (str, Secret)):
        raise ConfigError(
            f"option '{name}': expected a token credential object; pass keys as account_key, SAS as sas_token",
            path=name,
        )
    return value


def _api_version(name: str, value: Any) -> str | None:
    text = to_optional_str(name, value)
    if text is not None and not _API_VERSION_RE.match(text):
        raise ConfigError(f"option '{name}': {text!r} must look like 'YYYY-MM-DD'", path=name)
    return text


#: The table every `AzureOptions` value is validated against (names, aliases, converters, defaults).
OPTIONS = OptionTable(
    "azure",
    [
        Option("container", _container, REQUIRED, doc="container name"),
        Option("account_name", _account, None, doc="storage account name"),
        Option("account_url", to_url, None, doc="blob endpoint URL"),
        Option("prefix", _prefix, "", doc="folder inside the container that is the backend root"),
        Option("connection_string", to_secret, None, doc="connection string"),
        Option("account_key", to_secret, None, doc="shared account key"),
        Option("sas_token", to_secret, None, doc="SAS token"),
        Option("credential", _credential, None, doc="token credential object"),
        Option("anonymous", to_bool, False, doc="no credential at all"),
        RETRIES.with_default(3).with_aliases("retry_total"),
        RETRY_BACKOFF,
        RETRY_BACKOFF_MAX,
        RETRY_BUDGET,
        RETRY_ON,
        Option("max_single_put_size", to_int(1, MAX_SINGLE_PUT_SIZE), 8 * MiB, doc="bytes sent as one Put Blob"),
        Option("block_size", to_int(1, MAX_BLOCK_SIZE), 8 * MiB, doc="bytes per staged block"),
        Option("max_concurrency", to_int(1, 256), 4, doc="blocks / ranges in flight"),
        Option("read_block_size", to_int(1), 1 * MiB, doc="read buffer in bytes"),
        VERIFY.with_aliases("connection_verify"),
        Option("api_version", _api_version, None, doc="storage REST API version"),
        CONNECT_TIMEOUT.with_aliases("connection_timeout"),
        READ_TIMEOUT,
        CREATE_ROOT.with_aliases("create_container"),
        HIERARCHICAL.with_aliases("strict_paths"),
        Option("compute_md5", to_bool, False, doc="client-side Content-MD5 of staged uploads"),
    ],
)
