"""Parquet datasets with an all-or-nothing commit: parts, a JSON manifest, and ``_SUCCESS`` last.

::

    from remote_store_ext.parquet import ParquetDatasetStore

    sales = ParquetDatasetStore(store, "sales")
    sales.write(table, partition_cols=["year"])            # mode="append" by default
    sales.write(corrections, mode="overwrite")
    sales.read(columns=["amount"], filter=pyarrow.dataset.field("year") == 2024)

Layout below the dataset folder::

    year=2024/part-<generation>-<token>-0.parquet      parts (Hive partition folders)
    _manifests/<generation>.json                       one immutable manifest per commit
    _SUCCESS                                           {"generation": N, "manifest": "..."}

A write (1) writes its parts, each atomically through ``Store.open_atomic``; (2) writes
the manifest of the new generation with ``overwrite=False``; (3) replaces ``_SUCCESS``
atomically. ``_SUCCESS`` is the commit point: readers follow it to one manifest and
read exactly the parts it lists, so a reader sees the previous generation or the new
one, never a mix, and a writer that dies before step 3 (exception, SIGKILL) changes
nothing readers see. Its parts stay behind as unreferenced files until `vacuum`.
PyArrow's own discovery (``pyarrow.dataset.dataset(folder)``) skips the ``_``-prefixed
bookkeeping files, but it would also read uncommitted parts: read through this class.

One writer per dataset at a time: two writers that race for the same generation make
the second fail with `AlreadyExists` (where the backend enforces ``overwrite=False``
atomically), but a stalled writer can still commit after a newer one.

Needs the ``arrow`` extra: ``pip install "remote-store-ext[arrow]"``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import pyarrow as pa
import pyarrow.dataset as ds

from remote_store import Store
from remote_store.errors import ConfigError, ContentChanged, NotFound
from remote_store_ext.arrow import pyarrow_fs

__all__ = ["DatasetManifest", "ParquetDatasetStore"]

SUCCESS = "_SUCCESS"
MANIFESTS = "_manifests"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class DatasetManifest:
    """One committed generation of a dataset: the parts readers may read, and their schema.

    Attributes:
        generation: Commit number, 1 for the first write, +1 per write.
        parts: Part paths relative to the dataset folder (``"year=2024/part-…parquet"``).
        schema: Arrow schema of the dataset, partition columns included.
        partition_cols: Hive partition columns, outermost first.
        num_rows: Rows in all parts together.
        created_at: Commit time, ISO 8601 UTC.
    """

    generation: int
    parts: tuple[str, ...]
    schema: pa.Schema
    partition_cols: tuple[str, ...] = ()
    num_rows: int = 0
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> str:
        """Serialise as JSON (the schema as base64 Arrow IPC)."""
        return json.dumps(
            {
                "format_version": FORMAT_VERSION,
                "generation": self.generation,
                "parts": list(self.parts),
                "schema": base64.b64encode(self.schema.serialize().to_pybytes()).decode("ascii"),
                "partition_cols": list(self.partition_cols),
                "num_rows": self.num_rows,
                "created_at": self.created_at,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> DatasetManifest:
        """Parse `to_json` output.

        Raises:
            ContentChanged: ``text`` is not a manifest this version understands.
        """
        try:
            doc = json.loads(text)
            if doc.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"unknown format_version {doc.get('format_version')!r}")
            schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(doc["schema"])))
            return cls(
                generation=int(doc["generation"]),
                parts=tuple(str(p) for p in doc["parts"]),
                schema=schema,
                partition_cols=tuple(str(c) for c in doc["partition_cols"]),
                num_rows=int(doc["num_rows"]),
                created_at=str(doc["created_at"]),
            )
        except (ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            raise ContentChanged(f"not a valid dataset manifest: {exc}") from exc


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


class ParquetDatasetStore:
    """A (Hive-partitioned) Parquet dataset in folder ``path`` of ``store`` with atomic commits.

    Args:
        store (Store): Needs READ, WRITE, ATOMIC_WRITE and LIST (DELETE for `vacuum`).
        path (str): Dataset folder, store-relative (``""`` = the store root).
    """

    def __init__(self, store: Store, path: str = "") -> None:
        self._store = store
        self._path = path.strip("/")
        self._fs = pyarrow_fs(store)

    @property
    def path(self) -> str:
        """The dataset folder."""
        return self._path

    def _p(self, rel: str) -> str:
        return _join(self._path, rel)

    # ------------------------------------------------------------------ read
    def manifest(self) -> DatasetManifest | None:
        """The committed manifest (``_SUCCESS`` → ``_manifests/N.json``), or None before the first commit.

        Raises:
            ContentChanged: ``_SUCCESS`` or the manifest is corrupt.
        """
        try:
            marker = json.loads(self._store.read_bytes(self._p(SUCCESS)))
            name = str(marker["manifest"])
        except NotFound:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise ContentChanged(f"{SUCCESS} is not valid: {exc}", path=self._p(SUCCESS)) from exc
        return DatasetManifest.from_json(self._store.read_bytes(self._p(name)))

    def dataset(self, manifest: DatasetManifest | None = None) -> ds.Dataset:
        """A ``pyarrow.dataset.Dataset`` over exactly the parts of ``manifest`` (default: the committed one).

        Raises:
            NotFound: Nothing was ever committed.
        """
        m = manifest or self.manifest()
        if m is None:
            raise NotFound("no committed dataset (no _SUCCESS)", path=self._p(SUCCESS))
        part_schema = pa.schema([m.schema.field(c) for c in m.partition_cols])
        return ds.dataset(
            [self._p(p) for p in m.parts],
            schema=m.schema,
            filesystem=self._fs,
            format="parquet",
            partitioning=ds.partitioning(part_schema, flavor="hive") if m.partition_cols else None,
            partition_base_dir=self._path,
        )

    def read(self, columns: Sequence[str] | None = None, filter: Any = None) -> pa.Table:
        """Read the committed dataset (only the parts its manifest lists).

        Args:
            columns (Sequence[str] | None): Columns to read (default all).
            filter (pyarrow.compute.Expression | None): Row filter; partition columns prune parts.

        Raises:
            NotFound: Nothing was ever committed.
        """
        return self.dataset().to_table(columns=list(columns) if columns is not None else None, filter=filter)

    # ------------------------------------------------------------------ write
    def _next_generation(self, current: DatasetManifest | None) -> int:
        seen = current.generation if current else 0
        for info in self._store.list_files(self._p(MANIFESTS)):
            stem = info.name.removesuffix(".json")
            if stem.isdigit():
                seen = max(seen, int(stem))
        return seen + 1

    def write(
        self,
        data: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch],
        *,
        mode: Literal["append", "overwrite"] = "append",
        partition_cols: Sequence[str] = (),
        schema: pa.Schema | None = None,
        max_rows_per_file: int | None = None,
    ) -> DatasetManifest:
        """Write ``data`` as new parts and commit a new generation.

        ``append`` keeps the committed parts and adds the new ones; ``overwrite`` commits only
        the new ones (old parts stay on storage until `vacuum`, so running readers finish).

        Args:
            data: A table, a record batch, or an iterable of record batches (then ``schema`` is required).
            mode: ``"append"`` or ``"overwrite"``.
            partition_cols: Hive partition columns; with ``append`` they must match the dataset's.
            schema: Schema of ``data`` when it is an iterable of batches.
            max_rows_per_file: Split parts after this many rows (default: PyArrow's).

        Returns:
            The committed `DatasetManifest`.

        Raises:
            ConfigError: Bad ``mode``, missing ``schema``, or ``append`` with another schema or
                other partition columns.
            AlreadyExists: Another writer committed the same generation first.
            RemoteStoreError: Otherwise the errors of ``Store.open_atomic``; on any error nothing
                is committed.
        """
        if mode not in ("append", "overwrite"):
            raise ConfigError(f"mode must be 'append' or 'overwrite', not {mode!r}")
        if isinstance(data, pa.Table | pa.RecordBatch):
            schema = data.schema
        elif schema is None:
            raise ConfigError("schema is required when data is an iterable of record batches")
        current = self.manifest()
        cols = tuple(partition_cols)
        if mode == "append" and current is not None:
            if cols != current.partition_cols:
                raise ConfigError(f"partition_cols {cols} differ from the dataset's {current.partition_cols}")
            if not schema.equals(current.schema):
                raise ConfigError("schema differs from the dataset's; write with mode='overwrite'")
        generation = self._next_generation(current)
        token = uuid.uuid4().hex[:12]
        written: list[str] = []
        rows = 0

        def visit(f: Any) -> None:
            nonlocal rows
            written.append(f.path)
            if f.metadata is not None:
                rows += f.metadata.num_rows

        part_schema = pa.schema([schema.field(c) for c in cols]) if cols else None
        extra: dict[str, Any] = {}
        if max_rows_per_file is not None:
            extra.update(max_rows_per_file=max_rows_per_file, max_rows_per_group=min(max_rows_per_file, 1 << 20))
        ds.write_dataset(
            data,
            self._path,
            schema=schema,
            filesystem=self._fs,
            format="parquet",
            partitioning=ds.partitioning(part_schema, flavor="hive") if part_schema is not None else None,
            basename_template=f"part-{generation:010d}-{token}-{{i}}.parquet",
            existing_data_behavior="overwrite_or_ignore",
            file_visitor=visit,
            create_dir=False,
            **extra,
        )
        prefix = self._path + "/" if self._path else ""
        new_parts = tuple(sorted(p.strip("/")[len(prefix) :] for p in written))
        kept = current.parts if (mode == "append" and current is not None) else ()
        manifest = DatasetManifest(
            generation=generation,
            parts=kept + new_parts,
            schema=schema,
            partition_cols=cols,
            num_rows=rows + (current.num_rows if kept and current else 0),
        )
        name = _join(MANIFESTS, f"{generation:010d}.json")
        self._store.write_atomic(self._p(name), manifest.to_json().encode("utf-8"))
        marker = json.dumps({"generation": generation, "manifest": name}).encode("utf-8")
        self._store.write_atomic(self._p(SUCCESS), marker, overwrite=True)
        return manifest

    # ------------------------------------------------------------------ cleanup
    def vacuum(self) -> int:
        """Delete parts and manifests the committed generation does not reference (left by
        ``overwrite`` or by writers that died before committing). Readers still reading an
        older generation lose its files: run it when no such reader is active.

        Returns:
            How many files were deleted.

        Raises:
            NotFound: Nothing was ever committed.
        """
        current = self.manifest()
        if current is None:
            raise NotFound("no committed dataset (no _SUCCESS)", path=self._p(SUCCESS))
        keep = {self._p(p) for p in current.parts}
        keep.add(self._p(_join(MANIFESTS, f"{current.generation:010d}.json")))
        keep.add(self._p(SUCCESS))
        removed = 0
        for info in list(self._store.list_files(self._path, recursive=True)):
            name = info.name
            is_part = name.startswith("part-") and name.endswith(".parquet")
            is_manifest = info.path.startswith(self._p(MANIFESTS) + "/")
            if (is_part or is_manifest) and info.path not in keep:
                self._store.delete(info.path, missing_ok=True)
                removed += 1
        return removed
