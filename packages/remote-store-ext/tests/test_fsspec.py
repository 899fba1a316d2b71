"""``RemoteStoreFileSystem``: ``rs://STORE/path`` from config, wrapped stores, pandas, atomic writes, ranged reads."""

from __future__ import annotations

import gc
import importlib.metadata
import threading
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pytest

from remote_store import Capability, Store
from remote_store.backends import LocalBackend, MemoryBackend
from remote_store_ext import fsspec as rs_fsspec
from remote_store_ext.fsspec import RemoteStoreFile, RemoteStoreFileSystem
from testing.servers.s3 import MotoS3Server


@pytest.fixture(params=["memory", "local", "s3"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return Store(MemoryBackend())
    if request.param == "local":
        return Store(LocalBackend(tmp_path / "store"))
    return request.getfixturevalue("s3_store")  # type: ignore[no-any-return]


@pytest.fixture
def named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_server: MotoS3Server, s3_bucket: str) -> dict[str, str]:
    """Two named stores in a config file ($REMOTE_STORE_CONFIG): one local, one on moto S3."""
    local_name, s3_name = f"loc{uuid.uuid4().hex[:8]}", f"s3{uuid.uuid4().hex[:8]}"
    cfg = tmp_path / "remote-store.toml"
    cfg.write_text(
        f'[backends.disk]\ntype = "local"\noptions.root = "{tmp_path / "disk"}"\n'
        f'[backends.obj]\ntype = "s3"\noptions.bucket = "{s3_bucket}"\n'
        f'options.endpoint_url = "{s3_server.endpoint_url}"\noptions.region = "{s3_server.region}"\n'
        f'options.access_key_id = "{s3_server.access_key_id}"\n'
        f'options.secret_access_key = "{s3_server.secret_access_key}"\n'
        f'[stores.{local_name}]\nbackend = "disk"\n'
        f'[stores.{s3_name}]\nbackend = "obj"\nroot_path = "data"\n'
    )
    monkeypatch.setenv("REMOTE_STORE_CONFIG", str(cfg))
    return {"local": local_name, "s3": s3_name}


def _df() -> pd.DataFrame:
    return pd.DataFrame({"id": range(50), "name": [f"n{i}" for i in range(50)], "x": [i / 3 for i in range(50)]})


def test_exports_and_entry_point() -> None:
    assert sorted(rs_fsspec.__all__) == ["RemoteStoreFile", "RemoteStoreFileSystem"]
    for name in rs_fsspec.__all__:
        assert getattr(rs_fsspec, name).__doc__
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="fsspec.specs")}
    assert eps["rs"] == "remote_store_ext.fsspec:RemoteStoreFileSystem"
    assert fsspec.get_filesystem_class("rs") is RemoteStoreFileSystem


def test_pandas_through_rs_urls(named: dict[str, str], tmp_path: Path, s3_server: MotoS3Server, s3_bucket: str) -> None:
    for name in named.values():
        _df().to_parquet(f"rs://{name}/t/df.parquet")
        back = pd.read_parquet(f"rs://{name}/t/df.parquet")
        pd.testing.assert_frame_equal(back, _df())
        assert pd.read_parquet(f"rs://{name}/t/df.parquet", columns=["name"]).shape == (50, 1)
        _df().to_csv(f"rs://{name}/t/df.csv", index=False)
        pd.testing.assert_frame_equal(pd.read_csv(f"rs://{name}/t/df.csv"), _df())
    # The data really is in the configured places.
    assert (tmp_path / "disk" / "t" / "df.parquet").is_file()
    keys = {o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert keys == {"data/t/df.parquet", "data/t/df.csv"}


def test_named_stores_cross_store_copy(named: dict[str, str]) -> None:
    fs = fsspec.filesystem("rs")
    fs.pipe(f"rs://{named['local']}/a/src.bin", b"payload" * 1000)
    fs.cp_file(f"rs://{named['local']}/a/src.bin", f"rs://{named['s3']}/b/dst.bin")
    assert fs.cat(f"rs://{named['s3']}/b/dst.bin") == b"payload" * 1000
    assert fs.ls(f"rs://{named['s3']}/b", detail=False) == [f"{named['s3']}/b/dst.bin"]
    assert fs.info(f"rs://{named['s3']}/b")["type"] == "directory"
    with pytest.raises(ValueError):
        fs.info("rs://")


def test_pandas_with_wrapped_store(any_store: Store) -> None:
    fs = RemoteStoreFileSystem(store=any_store)
    _df().to_parquet("p/df.parquet", filesystem=fs)
    pd.testing.assert_frame_equal(pd.read_parquet("p/df.parquet", filesystem=fs), _df())
    with fs.open("p/df.csv", "wb") as f:
        f.write(_df().to_csv(index=False).encode())
    with fs.open("p/df.csv", "rb") as f:
        pd.testing.assert_frame_equal(pd.read_csv(f), _df())


def test_two_wrapped_stores_are_separate_instances() -> None:
    a, b = Store(MemoryBackend()), Store(MemoryBackend())
    fa, fb = RemoteStoreFileSystem(store=a), RemoteStoreFileSystem(store=b)
    assert fa is not fb
    fa.pipe("x", b"a")
    fb.pipe("x", b"b")
    assert (a.read_bytes("x"), b.read_bytes("x")) == (b"a", b"b")


def test_ls_info_find(any_store: Store) -> None:
    for p in ("d/1.txt", "d/sub/2.txt", "d/sub/deep/3.txt", "top.txt"):
        any_store.write(p, b"abc")
    fs = RemoteStoreFileSystem(store=any_store)
    assert fs.ls("d", detail=False) == ["d/1.txt", "d/sub"]
    assert fs.ls("rs://d/1.txt", detail=False) == ["d/1.txt"]
    info = fs.info("d/1.txt")
    assert info["type"] == "file" and info["size"] == 3 and "mtime" in info
    assert fs.info("d/sub")["type"] == "directory"
    assert fs.find("d") == ["d/1.txt", "d/sub/2.txt", "d/sub/deep/3.txt"]
    assert fs.find("d", maxdepth=1) == ["d/1.txt"]
    assert fs.find("d", withdirs=True) == ["d", "d/1.txt", "d/sub", "d/sub/2.txt", "d/sub/deep", "d/sub/deep/3.txt"]
    assert fs.find("d", maxdepth=1, withdirs=True) == ["d", "d/1.txt", "d/sub"]
    assert fs.find("d/1.txt") == ["d/1.txt"]
    assert fs.find("nothing") == []
    assert sorted(fs.glob("d/**/*.txt")) == ["d/1.txt", "d/sub/2.txt", "d/sub/deep/3.txt"]
    with pytest.raises(FileNotFoundError):
        fs.info("missing")
    with pytest.raises(FileNotFoundError):
        fs.ls("missing")
    assert fs.modified("top.txt").tzinfo is not None


def test_rm_mv_cp(any_store: Store) -> None:
    fs = RemoteStoreFileSystem(store=any_store)
    fs.pipe("a/1.bin", b"1")
    fs.pipe("a/b/2.bin", b"2")
    fs.cp_file("a/1.bin", "c/1.bin")
    assert any_store.read_bytes("c/1.bin") == b"1"
    fs.mv("c/1.bin", "c/moved.bin")
    assert not any_store.exists("c/1.bin") and any_store.read_bytes("c/moved.bin") == b"1"
    fs.mv("a", "z", recursive=True)
    assert sorted(fs.find("z")) == ["z/1.bin", "z/b/2.bin"]
    assert fs.find("a") == []
    with pytest.raises(FileNotFoundError):
        fs.rm_file("nope")
    with pytest.raises(FileNotFoundError):
        fs.rm("nope")
    fs.rm("z", recursive=True)
    assert fs.find("z") == [] and not fs.exists("z/b/2.bin")
    fs.mkdir("new/dir")  # a real folder where folders are real, else a no-op
    if any_store.supports(Capability.HIERARCHICAL):
        assert fs.isdir("new/dir") and fs.ls("new/dir") == []
        with pytest.raises(FileExistsError):
            fs.makedirs("new/dir", exist_ok=False)
    else:
        assert not fs.exists("new/dir")
        fs.makedirs("new/dir", exist_ok=False)
    fs.makedirs("new/dir", exist_ok=True)
    assert fs.cat_file("c/moved.bin", start=0, end=1) == b"1"
    fs.pipe("r.bin", b"0123456789")
    assert fs.cat_file("r.bin", start=2, end=5) == b"234"
    assert fs.cat_file("r.bin", start=-3) == b"789"
    with pytest.raises(FileExistsError):
        fs.pipe_file("r.bin", b"x", mode="create")


def test_errors(any_store: Store) -> None:
    fs = RemoteStoreFileSystem(store=any_store)
    any_store.write("d/f.bin", b"x")
    with pytest.raises(FileNotFoundError):
        fs.open("missing.bin", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open("d", "rb")
    with pytest.raises(NotImplementedError):
        fs.open("d/f.bin", "ab")
    with pytest.raises(FileExistsError):
        fs.open("d/f.bin", "xb")
    with pytest.raises(FileNotFoundError):
        fs.cat_file("missing.bin")
    with fs.open("d/new.bin", "xb") as f:
        f.write(b"fresh")
    assert any_store.read_bytes("d/new.bin") == b"fresh"


def test_failed_writes_publish_nothing(any_store: Store) -> None:
    fs = RemoteStoreFileSystem(store=any_store)
    any_store.write("f.bin", b"old")
    big = b"x" * (6 * 1024 * 1024)  # > default block size: chunks already went to the atomic writer
    with pytest.raises(RuntimeError), fs.open("f.bin", "wb") as f:
        f.write(big)
        raise RuntimeError("writer failed")
    assert any_store.read_bytes("f.bin") == b"old"
    f2 = fs.open("g.bin", "wb")
    f2.write(big)
    del f2
    gc.collect()
    assert not any_store.exists("g.bin")
    f3 = fs.open("f.bin", "wb", autocommit=False)
    f3.write(b"new")
    f3.close()
    assert any_store.read_bytes("f.bin") == b"old"  # not committed yet
    f3.commit()
    assert any_store.read_bytes("f.bin") == b"new"
    f4 = fs.open("f.bin", "wb", autocommit=False)
    f4.write(b"never")
    f4.close()
    f4.discard()
    assert any_store.read_bytes("f.bin") == b"new"
    with fs.open("f.bin", "wb") as f5:
        f5.write(big)
        assert any_store.read_bytes("f.bin") == b"new"  # invisible until close
    assert any_store.read_bytes("f.bin") == big


def test_reader_sees_old_or_new_never_partial(local_store: Store) -> None:
    fs = RemoteStoreFileSystem(store=local_store)
    versions = [bytes([i]) * (3 * 1024 * 1024) for i in range(1, 6)]
    fs.pipe("v.bin", versions[0])
    bad: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            data = fs.cat("v.bin")
            if data not in versions:
                bad.append(len(data))

    t = threading.Thread(target=reader)
    t.start()
    for v in versions[1:]:
        with fs.open("v.bin", "wb", block_size=512 * 1024) as f:
            for i in range(0, len(v), 256 * 1024):
                f.write(v[i : i + 256 * 1024])
    stop.set()
    t.join()
    assert bad == []


class _GetCounter:
    """Counts bytes the boto3 client really reads from GetObject bodies (botocore event hook)."""

    def __init__(self, client: Any) -> None:
        self.bytes = 0
        client.meta.events.register("after-call.s3.GetObject", self._after)

    def _after(self, parsed: Any, **_: Any) -> None:
        body = parsed.get("Body")
        if body is None:
            return
        original = body.read

        def read(amt: int | None = None) -> bytes:
            data: bytes = original(amt)
            self.bytes += len(data)
            return data

        body.read = read


def test_ranged_reads_on_s3(s3_server: MotoS3Server, s3_bucket: str) -> None:
    from remote_store_s3 import S3Backend

    backend = S3Backend(**s3_server.backend_options(s3_bucket))
    store = Store(backend)
    size = 16 * 1024 * 1024
    payload = bytes(range(256)) * (size // 256)
    s3_server.client().put_object(Bucket=s3_bucket, Key="big.bin", Body=payload)
    counter = _GetCounter(backend._client())
    fs = RemoteStoreFileSystem(store=store)
    with fs.open("big.bin", "rb", block_size=64 * 1024) as f:
        assert isinstance(f, RemoteStoreFile)
        f.seek(size - 100)
        assert f.read(100) == payload[-100:]
        f.seek(5 * 1024 * 1024)
        assert f.read(10) == payload[5 * 1024 * 1024 : 5 * 1024 * 1024 + 10]
    assert counter.bytes < 3 * 1024 * 1024, counter.bytes  # two small ranges, not 16 MiB
    backend.close()


def test_paths_cannot_escape_the_store(tmp_path: Path) -> None:
    store = Store(LocalBackend(tmp_path / "root"))
    (tmp_path / "secret.txt").write_text("outside")
    fs = RemoteStoreFileSystem(store=store)
    for bad in ("../secret.txt", "a/../../secret.txt"):
        with pytest.raises(OSError):
            fs.cat_file(bad)
        with pytest.raises(OSError):
            fs.pipe_file(bad, b"overwritten")
    assert (tmp_path / "secret.txt").read_text() == "outside"


def test_mkdir_on_rs_urls(named: dict[str, str], tmp_path: Path, s3_server: MotoS3Server, s3_bucket: str) -> None:
    fs = fsspec.filesystem("rs")
    loc, s3 = named["local"], named["s3"]
    fs.mkdir(f"rs://{loc}/new/deep/folder")
    disk = tmp_path / "disk" / "new" / "deep" / "folder"
    assert disk.is_dir() and list(disk.iterdir()) == []  # real, empty, no marker left
    assert fs.isdir(f"rs://{loc}/new/deep/folder") and fs.ls(f"rs://{loc}/new/deep/folder") == []
    with pytest.raises(FileNotFoundError):
        fs.mkdir(f"rs://{loc}/absent/child", create_parents=False)
    assert not (tmp_path / "disk" / "absent").exists()
    fs.pipe_file(f"rs://{loc}/new/file.txt", b"x")
    with pytest.raises(FileExistsError):
        fs.mkdir(f"rs://{loc}/new/file.txt")
    with pytest.raises(FileExistsError):
        fs.mkdir(f"rs://{loc}/new/file.txt/below")
    with pytest.raises(FileExistsError):
        fs.makedirs(f"rs://{loc}/new/deep")
    fs.makedirs(f"rs://{loc}/new/deep", exist_ok=True)
    # Flat store: folders are implicit, mkdir writes nothing.
    fs.mkdir(f"rs://{s3}/implicit/folder")
    assert s3_server.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0


class _Calls:
    """S3 operations the boto3 client sends (``before-call`` botocore event hook): ``{"HeadObject": 2, ...}``."""

    def __init__(self, client: Any) -> None:
        self.ops: dict[str, int] = {}
        client.meta.events.register("before-call.s3", self._before)

    def _before(self, model: Any, **_: Any) -> None:
        self.ops[model.name] = self.ops.get(model.name, 0) + 1


def test_open_and_read_costs_one_head_and_one_get(s3_server: MotoS3Server, s3_bucket: str) -> None:
    from remote_store_s3 import S3Backend

    backend = S3Backend(**s3_server.backend_options(s3_bucket))
    store = Store(backend)
    payload = bytes(range(256)) * 4096
    store.write("one.bin", payload)
    calls = _Calls(backend._client())
    fs = RemoteStoreFileSystem(store=store)
    with fs.open("one.bin", "rb") as f:
        assert f.size == len(payload)
        assert f.read() == payload
    # The file's size comes from the seekable stream's own HEAD: no separate get_file_info.
    assert calls.ops == {"HeadObject": 1, "GetObject": 1}
    backend.close()


def test_full_parquet_read_requests_on_s3(named: dict[str, str], s3_server: MotoS3Server) -> None:
    df = _df()
    url = f"rs://{named['s3']}/req/t.parquet"
    df.to_parquet(url)
    store = rs_fsspec._named_store(named["s3"])
    calls = _Calls(store.backend._client())  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(pd.read_parquet(url), df)
    # pandas -> pyarrow's FSSpecHandler: one info() for the dataset, then per open (footer,
    # then data) isfile() and the stream's HEAD; 5 HEADs and 2 GETs, as s3fs makes for
    # the same call (benchmarks/bench_data.py prints both). An extra HEAD per open was 7.
    assert calls.ops.get("HeadObject", 0) <= 5, calls.ops
    assert calls.ops.get("GetObject", 0) <= 2, calls.ops
    assert set(calls.ops) <= {"HeadObject", "GetObject"}, calls.ops


def test_errors_chain_the_typed_error(any_store: Store) -> None:
    from remote_store.errors import AlreadyExists, InvalidPath, NotFound

    fs = RemoteStoreFileSystem(store=any_store)
    any_store.write("d/f.bin", b"x")
    cases: list[tuple[Any, type[BaseException], tuple[type[BaseException], ...]]] = [
        (lambda: fs.open("missing.bin", "rb"), FileNotFoundError, (NotFound,)),
        (lambda: fs.info("missing.bin"), FileNotFoundError, (NotFound, InvalidPath)),
        (lambda: fs.ls("missing"), FileNotFoundError, (NotFound, InvalidPath)),
        (lambda: fs.cat_file("missing.bin"), FileNotFoundError, (NotFound,)),
        (lambda: fs.rm_file("missing.bin"), FileNotFoundError, (NotFound,)),
        (lambda: fs.open("d", "rb"), IsADirectoryError, (NotFound, InvalidPath)),
        (lambda: fs.open("d/f.bin", "xb"), FileExistsError, (AlreadyExists,)),
        (lambda: fs.mkdir("d/f.bin"), FileExistsError, (AlreadyExists,)),
    ]
    for call, native, typed in cases:
        with pytest.raises(native) as info:
            call()
        assert isinstance(info.value.__cause__, typed), (info.value, info.value.__cause__)
