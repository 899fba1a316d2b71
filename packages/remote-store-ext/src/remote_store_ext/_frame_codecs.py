"""Data-frame codecs: Parquet and CSV for pandas DataFrames, PyArrow tables and Polars DataFrames.

Each library is imported only when a value of its type is stored or when it is asked for.
Parquet always goes through PyArrow (extra ``arrow``) and records the library the frame came
from in the file's schema metadata (key ``remote_store.frame``), so a pandas DataFrame reads
back as a pandas DataFrame; CSV carries no such record and reads back as pandas unless the
``frame`` option says otherwise.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping
from typing import Any

from remote_store.errors import ConfigError
from remote_store_ext._codecerrors import CodecError, NoCodec
from remote_store_ext._codecs import Codec, require

#: The data-frame libraries a frame codec can return, for the ``frame`` option.
FRAMES = ("pandas", "polars", "arrow")
#: Schema-metadata key under which Parquet files record their source library.
FRAME_KEY = b"remote_store.frame"


def frame_kind(value: Any) -> str | None:
    """``"pandas"``, ``"polars"`` or ``"arrow"`` for a frame of that library, else None (imports nothing)."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, pd.DataFrame):
        return "pandas"
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(value, (pl.DataFrame, pl.LazyFrame)):
        return "polars"
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(value, pa.Table):
        return "arrow"
    return None


def _frame_option(options: Mapping[str, Any]) -> str | None:
    frame = options.get("frame")
    if frame is not None and frame not in FRAMES:
        raise ConfigError(f"frame must be one of {', '.join(FRAMES)}, got {frame!r}")
    return frame


def _to_arrow(value: Any, kind: str, codec: str) -> Any:
    pa = require("pyarrow", "arrow", codec)
    if kind == "pandas":
        return pa.Table.from_pandas(value)
    if kind == "polars":
        pl = sys.modules["polars"]
        return (value.collect() if isinstance(value, pl.LazyFrame) else value).to_arrow()
    return value


def _from_arrow(table: Any, kind: str, codec: str) -> Any:
    if kind == "pandas":
        require("pandas", "pandas", codec)
        return table.to_pandas()
    if kind == "polars":
        pl = require("polars", "polars", codec)
        return pl.from_arrow(table)
    return table


class ParquetCodec(Codec):
    """pandas / Polars (``DataFrame``, ``LazyFrame`` collected) / PyArrow ``Table`` ↔ ``.parquet``.

    Read back as the library it was written from (recorded in the schema metadata), unless
    the ``frame`` option (``"pandas"``, ``"polars"``, ``"arrow"``) says otherwise; a Parquet
    file written elsewhere reads as a PyArrow ``Table``. Needs PyArrow (extra ``arrow``).
    """

    name = "parquet"
    extensions = (".parquet",)
    priority = 30

    def can_encode(self, value: Any) -> bool:
        """Frames of an imported pandas, Polars or PyArrow."""
        return frame_kind(value) is not None

    def encode(self, value: Any) -> bytes:
        """Convert to a PyArrow table, record the source library, ``pyarrow.parquet.write_table``.

        Raises:
            NoCodec: Not a frame.
            CodecError: PyArrow is not installed.
        """
        kind = frame_kind(value)
        if kind is None:
            raise NoCodec(f"Parquet stores a pandas/Polars DataFrame or PyArrow Table, not {type(value).__qualname__}")
        pa = require("pyarrow", "arrow", self.name)
        pq = require("pyarrow.parquet", "arrow", self.name)
        table = _to_arrow(value, kind, self.name)
        meta = dict(table.schema.metadata or {})
        meta[FRAME_KEY] = kind.encode()
        sink = pa.BufferOutputStream()
        pq.write_table(table.replace_schema_metadata(meta), sink)
        data: bytes = sink.getvalue().to_pybytes()
        return data

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """``pyarrow.parquet.read_table``, converted to the recorded or requested library.

        Raises:
            ConfigError: The ``frame`` option is not one of the three names.
            CodecError: Not a valid Parquet file, or a needed library is missing.
        """
        wanted = _frame_option(options)
        pa = require("pyarrow", "arrow", self.name)
        pq = require("pyarrow.parquet", "arrow", self.name)
        try:
            table = pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError) as exc:
            raise CodecError(f"invalid Parquet file: {exc}") from exc
        meta = dict(table.schema.metadata or {})
        recorded = meta.pop(FRAME_KEY, b"arrow").decode()
        table = table.replace_schema_metadata(meta or None)
        return _from_arrow(table, wanted or (recorded if recorded in FRAMES else "arrow"), self.name)


class CsvCodec(Codec):
    """pandas / Polars / PyArrow frames ↔ ``.csv`` (header row, no pandas index).

    Never chosen for a bare key (Parquet is): write ``ds["sales.csv"] = df``. Reads back as
    pandas unless the ``frame`` option says ``"polars"`` or ``"arrow"``; column types are
    inferred by the reader.
    """

    name = "csv"
    extensions = (".csv",)
    priority = 35

    def can_encode(self, value: Any) -> bool:
        """Frames of an imported pandas, Polars or PyArrow."""
        return frame_kind(value) is not None

    def encode(self, value: Any) -> bytes:
        """Write with the frame's own library (``DataFrame.to_csv(index=False)``, ``write_csv``,
        ``pyarrow.csv.write_csv``).

        Raises:
            NoCodec: Not a frame.
        """
        kind = frame_kind(value)
        if kind is None:
            raise NoCodec(f"CSV stores a pandas/Polars DataFrame or PyArrow Table, not {type(value).__qualname__}")
        if kind == "pandas":
            text: str = value.to_csv(index=False)
            return text.encode("utf-8")
        if kind == "polars":
            pl = sys.modules["polars"]
            frame = value.collect() if isinstance(value, pl.LazyFrame) else value
            out: str = frame.write_csv()
            return out.encode("utf-8")
        csv = require("pyarrow.csv", "arrow", self.name)
        buf = io.BytesIO()
        csv.write_csv(value, buf)
        return buf.getvalue()

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """Parse with the library named by the ``frame`` option (default pandas).

        Raises:
            ConfigError: The ``frame`` option is not one of the three names.
            CodecError: The CSV cannot be parsed, or the library is missing.
        """
        wanted = _frame_option(options) or "pandas"
        try:
            if wanted == "pandas":
                pd = require("pandas", "pandas", self.name)
                return pd.read_csv(io.BytesIO(data))
            if wanted == "polars":
                pl = require("polars", "polars", self.name)
                return pl.read_csv(io.BytesIO(data))
            csv = require("pyarrow.csv", "arrow", self.name)
            return csv.read_csv(io.BytesIO(data))
        except CodecError:
            raise
        except Exception as exc:  # each library raises its own parser errors
            raise CodecError(f"invalid CSV: {exc}") from exc
