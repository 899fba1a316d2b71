"""`AzureOptions`: the typed, validated configuration of an `AzureBackend`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from typing import Any

from remote_store import Secret
from remote_store.errors import ConfigError

MiB = 1024 * 1024

#: Environment variables consulted when an option is not given (first match wins).
ENV_CONNECTION_STRING = ("AZURE_STORAGE_CONNECTION_STRING",)
ENV_ACCOUNT_NAME = ("AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT")
ENV_ACCOUNT_KEY = ("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY")
ENV_SAS_TOKEN = ("AZURE_STORAGE_SAS_TOKEN",)

_CONTAINER_RE = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
#: Azure's limit on one block (Put Block), bytes.
MAX_BLOCK_SIZE = 4000 * MiB
#: Azure's limit on one Put Blob request, bytes.
MAX_SINGLE_PUT_SIZE = 5000 * MiB


def _env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _secret(key: str, value: object) -> Secret | None:
    if value is None or value == "":
        return None
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise ConfigError(f"{key}: expected a string or Secret, got {type(value).__name__}", path=key)


@dataclass(frozen=True, slots=True)
class AzureOptions:
    """Configuration of an Azure Blob Storage backend.

    Exactly how the client authenticates is chosen in this order: ``connection_string``;
    ``account_key`` (shared key); ``sas_token``; ``credential`` (any azure-core token
    credential); anonymous access when ``anonymous`` is True; otherwise azure-identity's
    ``DefaultAzureCredential`` (install ``remote-store-azure[identity]``). Options left
    unset fall back to ``AZURE_STORAGE_CONNECTION_STRING``, ``AZURE_STORAGE_ACCOUNT_NAME``
    (or ``AZURE_STORAGE_ACCOUNT``), ``AZURE_STORAGE_ACCOUNT_KEY`` (or ``AZURE_STORAGE_KEY``)
    and ``AZURE_STORAGE_SAS_TOKEN`` when the client is created.

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
        retry_total: Retries of a failed request (connection errors, 408/429/5xx) by azure-core's
            retry policy; 0 disables retries.
        retry_backoff: First back-off delay in seconds; later delays grow exponentially (base 2).
        max_single_put_size: Largest upload, in bytes, sent as one Put Blob request; larger
            uploads are staged in blocks (Put Block + Put Block List).
        block_size: Size in bytes of each staged block, and of the largest ranged read of a
            streaming download (capped at 32 MiB).
        max_concurrency: Blocks uploaded, or ranges downloaded, in parallel by one call.
        connection_verify: TLS certificate verification: True, False, or a CA bundle path.
        api_version: Storage REST API version to pin (``"2021-08-06"``) for emulators; None = SDK default.
        connection_timeout: Seconds to wait for a TCP connection.
        read_timeout: Seconds to wait between bytes of a response.
        create_container: Create the container on first use when it does not exist.
        hierarchical: Enforce "a key is a file or a folder, never both" (a write onto a folder
            or below a file, a copy or move there, and a file delete of a folder raise
            `InvalidPath`), and declare `Capability.HIERARCHICAL`. Costs one listing request
            plus one Get Blob Properties per parent folder before every write is published,
            and one Get Blob Properties before a delete. False (the default) gives flat
            object-store semantics with no extra requests. Accounts with a hierarchical
            namespace (ADLS Gen2, detected at first use) are treated as hierarchical anyway.
        strict_paths: Former name of ``hierarchical``, still accepted (normalised into it;
            giving both with different values is a `ConfigError`).
        compute_md5: Compute the MD5 of staged uploads on the client (on a helper thread) and
            store it as the blob's Content-MD5, so `WriteResult.digest` and later reads have it.
            Off by default: it costs CPU (~25% of upload throughput on a small machine), and a
            single Put Blob gets its MD5 from the service anyway.
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
    retry_total: int = 3
    retry_backoff: float = 0.5
    max_single_put_size: int = 8 * MiB
    block_size: int = 8 * MiB
    max_concurrency: int = 4
    connection_verify: bool | str = True
    api_version: str | None = None
    connection_timeout: float = 20.0
    read_timeout: float = 60.0
    create_container: bool = False
    hierarchical: bool = False
    compute_md5: bool = False
    strict_paths: bool | None = None

    def __post_init__(self) -> None:
        for key in ("connection_string", "account_key", "sas_token"):
            object.__setattr__(self, key, _secret(key, getattr(self, key)))
        if not isinstance(self.container, str) or not (
            self.container == "$root" or _CONTAINER_RE.match(self.container)
        ):
            raise ConfigError(
                f"container: {self.container!r} is not a valid container name "
                "(3-63 lower-case letters, digits and single hyphens)",
                path="container",
            )
        if self.account_name is not None and not _ACCOUNT_RE.match(str(self.account_name)):
            raise ConfigError(
                f"account_name: {self.account_name!r} is not a valid account name (3-24 lower-case letters/digits)",
                path="account_name",
            )
        if self.account_url is not None and not re.match(r"^https?://[^/\s]+", str(self.account_url)):
            raise ConfigError(f"account_url: {self.account_url!r} must be an http(s) URL", path="account_url")
        if not isinstance(self.prefix, str) or ".." in self.prefix.split("/"):
            raise ConfigError(f"prefix: {self.prefix!r} must be a folder path without '..'", path="prefix")
        object.__setattr__(self, "prefix", "/".join(s for s in self.prefix.split("/") if s))
        if isinstance(self.credential, (str, Secret)):
            raise ConfigError(
                "credential: expected a token credential object; pass keys as account_key, SAS as sas_token",
                path="credential",
            )
        self._check_int("retry_total", 0, 100)
        self._check_int("max_single_put_size", 1, MAX_SINGLE_PUT_SIZE)
        self._check_int("block_size", 1, MAX_BLOCK_SIZE)
        self._check_int("max_concurrency", 1, 256)
        for key in ("retry_backoff", "connection_timeout", "read_timeout"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{key}: expected a number of seconds >= 0, got {value!r}", path=key)
        if self.strict_paths is not None:
            if not isinstance(self.strict_paths, bool):
                raise ConfigError(
                    f"strict_paths: expected true or false, got {self.strict_paths!r}", path="strict_paths"
                )
            if self.hierarchical and not self.strict_paths:
                raise ConfigError(
                    "strict_paths: former name of hierarchical; got hierarchical=true and strict_paths=false",
                    path="strict_paths",
                )
            object.__setattr__(self, "hierarchical", self.strict_paths or self.hierarchical)
            object.__setattr__(self, "strict_paths", None)
        for key in ("anonymous", "create_container", "hierarchical", "compute_md5"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"{key}: expected true or false, got {getattr(self, key)!r}", path=key)
        if not isinstance(self.connection_verify, (bool, str)):
            raise ConfigError("connection_verify: expected true, false or a CA bundle path", path="connection_verify")
        if self.api_version is not None and not re.match(r"^\d{4}-\d{2}-\d{2}$", str(self.api_version)):
            raise ConfigError(f"api_version: {self.api_version!r} must look like 'YYYY-MM-DD'", path="api_version")
        if not (
            self.connection_string
            or self.account_url
            or self.account_name
            or _env(ENV_CONNECTION_STRING)
            or _env(ENV_ACCOUNT_NAME)
        ):
            raise ConfigError(
                "account_name: no storage account given (set account_name, account_url or "
                "connection_string, or AZURE_STORAGE_ACCOUNT_NAME / AZURE_STORAGE_CONNECTION_STRING)",
                path="account_name",
            )

    def _check_int(self, key: str, low: int, high: int) -> None:
        value = getattr(self, key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{key}: expected an integer from {low} to {high}, got {value!r}", path=key)

    def as_kwargs(self) -> dict[str, Any]:
        """The options as constructor keyword arguments (secrets stay `Secret`); defaults omitted."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "container" or value != f.default:
                out[f.name] = value
        return out
