"""``pyarrow_fs(store)``: PyArrow reads/writes Parquet and Hive datasets over memory, local and S3 (moto)."""

from __future__ import annotations

import gc
import io
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from remote_store import Store
from remote_store.backends import LocalBackend, MemoryBackend
from remote_store_ext import arrow
from remote_store_ext.arrow import StoreFileSystemHandler, pyarrow_fs
from testing.servers.s3 import MotoS3Server


@pytest.fixture(params=["memory", "local", "s3"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return Store(MemoryBackend())
    if request.param == "local":
        return Store(LocalBackend(tmp_path / "store"))
    return request.getfixturevalue("s3_store")  # type: ignore[no-any-return]


def _table(rows: int = 100) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "name": [f"n{i}" for i in range(rows)],
            "year": [2020 + i % 3 for i in range(rows)],
        }
    )


def test_exports() -> None:
    assert sorted(arrow.__all__) == ["StoreFileSystemHandler", "pyarrow_fs"]
    for name in arrow.__all__:
        assert getattr(arrow, name).__doc__


def test_parquet_round_trip(any_store: Store) -> None:
    fs = pyarrow_fs(any_store)
    pq.write_table(_table(), "dir/t.parquet", filesystem=fs)
    assert any_store.exists("dir/t.parquet")
    assert pq.read_table("dir/t.parquet", filesystem=fs).equals(_table())
    assert pq.read_table("/dir/t.parquet", filesystem=fs, columns=["name"]).column("name").to_pylist()[:2] == [
        "n0",
        "n1",
    ]


def test_hive_dataset_write_and_filter(any_store: Store) -> None:
    fs = pyarrow_fs(any_store)
    ds.write_dataset(_table(), "ds", filesystem=fs, format="parquet", partitioning=["year"], partitioning_flavor="hive")
    paths = sorted(i.path for i in any_store.list_files("ds", recursive=True))
    assert paths == [f"ds/year={y}/part-0.parquet" for y in (2020, 2021, 2022)]
    dataset = ds.dataset("ds", filesystem=fs, format="parquet", partitioning="hive")
    assert dataset.count_rows() == 100
    sub = dataset.to_table(filter=ds.field("year") == 2021)
    assert sorted(sub.column("id").to_pylist()) == [i for i in range(100) if i % 3 == 1]


def test_reads_data_written_by_raw_sdk(s3_server: MotoS3Server, s3_bucket: str, s3_store: Store) -> None:
    buf = io.BytesIO()
    pq.write_table(_table(10).drop_columns(["year"]), buf)
    s3_server.client().put_object(Bucket=s3_bucket, Key="raw/year=2024/x.parquet", Body=buf.getvalue())
    dataset = ds.dataset("raw", filesystem=pyarrow_fs(s3_store), format="parquet", partitioning="hive")
    table = dataset.to_table()
    assert table.num_rows == 10
    assert set(table.column("year").to_pylist()) == {2024}


class _GetCounter:
    """Counts bytes the boto3 client really reads from GetObject bodies (botocore event hook)."""

    def __init__(self, client: Any) -> None:
        self.bytes = 0
        self.requests = 0
        self._lock = threading.Lock()
        client.meta.events.register("after-call.s3.GetObject", self._after)

    def _after(self, http_response: Any, parsed: Any, **_: Any) -> None:
        body = parsed.get("Body")
        if body is None:
            return
        with self._lock:
            self.requests += 1
        original = body.read

        def read(amt: int | None = None) -> bytes:
            data: bytes = original(amt)
            with self._lock:
                self.bytes += len(data)
            return data

        body.read = read


def _wide_parquet(columns: int = 8, rows: int = 200_000) -> bytes:
    import random

    rnd = random.Random(7)
    table = pa.table({f"c{i}": pa.array([rnd.random() for _ in range(rows)], pa.float64()) for i in range(columns)})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="none", row_group_size=rows // 2)
    return buf.getvalue()


def test_one_column_read_is_ranged_on_s3(s3_server: MotoS3Server, s3_bucket: str) -> None:
    from remote_store_s3 import S3Backend

    backend = S3Backend(**s3_server.backend_options(s3_bucket))
    store = Store(backend)
    data = _wide_parquet()
    s3_server.client().put_object(Bucket=s3_bucket, Key="wide.parquet", Body=data)
    counter = _GetCounter(backend._client())
    fs = pyarrow_fs(store)

    col = pq.read_table("wide.parquet", filesystem=fs, columns=["c3"])
    assert col.num_rows == 200_000
    one_column = counter.bytes
    # 8 equal columns: one column is 1/8 of the file (+ footer and one 1 MiB read-ahead block).
    assert one_column < len(data) / 4, (one_column, len(data))
    assert one_column >= len(data) / 8 * 0.9

    counter.bytes = 0
    full = pq.read_table("wide.parquet", filesystem=fs)
    assert full.num_columns == 8
    assert counter.bytes >= len(data) * 0.95  # the counter does see whole-file reads
    backend.close()


def test_error_mapping(any_store: Store) -> None:
    fs = pyarrow_fs(any_store)
    any_store.write("d/f.bin", b"x")
    with pytest.raises(FileNotFoundError):
        fs.open_input_file("missing.bin")
    with pytest.raises(FileNotFoundError):
        fs.open_input_stream("missing.bin")
    with pytest.raises(IsADirectoryError):
        fs.open_input_file("d")
    with pytest.raises(IsADirectoryError):
        fs.delete_file("d")
    with pytest.raises(FileNotFoundError):
        fs.delete_file("d/none")
    with pytest.raises(NotADirectoryError):
        fs.get_file_info(pafs.FileSelector("d/f.bin"))
    with pytest.raises(FileNotFoundError):
        fs.get_file_info(pafs.FileSelector("nowhere"))
    assert fs.get_file_info(pafs.FileSelector("nowhere", allow_not_found=True)) == []
    with pytest.raises(FileNotFoundError):
        pq.read_table("missing.parquet", filesystem=fs)
    with pytest.raises(NotImplementedError):
        fs.open_append_stream("d/f.bin")
    infos = fs.get_file_info(["d", "d/f.bin", "zz", ""])
    assert [i.type for i in infos] == [
        pafs.FileType.Directory,
        pafs.FileType.File,
        pafs.FileType.NotFound,
        pafs.FileType.Directory,
    ]
    assert infos[1].size == 1 and infos[1].mtime is not None


def test_selector_listing(any_store: Store) -> None:
    for p in ("a/1.bin", "a/b/2.bin", "a/b/c/3.bin", "top.bin"):
        any_store.write(p, b"12")
    fs = pyarrow_fs(any_store)
    flat = {(i.path, i.type) for i in fs.get_file_info(pafs.FileSelector("a"))}
    assert flat == {("a/1.bin", pafs.FileType.File), ("a/b", pafs.FileType.Directory)}
    deep = {(i.path, i.type) for i in fs.get_file_info(pafs.FileSelector("a", recursive=True))}
    assert deep == {
        ("a/1.bin", pafs.FileType.File),
        ("a/b", pafs.FileType.Directory),
        ("a/b/2.bin", pafs.FileType.File),
        ("a/b/c", pafs.FileType.Directory),
        ("a/b/c/3.bin", pafs.FileType.File),
    }
    root = {i.path for i in fs.get_file_info(pafs.FileSelector("", recursive=False))}
    assert root == {"a", "top.bin"}


def test_move_copy_delete(any_store: Store) -> None:
    fs = pyarrow_fs(any_store)
    any_store.write("src/a.bin", b"A")
    any_store.write("src/sub/b.bin", b"B")
    fs.copy_file("src/a.bin", "copy.bin")
    assert any_store.read_bytes("copy.bin") == b"A"
    fs.move("copy.bin", "moved.bin")
    assert not any_store.exists("copy.bin") and any_store.read_bytes("moved.bin") == b"A"
    fs.move("src", "dst")
    assert sorted(i.path for i in any_store.list_files("dst", recursive=True)) == ["dst/a.bin", "dst/sub/b.bin"]
    assert not any_store.exists("src/a.bin")
    with pytest.raises(FileNotFoundError):
        fs.move("nothing", "x")
    fs.delete_dir_contents("dst")
    assert list(any_store.list_files("dst", recursive=True)) == []
    with pytest.raises(FileNotFoundError):
        fs.delete_dir_contents("never-there")
    fs.delete_dir_contents("never-there", missing_dir_ok=True)
    any_store.write("gone/x.bin", b"x")
    fs.delete_dir("gone")
    assert not any_store.exists("gone/x.bin")
    fs.delete_file("moved.bin")
    assert not any_store.exists("moved.bin")
    any_store.write("r/1.bin", b"1")
    fs.delete_dir_contents("", accept_root_dir=True)
    assert list(any_store.list_files("", recursive=True)) == []


def test_output_stream_publishes_only_on_close(any_store: Store) -> None:
    fs = pyarrow_fs(any_store)
    any_store.write("t.parquet", b"old")
    out = fs.open_output_stream("t.parquet")
    out.write(b"new-partial")
    assert any_store.read_bytes("t.parquet") == b"old"  # not visible before close
    out.close()
    assert any_store.read_bytes("t.parquet") == b"new-partial"


def test_failed_parquet_writer_publishes_nothing(any_store: Store) -> None:
    fs = pyarrow_fs(any_store)
    pq.write_table(_table(5), "t.parquet", filesystem=fs)

    def crashing_writer() -> None:
        writer = pq.ParquetWriter(fs.open_output_stream("t.parquet"), _table().schema)
        writer.write_table(_table(1000))
        raise RuntimeError("writer crashed before close")

    with pytest.raises(RuntimeError):
        crashing_writer()
    gc.collect()
    assert pq.read_table("t.parquet", filesystem=fs).num_rows == 5
    out = fs.open_output_stream("fresh.bin")
    out.write(b"abc")
    del out
    gc.collect()
    assert not any_store.exists("fresh.bin")


def test_failed_write_aborts_then_close_publishes_nothing(tmp_path: Path) -> None:
    store = Store(LocalBackend(tmp_path / "s"))
    store.write("f.bin", b"old")
    raw = arrow._AtomicOutput(store, "f.bin", None)
    raw.write(b"part")
    handle: Any = raw._handle

    def broken(_: Any) -> int:
        raise OSError("disk full")

    handle.write = broken
    with pytest.raises(OSError):
        raw.write(b"more")
    raw.close()
    assert store.read_bytes("f.bin") == b"old"
    assert [i.path for i in store.list_files("", recursive=True)] == ["f.bin"]  # no temp file left


def test_handler_identity_and_type_name() -> None:
    store = Store(MemoryBackend())
    h = StoreFileSystemHandler(store)
    assert h == StoreFileSystemHandler(store)
    assert h != StoreFileSystemHandler(Store(MemoryBackend()))
    assert h.store is store
    assert pyarrow_fs(store).type_name == "py::remote-store+memory"
    assert h.normalize_path("/a/b/") == "a/b"


def test_paths_cannot_escape_the_store(tmp_path: Path) -> None:
    store = Store(LocalBackend(tmp_path / "root"))
    (tmp_path / "secret.txt").write_text("outside")
    fs = pyarrow_fs(store)
    for bad in ("../secret.txt", "a/../../secret.txt"):
        with pytest.raises(OSError):
            fs.open_input_stream(bad)
        with pytest.raises(OSError):
            fs.open_output_stream(bad)
    assert (tmp_path / "secret.txt").read_text() == "outside"


def test_errors_chain_the_typed_error(any_store: Store) -> None:
    from remote_store.errors import InvalidPath, NotFound

    fs = pyarrow_fs(any_store)
    any_store.write("d/f.bin", b"x")
    cases: list[tuple[Any, type[BaseException], tuple[type[BaseException], ...]]] = [
        (lambda: fs.open_input_file("missing.bin"), FileNotFoundError, (NotFound,)),
        (lambda: fs.open_input_stream("missing.bin"), FileNotFoundError, (NotFound,)),
        (lambda: pq.ParquetFile("missing.parquet", filesystem=fs), FileNotFoundError, (NotFound,)),
        (lambda: fs.delete_file("d/none"), FileNotFoundError, (NotFound,)),
        (lambda: fs.delete_file("d"), IsADirectoryError, (NotFound, InvalidPath)),
        (lambda: fs.open_input_file("d"), IsADirectoryError, (NotFound, InvalidPath)),
        (lambda: fs.get_file_info(pafs.FileSelector("nowhere")), FileNotFoundError, (NotFound,)),
        (lambda: fs.get_file_info(pafs.FileSelector("d/f.bin")), NotADirectoryError, (InvalidPath,)),
        (lambda: fs.delete_dir_contents("nowhere"), FileNotFoundError, (NotFound,)),
        (lambda: fs.move("nowhere", "x"), FileNotFoundError, (NotFound, InvalidPath)),
        (lambda: fs.copy_file("missing.bin", "x"), FileNotFoundError, (NotFound,)),
    ]
    for call, native, typed in cases:
        with pytest.raises(native) as info:
            call()
        assert isinstance(info.value.__cause__, typed), (call, info.value, info.value.__cause__)
