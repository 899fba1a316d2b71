"""The Dagster IO manager and store resource of `remote_store_ext.dagster` (extra ``dagster``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from remote_store import Store
from remote_store_ext._dagster_store import open_configured_store
from remote_store_ext.datastore import DataStore


class DagsterStoreResource(dg.ConfigurableResource):  # type: ignore[type-arg,misc]
    """A Dagster resource that opens a remote-store `Store` from config.

    Configure exactly one of ``store`` and ``backend``::

        DagsterStoreResource(store="warehouse")                 # from remote-store.toml
        DagsterStoreResource(store="s3://bucket/dagster")       # a URL
        DagsterStoreResource(backend={"type": "s3", "options": {"bucket": "b",
                             "secret_access_key": "${AWS_SECRET_ACCESS_KEY}"}})

    The store is opened when a run initializes the resource (`setup_for_execution`) and
    closed when the run tears it down; `get_store` returns it (outside a run it opens one on
    first use, which `close` releases).

    Attributes:
        store: A store name from the remote-store config sources (or ``config_file``), or a URL.
        backend: A backend table ``{"type": ..., "options": {...}}`` as in ``remote-store.toml``;
            ``${VAR}`` placeholders in it are resolved from the environment when opened, so
            keep credentials out of run config that way.
        root_path: Folder below the store's root to use as the root (``""``: the root).
        config_file: A TOML/YAML config file to look ``store`` up in.
    """

    store: str | None = None
    backend: dict[str, Any] | None = None
    root_path: str = ""
    config_file: str | None = None

    _opened: Store | None = PrivateAttr(default=None)

    def open(self) -> Store:
        """Open a new store from this config; the caller closes it.

        Raises:
            ConfigError: Both or neither of ``store`` and ``backend``, an unknown store name
                (`ConfigKeyError`) or backend type, or invalid options.
            InvalidPath: ``root_path`` is malformed.
        """
        return open_configured_store(self.store, self.backend, self.root_path, self.config_file)

    def get_store(self) -> Store:
        """The resource's store (opened by `setup_for_execution`, or now on first use).

        Raises:
            ConfigError, InvalidPath: As `open`.
        """
        if self._opened is None:
            self._opened = self.open()
        return self._opened

    def close(self) -> None:
        """Close the store this resource opened, if any (the next `get_store` opens a new one)."""
        opened, self._opened = self._opened, None
        if opened is not None:
            opened.close()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Dagster hook: open the store for the run. Raises as `open`."""
        self.get_store()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Dagster hook: close the store opened for the run."""
        self.close()


class StoreIOManager(dg.IOManager):  # type: ignore[misc]
    """A Dagster IO manager that keeps outputs in a `Store` through the `DataStore` codecs.

    Each output is saved with `DataStore.save` under ``prefix``: an asset at
    ``<prefix>/<asset key path>``, one partition of it at ``<prefix>/<asset key path>/<partition
    key>``, an op output at ``<prefix>/<run id>/<step key>/<output name>``, each plus the
    extension of the codec the value's type selects (``.parquet`` for a DataFrame, ``.json``
    for a dict …). Inputs are read back by stem (`DataStore.load`); an input spanning several
    partitions is a ``dict`` of partition key → value. Each output's metadata records the
    backend-native ``path`` written.

    Args:
        store: The store to keep outputs in (not closed by the IO manager).
        prefix: Folder below the store root for all outputs (``""``: the root).
        allow_pickle: Let values no safe codec handles be pickled (and unpickled on load).

    Raises:
        InvalidPath: ``prefix`` is malformed.
    """

    def __init__(self, store: Store, *, prefix: str = "dagster", allow_pickle: bool = False) -> None:
        base = prefix.strip("/")
        self.store = store.child(base) if base else store
        self.data = DataStore(self.store, allow_pickle=allow_pickle)

    @staticmethod
    def _key(parts: list[str]) -> str:
        return "/".join(parts)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Save ``obj`` (see the class docstring); a ``Nothing`` output writes nothing.

        A run over several partitions of one asset must return a ``dict`` of partition key → value.

        Raises:
            NoCodec: No codec stores the value.
            PickleNotAllowed: Only pickle could store it and pickle is not enabled.
            InvalidPath: The value for several partitions is not such a ``dict``.
            RemoteStoreError: Otherwise as `Store.write_atomic` (`BackendUnavailable`,
                `PermissionDenied` …).
        """
        if context.dagster_type.is_nothing:
            return
        written: list[str] = []
        if context.has_asset_key and context.has_asset_partitions and len(context.asset_partition_keys) > 1:
            from remote_store.errors import InvalidPath

            keys = list(context.asset_partition_keys)
            if not isinstance(obj, Mapping) or set(obj) != set(keys):
                raise InvalidPath(
                    f"an output for {len(keys)} partitions must be a dict of partition key to value",
                    path=self._key(list(context.asset_key.path)),
                )
            for partition in keys:
                written.append(self.data.save(self._key([*context.asset_key.path, partition]), obj[partition]))
        elif context.has_asset_key:
            written.append(self.data.save(self._key(list(context.get_asset_identifier())), obj))
        else:
            written.append(self.data.save(self._key(list(context.get_identifier())), obj))
        paths = [self.store.native_path(path) for path in written]
        value = dg.MetadataValue.path(paths[0]) if len(paths) == 1 else dg.MetadataValue.json(paths)
        context.add_output_metadata({"path": value})

    def load_input(self, context: dg.InputContext) -> Any:
        """Load the upstream output (a ``dict`` of partition key → value for several partitions).

        Raises:
            KeyNotFound: The output (or a partition) was never stored (a `NotFound`).
            AmbiguousKey, CodecError, PickleNotAllowed: As `DataStore.load`.
        """
        if context.has_asset_key:
            base = list(context.asset_key.path)
            if context.has_asset_partitions:
                keys = list(context.asset_partition_keys)
                if len(keys) == 1:
                    return self.data.load(self._key([*base, keys[0]]))
                return {key: self.data.load(self._key([*base, key])) for key in keys}
            return self.data.load(self._key(base))
        upstream = context.upstream_output
        if upstream is None:
            from remote_store.errors import InvalidPath

            raise InvalidPath("an input with neither an asset key nor an upstream output cannot be loaded")
        return self.data.load(self._key(list(upstream.get_identifier())))


class RemoteStoreIOManager(dg.ConfigurableIOManager):  # type: ignore[misc]
    """The config-driven IO manager: a `DagsterStoreResource` plus where and how to store.

    ::

        defs = dg.Definitions(
            assets=[...],
            resources={"io_manager": RemoteStoreIOManager(
                store=DagsterStoreResource(store="warehouse"), prefix="dagster")},
        )

    Behaves as `StoreIOManager` over the resource's store (read that class for the layout).

    Attributes:
        store: The resource that opens the store (opened for each run, closed after it).
        prefix: Folder below the store root for all outputs.
        allow_pickle: Let values no safe codec handles be pickled (and unpickled on load).
    """

    store: DagsterStoreResource
    prefix: str = "dagster"
    allow_pickle: bool = False

    def _manager(self) -> StoreIOManager:
        return StoreIOManager(self.store.get_store(), prefix=self.prefix, allow_pickle=self.allow_pickle)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Save ``obj``; raises as `StoreIOManager.handle_output`."""
        self._manager().handle_output(context, obj)

    def load_input(self, context: dg.InputContext) -> Any:
        """Load an input; raises as `StoreIOManager.load_input`."""
        return self._manager().load_input(context)


def dagster_io_manager(store: Store, *, prefix: str = "dagster", allow_pickle: bool = False) -> StoreIOManager:
    """An IO manager over a `Store` you already hold (use it as the ``io_manager`` resource).

    ::

        dg.materialize([sales], resources={"io_manager": dagster_io_manager(store)})

    Args:
        store: Where outputs live (not closed by the IO manager).
        prefix: Folder below the store root for all outputs.
        allow_pickle: Let values no safe codec handles be pickled.

    Returns:
        A `StoreIOManager`.

    Raises:
        InvalidPath: ``prefix`` is malformed.
    """
    return StoreIOManager(store, prefix=prefix, allow_pickle=allow_pickle)
