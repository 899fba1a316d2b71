"""`RemoteStoreComputeLogManager`: Dagster compute logs (stdout / stderr) kept in a Store.

Dagster's base class and instance-config plumbing (`ComputeLogManager`, `ConfigurableClass`,
`LocalComputeLogManager`) are public API documented under their module paths, which is where
they are imported from.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

import dagster as dg
from dagster._core.storage.compute_log_manager import (
    CapturedLogContext,
    CapturedLogMetadata,
    CapturedLogSubscription,
    ComputeIOType,
    ComputeLogManager,
)
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from dagster._serdes import ConfigurableClass, ConfigurableClassData

from remote_store import Capability, Store
from remote_store.errors import ConfigError, InvalidPath
from remote_store_ext._dagster_store import open_configured_store

#: File extension of each stream's log file in the store.
EXTENSIONS: Mapping[ComputeIOType, str] = {ComputeIOType.STDOUT: ".out", ComputeIOType.STDERR: ".err"}
_LOCAL_EXT = {ComputeIOType.STDOUT: "out", ComputeIOType.STDERR: "err"}


class RemoteStoreComputeLogManager(ComputeLogManager, ConfigurableClass):  # type: ignore[misc]
    """Captures each step's (or run's) stdout and stderr and keeps them in a `Store`.

    While a capture runs, the output is mirrored to files in a local folder (Dagster's
    `LocalComputeLogManager` does the capturing, so reads during a run see it live); when it
    ends both streams are uploaded to ``<prefix>/<log key, joined by "/">.out`` and ``.err``
    (atomically where the store has ATOMIC_WRITE) and the local files are removed. Reads
    after that are served from the store with ranged reads where the backend has them.
    Subscriptions fetch what is there when they are made (no live polling of the store).

    In ``dagster.yaml``::

        compute_logs:
          module: remote_store_ext.dagster
          class: RemoteStoreComputeLogManager
          config:
            store: logs                       # a store name or URL, or:
            # backend: {type: s3, options: {bucket: b}}
            prefix: compute-logs

    Args:
        store: A `Store` to write to (not closed by the manager), or a store name / URL to
            open (closed by `dispose`).
        backend: A backend table ``{"type": ..., "options": {...}}`` instead of ``store``.
        root_path: Folder below an opened store's root to use as the root.
        config_file: A TOML/YAML config file to look a store name up in.
        prefix: Folder below the store root for the logs.
        local_dir: Local folder for in-progress captures (default: a new temporary folder,
            removed by `dispose`).
        inst_data: Dagster's instance-config data (set by `from_config_value`).

    Raises:
        ConfigError: Both or neither of ``store`` and ``backend``, or the store cannot be
            opened (see `DagsterStoreResource.open`).
        InvalidPath: ``prefix`` or ``root_path`` is malformed.
    """

    def __init__(
        self,
        store: Store | str | None = None,
        *,
        backend: Mapping[str, Any] | None = None,
        root_path: str = "",
        config_file: str | None = None,
        prefix: str = "compute-logs",
        local_dir: str | None = None,
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        if isinstance(store, Store):
            if backend is not None:
                raise ConfigError("give either a Store or a 'backend' table, not both")
            self._owned = False
            opened = store
        else:
            opened = open_configured_store(store, backend, root_path, config_file)
            self._owned = True
        base = prefix.strip("/")
        try:
            self._store = opened.child(base) if base else opened
        except Exception:
            if self._owned:
                opened.close()
            raise
        self._opened = opened
        self._tempdir = None if local_dir else tempfile.mkdtemp(prefix="rs-dagster-logs-")
        self._local = LocalComputeLogManager(local_dir or self._tempdir or "")
        self._inst_data = inst_data

    # ------------------------------------------------------------------ instance config
    @property
    def inst_data(self) -> ConfigurableClassData | None:
        """Dagster's instance-config data this manager was built from (None when built in code)."""
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        """The ``config:`` keys accepted in ``dagster.yaml`` (the constructor's, ``store`` as a string)."""
        return {
            "store": dg.Field(dg.StringSource, is_required=False),
            "backend": dg.Field(dg.Permissive(), is_required=False),  # type: ignore[no-untyped-call]
            "root_path": dg.Field(dg.StringSource, default_value=""),
            "config_file": dg.Field(dg.StringSource, is_required=False),
            "prefix": dg.Field(dg.StringSource, default_value="compute-logs"),
            "local_dir": dg.Field(dg.StringSource, is_required=False),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> RemoteStoreComputeLogManager:
        """Build the manager from ``dagster.yaml`` config. Raises as the constructor."""
        return cls(inst_data=inst_data, **dict(config_value))

    # ------------------------------------------------------------------ layout
    @property
    def store(self) -> Store:
        """The store the logs are written to (rooted at ``prefix``)."""
        return self._store

    def log_path(self, log_key: Sequence[str], io_type: ComputeIOType) -> str:
        """The store-relative path of one stream's log.

        Raises:
            InvalidPath: The log key is empty or has a segment that is not a plain name.
        """
        parts = list(log_key)
        if not parts or any(not part or "/" in part or part in (".", "..") for part in parts):
            raise InvalidPath(f"not a usable log key: {parts!r}", path="/".join(parts))
        return "/".join(parts) + EXTENSIONS[io_type]

    def _local_path(self, log_key: Sequence[str], io_type: ComputeIOType) -> str:
        return str(self._local.get_captured_local_path(log_key, _LOCAL_EXT[io_type]))

    def _upload(self, log_key: Sequence[str]) -> None:
        atomic = self._store.supports(Capability.ATOMIC_WRITE)
        # stdout first: stderr's presence in the store is what marks the capture complete.
        for io_type in (ComputeIOType.STDOUT, ComputeIOType.STDERR):
            local = self._local_path(log_key, io_type)
            path = self.log_path(log_key, io_type)
            if not os.path.isfile(local):
                with open(local, "wb"):
                    pass
            with open(local, "rb") as stream:
                if atomic:
                    self._store.write_atomic(path, stream, overwrite=True)
                else:
                    self._store.write(path, stream, overwrite=True)
        self._local.delete_logs(log_key=log_key)

    # ------------------------------------------------------------------ capture
    @contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Iterator[CapturedLogContext]:
        """Capture this process's stdout and stderr under ``log_key``, uploading both when done.

        Raises:
            InvalidPath: ``log_key`` is not usable. Upload errors as `Store.write_atomic`.
        """
        self.log_path(log_key, ComputeIOType.STDOUT)
        with self._local.capture_logs(log_key) as context:
            yield context
        self._upload(log_key)

    @contextmanager
    def open_log_stream(self, log_key: Sequence[str], io_type: ComputeIOType) -> Iterator[IO[Any] | None]:
        """A text stream appended to ``io_type``'s log; both streams are uploaded when it closes.

        Raises:
            InvalidPath: ``log_key`` is not usable. Upload errors as `Store.write_atomic`.
        """
        self.log_path(log_key, io_type)
        with self._local.open_log_stream(log_key, io_type) as stream:
            yield stream
        self._upload(log_key)

    def is_capture_complete(self, log_key: Sequence[str]) -> bool:
        """Whether the capture ended: the local marker exists or stderr's log is in the store."""
        if self._local.is_capture_complete(log_key):
            return True
        return self._store.is_file(self.log_path(log_key, ComputeIOType.STDERR))

    # ------------------------------------------------------------------ reading
    def get_log_data_for_type(
        self, log_key: Sequence[str], io_type: ComputeIOType, offset: int, max_bytes: int | None
    ) -> tuple[bytes | None, int]:
        """Up to ``max_bytes`` of one stream's log from byte ``offset``, and the offset after them.

        Served from the local capture while it runs, else from the store (`Store.read_seekable`:
        a ranged read where the backend has SEEKABLE_READ). ``(None, offset)`` when there is no log.

        Raises:
            InvalidPath: ``log_key`` is not usable. Otherwise as `Store.read_seekable`.
        """
        path = self.log_path(log_key, io_type)
        if os.path.isfile(self._local_path(log_key, io_type)):
            data, new_offset = self._local.get_log_data_for_type(log_key, io_type, offset, max_bytes)
            return data, int(new_offset)
        if not self._store.is_file(path):
            return None, offset
        with self._store.read_seekable(path) as stream:
            stream.seek(offset)
            data = stream.read() if max_bytes is None else stream.read(max_bytes)
        return data, offset + len(data)

    def get_log_metadata(self, log_key: Sequence[str]) -> CapturedLogMetadata:
        """Where the logs are: the backend-native path of each stream's file (no download URL)."""
        return CapturedLogMetadata(
            stdout_location=self._store.native_path(self.log_path(log_key, ComputeIOType.STDOUT)),
            stderr_location=self._store.native_path(self.log_path(log_key, ComputeIOType.STDERR)),
        )

    def get_log_keys_for_log_key_prefix(
        self, log_key_prefix: Sequence[str], io_type: ComputeIOType
    ) -> Sequence[list[str]]:
        """The log keys of ``io_type`` logs directly below ``log_key_prefix`` in the store.

        Raises:
            InvalidPath: The prefix has a segment that is not a plain name. As `Store.list_files`.
        """
        prefix = list(log_key_prefix)
        folder = self.log_path(prefix, io_type)[: -len(EXTENSIONS[io_type])] if prefix else ""
        if folder and not self._store.is_folder(folder):
            return []
        ext = EXTENSIONS[io_type]
        return [[*prefix, info.name[: -len(ext)]] for info in self._store.list_files(folder) if info.name.endswith(ext)]

    def delete_logs(self, log_key: Sequence[str] | None = None, prefix: Sequence[str] | None = None) -> None:
        """Delete one capture's logs (``log_key``) or every log below ``prefix``, here and locally.

        Raises:
            ConfigError: Neither argument is given.
            InvalidPath: A key is not usable.
            RemoteStoreError: Otherwise as `Store.delete` / `Store.delete_folder`.
        """
        if log_key:
            for io_type in EXTENSIONS:
                self._store.delete(self.log_path(log_key, io_type), missing_ok=True)
            self._local.delete_logs(log_key=log_key)
        elif prefix:
            folder = self.log_path(prefix, ComputeIOType.STDOUT)[: -len(EXTENSIONS[ComputeIOType.STDOUT])]
            self._store.delete_folder(folder, recursive=True, missing_ok=True)
            self._local.delete_logs(prefix=prefix)
        else:
            raise ConfigError("delete_logs needs a log_key or a prefix")

    def subscribe(self, log_key: Sequence[str], cursor: str | None = None) -> CapturedLogSubscription:
        """A subscription that fetches the log data present when it is observed."""
        return CapturedLogSubscription(self, log_key, cursor)

    def unsubscribe(self, subscription: CapturedLogSubscription) -> None:
        """Nothing to stop: subscriptions do not poll."""

    def dispose(self) -> None:
        """Close a store the manager opened and remove its temporary capture folder."""
        self._local.dispose()
        if self._owned:
            self._opened.close()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
