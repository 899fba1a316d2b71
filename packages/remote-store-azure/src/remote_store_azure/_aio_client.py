"""Building and owning the ``azure.storage.blob.aio`` clients of an `AsyncAzureBackend`.

An aiohttp session belongs to the event loop it was created on, so `AsyncClients` keeps one
client set per running loop: the first call on a loop builds it (and, once, creates the
container and detects a hierarchical namespace), later calls on that loop reuse it, and a
call from another loop (a second ``asyncio.run``) gets its own set instead of touching a
session whose loop is gone.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import urllib.parse
import weakref
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.blob.aio import BlobServiceClient, ContainerClient, ExponentialRetry

from remote_store.errors import ConfigError
from remote_store.kit import RetryPolicy
from remote_store_azure import _retry
from remote_store_azure._options import (
    ENV_ACCOUNT_KEY,
    ENV_ACCOUNT_NAME,
    ENV_CONNECTION_STRING,
    ENV_SAS_TOKEN,
    AzureOptions,
    MiB,
    _env,
)

log = logging.getLogger("remote_store.azure")


def account_from_url(url: str) -> str | None:
    """The account name in ``https://<name>.blob…`` or a path-style ``http://host:port/<name>`` URL."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ".blob." in host:
        return host.split(".", 1)[0]
    first = parts.path.strip("/").split("/", 1)[0]
    return first or None


def _is_async_credential(credential: Any) -> bool:
    get_token = getattr(credential, "get_token", None) or getattr(credential, "get_token_info", None)
    return get_token is not None and inspect.iscoroutinefunction(get_token)


class SingleSendTransport(AioHttpTransport):  # type: ignore[misc]  # the package re-exports it lazily (Any to mypy)
    """azure-core's aiohttp transport with aiohttp's own silent resend switched off.

    aiohttp resends an idempotent request (PUT, DELETE) once, unseen by azure-core, when a
    reused keep-alive connection breaks before the response arrives. azure-core's retry
    policy then cannot tell the caller that a conditional create or a delete was sent twice,
    and the resend's 409/404 would turn a request that succeeded into `AlreadyExists` /
    `NotFound`. With this transport every resend goes through the retry policy, whose
    ``retry_hook`` lets the backend recognise its own first attempt. (aiohttp offers this
    switch only as the session attribute ``_retry_connection``; the retried-request tests
    fail if it ever stops working.)
    """

    async def open(self) -> None:
        await super().open()
        if self.session is not None and hasattr(self.session, "_retry_connection"):
            self.session._retry_connection = False


class AsyncBackoff(ExponentialRetry):  # type: ignore[misc]
    """The async twin of `remote_store_azure._retry.Backoff`: azure-storage's async
    ``ExponentialRetry`` obeying ``retries``, ``retry_backoff`` / ``retry_backoff_max``,
    ``retry_budget`` and ``retry_on``.

    Args:
        policy: The backend's `RetryPolicy`.

    Attributes:
        policy: The `RetryPolicy` in force.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        super().__init__(**_retry.stock_kwargs(policy))

    def configure_retries(self, request: Any) -> dict[str, Any]:
        """The stock settings plus the request's start time."""
        return _retry.configure(super().configure_retries(request))

    def increment(
        self, settings: dict[str, Any], request: Any, response: Any = None, error: AzureError | None = None
    ) -> bool:
        """The stock decision, narrowed by ``retry_on`` and ``retry_budget``."""
        return bool(super().increment(settings, request, response, error)) and _retry.admit(
            self.policy, settings, response, error
        )

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        """Seconds to wait before the next attempt (``settings["count"]`` retries so far)."""
        return _retry.delay(self.policy, settings)


def client_kwargs(opts: AzureOptions) -> dict[str, Any]:
    """Keyword arguments for one async service client: retry policy, transport (timeouts, TLS), sizes.

    Call it once per client: the transport in it belongs to that client (closed with it).
    """
    kwargs: dict[str, Any] = {
        "retry_policy": AsyncBackoff(RetryPolicy.from_options(opts, jitter=_retry.JITTER)),
        "transport": SingleSendTransport(
            connection_verify=opts.connection_verify,
            connection_timeout=opts.connection_timeout,
            read_timeout=opts.read_timeout,
        ),
        "max_single_put_size": opts.max_single_put_size,
        "max_block_size": opts.block_size,
        "max_chunk_get_size": opts.block_size,
        "max_single_get_size": max(opts.block_size, 32 * MiB),
    }
    if opts.api_version:
        kwargs["api_version"] = opts.api_version
    return kwargs


@dataclass
class _LoopClients:
    service: BlobServiceClient
    container: ContainerClient
    ready: asyncio.Future[None] | None = None
    owned_credential: Any = None


class AsyncClients:
    """The per-event-loop async clients of one backend.

    Args:
        opts: The backend's validated options.

    Attributes:
        hns: Whether the account reported a hierarchical namespace (set by the first setup).
    """

    def __init__(self, opts: AzureOptions) -> None:
        self._opts = opts
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = weakref.WeakKeyDictionary()
        self.hns = False
        self._detected = False

    # -- credentials
    def _credential(self, account_name: str | None, account_url: str) -> tuple[Any, Any]:
        """``(credential, credential this object owns and must close)`` by the documented precedence."""
        o = self._opts
        key = o.account_key.reveal() if o.account_key else _env(ENV_ACCOUNT_KEY)
        if key:
            name = account_name or account_from_url(account_url)
            if not name:
                raise ConfigError("account_name: needed with account_key", path="account_name")
            return {"account_name": name, "account_key": key}, None
        sas = o.sas_token.reveal() if o.sas_token else _env(ENV_SAS_TOKEN)
        if sas:
            return sas.lstrip("?"), None
        if o.credential is not None:
            if not _is_async_credential(o.credential):
                raise ConfigError(
                    "credential: the async backend needs an async token credential "
                    "(azure.identity.aio.*Credential), not a synchronous one",
                    path="credential",
                )
            return o.credential, None
        if o.anonymous:
            return None, None
        try:
            from azure.identity.aio import DefaultAzureCredential  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise ConfigError(
                "credential: no credentials given (connection_string, account_key, sas_token, credential "
                "or anonymous=true) and azure-identity is not installed: pip install remote-store-azure[identity]",
                path="credential",
            ) from None
        owned = DefaultAzureCredential()
        return owned, owned

    def _build(self) -> _LoopClients:
        o = self._opts
        kwargs = client_kwargs(o)
        conn = o.connection_string.reveal() if o.connection_string else None
        if conn is None and not (o.account_url or o.account_name):
            conn = _env(ENV_CONNECTION_STRING)
        owned: Any = None
        if conn:
            explicit = None
            if o.account_key or o.sas_token or o.credential is not None:
                explicit, owned = self._credential(o.account_name, o.account_url or "")
            try:
                service = BlobServiceClient.from_connection_string(conn, credential=explicit, **kwargs)
            except ValueError:
                raise ConfigError("connection_string: malformed connection string", path="connection_string") from None
        else:
            account_name = o.account_name or (None if o.account_url else _env(ENV_ACCOUNT_NAME))
            url = o.account_url or f"https://{account_name}.blob.core.windows.net"
            credential, owned = self._credential(account_name, url)
            service = BlobServiceClient(url, credential=credential, **kwargs)
        return _LoopClients(service, service.get_container_client(o.container), owned_credential=owned)

    async def _setup(self, clients: _LoopClients) -> None:
        if self._opts.create_container:
            try:
                await clients.container.create_container()
            except ResourceExistsError:
                pass
        if not self._opts.hierarchical and not self._detected:
            self.hns = await _detect_hns(clients.container)
            self._detected = True

    async def container(self) -> ContainerClient:
        """The container client for the running loop, set up on first use.

        Raises:
            ConfigError: The credentials options are unusable.
            Exception: Native azure errors of the setup requests (translated by the caller's store).
        """
        loop = asyncio.get_running_loop()
        clients = self._by_loop.get(loop)
        ready = clients.ready if clients is not None else None
        if ready is not None and ready.done() and not ready.cancelled() and ready.exception() is None:
            return clients.container  # type: ignore[union-attr]  # the hot path: set up, nothing to await
        if clients is None:
            clients = self._build()
            self._by_loop[loop] = clients
        if clients.ready is None:
            clients.ready = loop.create_task(self._setup(clients))
        ready = clients.ready
        try:
            # shield: a caller cancelled while waiting must not cancel the setup other callers share
            await asyncio.shield(ready)
        except BaseException:
            if ready.done() and clients.ready is ready:
                clients.ready = None  # the setup failed: try it again on the next call
            raise
        return clients.container

    async def aclose(self) -> None:
        """Close the running loop's clients (transport and owned credential); idempotent.

        Client sets of other loops are dropped unclosed (their loops cannot run them any more).
        """
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        mine = self._by_loop.pop(loop, None) if loop is not None else None
        self._by_loop.clear()
        if mine is None:
            return
        if mine.ready is not None and not mine.ready.done():
            mine.ready.cancel()
        await mine.service.close()
        if mine.owned_credential is not None:
            await mine.owned_credential.close()


async def _detect_hns(cc: ContainerClient) -> bool:
    """Whether the account has a hierarchical namespace (Get Account Information's ``x-ms-is-hns-enabled``).

    False when the service does not report it (emulators, older API versions) or refuses the call.
    """
    try:
        info = await cc.get_account_information()
    except Exception as exc:  # best effort: a refused call means "not known to be HNS"
        log.debug("azure: account information unavailable (%s); assuming a flat namespace", type(exc).__name__)
        return False
    return bool(info.get("is_hns_enabled"))
