"""`AsyncAzureBase`: options, identity, clients and the shared helpers of `AsyncAzureBackend`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobProperties

from remote_store import Capability, CapabilitySet, FileInfo
from remote_store.aio import AsyncBackend
from remote_store.errors import InvalidPath, NotFound, RemoteStoreError
from remote_store_azure._aio_client import AsyncClients
from remote_store_azure._aio_upload import strip_etag
from remote_store_azure._errors import BACKEND, error_code, translate
from remote_store_azure._metadata import is_folder_blob, reported_metadata
from remote_store_azure._names import unaddressable
from remote_store_azure._options import AzureOptions, MiB

if TYPE_CHECKING:
    from azure.storage.blob.aio import BlobClient, ContainerClient

log = logging.getLogger("remote_store.azure")

#: Distinct unaddressable blob names warned about per backend (later ones are only counted).
_WARN_LIMIT = 1000


def parent_key(key: str) -> str:
    """The parent folder key of ``key`` (``""`` at the top)."""
    return key.rsplit("/", 1)[0] if "/" in key else ""


class AsyncAzureBase(AsyncBackend):
    """Configuration, clients and lookup helpers shared by the async Azure backend's modules.

    Not a backend on its own: `AsyncAzureBackend` adds the operations.

    Args:
        opts: Validated options.
    """

    TYPE = "azure"
    CAPABILITIES = CapabilitySet.all() - {Capability.ATOMIC_MOVE, Capability.HIERARCHICAL}

    def __init__(self, opts: AzureOptions) -> None:
        self._opts = opts
        self._clients = AsyncClients(opts)
        self._root = opts.prefix + "/" if opts.prefix else ""
        #: Largest ranged GET of a streaming read: ``read_block_size`` where the options have
        #: it, else ``block_size``; capped at 32 MiB.
        self._read_block = min(getattr(opts, "read_block_size", None) or opts.block_size, 32 * MiB)
        self._warned: set[str] = set()
        #: How many times a listing skipped a blob name no store path can address.
        self.unaddressable_count = 0

    # -- identity
    @property
    def hierarchical(self) -> bool:
        """Whether "a key is a file or a folder, never both" is enforced (option, or an HNS account)."""
        return self._opts.hierarchical or self._clients.hns

    @property
    def capabilities(self) -> CapabilitySet:
        """The class's capabilities, plus `Capability.HIERARCHICAL` when `hierarchical` is True."""
        if self.hierarchical:
            return self.CAPABILITIES | {Capability.HIERARCHICAL}
        return self.CAPABILITIES

    @property
    def azure_options(self) -> AzureOptions:
        """The validated `AzureOptions`."""
        return self._opts

    @property
    def options(self) -> dict[str, Any]:
        """Constructor keyword arguments (non-default options; credentials as `Secret`)."""
        return self._opts.as_kwargs()

    def native_path(self, key: str) -> str:
        """``az://<container>/<prefix>/<key>``."""
        return f"az://{self._opts.container}/{self._root}{key}"

    def to_key(self, native: str) -> str:
        """Inverse of `native_path`; also accepts a blob name inside the prefix.

        Raises:
            InvalidPath: ``native`` is outside this backend's container or prefix.
        """
        head = f"az://{self._opts.container}/"
        name = native[len(head) :] if native.startswith(head) else native
        if "://" in name:
            raise InvalidPath("not a blob of this backend's container", path=native)
        if self._root:
            if not name.startswith(self._root):
                raise InvalidPath("outside the backend prefix", path=native)
            name = name[len(self._root) :]
        return name

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """Map azure-core / azure-storage-blob exceptions (see `remote_store_azure._errors.translate`)."""
        return translate(exc, key, container=self._opts.container)

    # -- clients
    async def _cc(self) -> ContainerClient:
        return await self._clients.container()

    async def _blob(self, key: str) -> BlobClient:
        return (await self._cc()).get_blob_client(self._root + key)

    async def aclose(self) -> None:
        """Close the running loop's HTTP transport (aiohttp session) and any credential this
        backend created; idempotent. A later call reconnects lazily."""
        await self._clients.aclose()

    # -- helpers
    def _info(self, key: str, props: BlobProperties) -> FileInfo:
        settings = props.content_settings
        return FileInfo(
            path=key,
            name=key.rsplit("/", 1)[-1],
            size=int(props.size or 0),
            modified_at=props.last_modified,
            etag=strip_etag(props.etag),
            version_id=props.version_id,
            content_type=settings.content_type if settings else None,
            metadata=reported_metadata(props.metadata, settings.content_encoding if settings else None),
        )

    def _report(self, name: str) -> None:
        """Count (and warn once about) a blob name no store path can address."""
        self.unaddressable_count += 1
        if name in self._warned or len(self._warned) >= _WARN_LIMIT:
            return
        self._warned.add(name)
        log.warning(
            "azure: blob %r in container %r has a name no store path can address (an empty, '.' or '..' "
            "segment, or a non-empty name ending in '/'); listings skip it, delete_folder removes it "
            "(counted in AsyncAzureBackend.unaddressable_count)",
            name,
            self._opts.container,
        )

    def _file_key(self, item: BlobProperties, start: str) -> str | None:
        """The key of a listed blob if it is a file below ``start``; None for folder blobs and others."""
        name: str = item.name
        if not name.startswith(start) or name == start:
            return None
        if (name.endswith("/") and not item.size) or is_folder_blob(item.metadata):
            return None  # "name/" marker or ADLS-style folder blob
        key = name[len(self._root) :]
        if unaddressable(key):
            self._report(name)
            return None
        return key

    async def _has_children(self, key: str) -> bool:
        cc = await self._cc()
        pages = cc.list_blobs(name_starts_with=self._root + key + "/", results_per_page=1).by_page()
        async for page in pages:
            async for _ in page:
                return True
            break
        return False

    async def _missing(self, key: str, exc: BaseException) -> RemoteStoreError:
        """The error for a 404 on ``key``: `InvalidPath` for a folder, `NotFound` otherwise (one listing)."""
        if error_code(exc) == "ContainerNotFound":
            return NotFound(f"container {self._opts.container!r} does not exist", path=key, backend=BACKEND)
        if await self._has_children(key):
            return InvalidPath("is a folder", path=key, backend=BACKEND)
        return NotFound("file not found", path=key, backend=BACKEND)

    async def _props(self, key: str) -> BlobProperties:
        """Get Blob Properties of the *file* ``key``.

        Raises:
            NotFound: No blob (and no folder) at ``key``.
            InvalidPath: ``key`` is a folder (an ADLS folder blob, or blobs below it).
        """
        blob = await self._blob(key)
        try:
            props = await blob.get_blob_properties()
        except ResourceNotFoundError as exc:
            raise await self._missing(key, exc) from exc
        if is_folder_blob(props.metadata):
            raise InvalidPath("is a folder", path=key, backend=BACKEND)
        return props

    async def _blob_is(self, key: str, *, folder: bool) -> bool:
        """Whether the blob ``key`` exists and is a file (``folder`` False) or an ADLS folder blob (True)."""
        blob = await self._blob(key)
        try:
            props = await blob.get_blob_properties()
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                raise
            return False
        return is_folder_blob(props.metadata) == folder
