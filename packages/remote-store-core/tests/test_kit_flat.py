"""`remote_store.kit.FlatKeyBackend` over a small in-process object store.

`DictObjectBackend` implements only the kit primitives over a dict of native keys (a real
object-store model: flat keys, etags, conditional create, multipart uploads), so these tests
exercise the base's mechanics without any SDK. It runs the whole conformance suite in both
placement modes, and the tests below count the primitive calls each operation makes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from remote_store import FileInfo, Store, WriteResult, WriteSource
from remote_store.errors import (
    AlreadyExists,
    ContentChanged,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
)
from remote_store.kit import FetchResult, FlatKeyBackend, ListPage, MultipartPolicy
from remote_store_conformance import BackendConformance

MiB = 1024 * 1024


class _Service:
    """The "server": native key -> (bytes, etag, metadata), plus pending multipart uploads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        self.uploads: dict[str, dict[int, bytes]] = {}

    def put(self, name: str, data: bytes, metadata: Mapping[str, str]) -> str:
        etag = hashlib.md5(data + uuid.uuid4().bytes).hexdigest()
        self.objects[name] = (bytes(data), etag, dict(metadata))
        return etag


class DictObjectBackend(FlatKeyBackend):
    """A flat key store over `_Service`; records every primitive call in ``calls``."""

    TYPE = "dict-objects"
    PAGE = 3  # tiny pages: listings really paginate

    def __init__(self, name: str | None = None, *, prefix: str = "", hierarchical: bool = False) -> None:
        self.name = name or uuid.uuid4().hex
        self.service = _SERVICES.setdefault(self.name, _Service())
        self._prefix = prefix
        super().__init__(
            root_prefix=prefix,
            hierarchical=hierarchical,
            multipart=MultipartPolicy(part_size=64 * 1024, threshold=64 * 1024, concurrency=3),
        )
        self.calls: list[str] = []

    @property
    def options(self) -> dict[str, Any]:
        return {"name": self.name, "prefix": self._prefix, "hierarchical": self.hierarchical}

    def head_object(self, name: str) -> FileInfo | None:
        self.calls.append("head")
        with self.service.lock:
            found = self.service.objects.get(name)
        if found is None:
            return None
        data, etag, meta = found
        return FileInfo(path=name, name="", size=len(data), etag=etag, metadata=meta)

    def get_object(
        self, name: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> FetchResult:
        self.calls.append("get")
        with self.service.lock:
            found = self.service.objects.get(name)
        if found is None:
            raise NotFound("no such object", path=name)
        data, etag, _ = found
        if if_match is not None and if_match != etag:
            raise ContentChanged("etag differs", path=name)
        return FetchResult(io.BytesIO(data[start:end]), len(data), etag)

    def put_object(
        self, name: str, data: bytes | bytearray, *, key: str, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        self.calls.append("put")
        with self.service.lock:
            if not overwrite and name in self.service.objects:
                raise AlreadyExists("exists", path=key)
            etag = self.service.put(name, bytes(data), metadata)
        return WriteResult(key, len(data), WriteSource.NATIVE, etag=etag, metadata=metadata)

    def list_objects(self, prefix: str, *, delimiter: bool, max_keys: int | None = None) -> Iterator[ListPage]:
        self.calls.append("list")
        with self.service.lock:
            names = sorted(k for k in self.service.objects if k.startswith(prefix))
            sizes = {k: len(self.service.objects[k][0]) for k in names}
        entries: list[tuple[str, bool]] = []
        seen: set[str] = set()
        for name in names:
            rest = name[len(prefix) :]
            if delimiter and "/" in rest:
                common = prefix + rest.split("/", 1)[0] + "/"
                if common not in seen:
                    seen.add(common)
                    entries.append((common, True))
            else:
                entries.append((name, False))
        if max_keys is not None:
            entries = entries[:max_keys]
        for i in range(0, max(len(entries), 1), self.PAGE):
            chunk = entries[i : i + self.PAGE]
            yield ListPage(
                [FileInfo(path=n, name="", size=sizes[n]) for n, is_prefix in chunk if not is_prefix],
                [n for n, is_prefix in chunk if is_prefix],
            )

    def delete_object(self, name: str) -> None:
        self.calls.append("delete")
        with self.service.lock:
            self.service.objects.pop(name, None)

    def delete_objects(self, names: Sequence[str]) -> None:
        self.calls.append(f"delete_many:{len(names)}")
        with self.service.lock:
            for name in names:
                self.service.objects.pop(name, None)

    def create_multipart(self, name: str, *, metadata: Mapping[str, str]) -> str:
        self.calls.append("create")
        upload_id = uuid.uuid4().hex
        with self.service.lock:
            self.service.uploads[upload_id] = {}
        self._meta = dict(metadata)
        return upload_id

    def upload_part(self, name: str, upload_id: str, number: int, data: bytes | bytearray) -> Any:
        with self.service.lock:
            self.service.uploads[upload_id][number] = bytes(data)
        return number

    def complete_multipart(
        self,
        name: str,
        upload_id: str,
        parts: Sequence[Any],
        *,
        key: str,
        size: int,
        overwrite: bool,
        metadata: Mapping[str, str],
    ) -> WriteResult:
        self.calls.append("complete")
        with self.service.lock:
            stored = self.service.uploads.pop(upload_id)
            if not overwrite and name in self.service.objects:
                raise AlreadyExists("exists", path=key)
            data = b"".join(stored[n] for n in parts)
            etag = self.service.put(name, data, metadata)
        return WriteResult(key, size, WriteSource.NATIVE, etag=etag, metadata=metadata)

    def abort_multipart(self, name: str, upload_id: str) -> None:
        self.calls.append("abort")
        with self.service.lock:
            self.service.uploads.pop(upload_id, None)


# ---------------------------------------------------------------------- conformance, both modes


_SERVICES: dict[str, _Service] = {}


class TestFlatConformance(BackendConformance):
    shares_state_across_processes = False

    @pytest.fixture
    def backend(self) -> Iterator[DictObjectBackend]:
        b = DictObjectBackend()
        yield b
        b.close()


class TestHierarchicalConformance(BackendConformance):
    shares_state_across_processes = False

    @pytest.fixture
    def backend(self) -> Iterator[DictObjectBackend]:
        b = DictObjectBackend(hierarchical=True)
        yield b
        b.close()


# ---------------------------------------------------------------------- requests per operation
@pytest.fixture
def flat() -> DictObjectBackend:
    return DictObjectBackend()


@pytest.fixture
def strict() -> DictObjectBackend:
    return DictObjectBackend(hierarchical=True)


def test_flat_defaults_send_one_request_per_operation(flat: DictObjectBackend) -> None:
    store = Store(flat)
    store.write("a/b.txt", b"x")
    assert flat.calls == ["put"]
    flat.calls.clear()
    assert store.read_bytes("a/b.txt") == b"x"
    assert flat.calls == ["get"]
    flat.calls.clear()
    store.head("a/b.txt")
    assert flat.calls == ["head"]
    flat.calls.clear()
    store.delete("a/b.txt", missing_ok=True)
    assert flat.calls == ["delete"]
    flat.calls.clear()
    store.write("c.txt", b"y")
    store.delete("c.txt")  # missing_ok=False: one HEAD more
    assert flat.calls == ["put", "head", "delete"]


def test_hierarchical_capability_only_when_on(flat: DictObjectBackend, strict: DictObjectBackend) -> None:
    from remote_store import Capability

    assert Capability.HIERARCHICAL not in flat.capabilities
    assert Capability.HIERARCHICAL in strict.capabilities


def test_flat_allows_file_and_folder_at_one_key(flat: DictObjectBackend) -> None:
    store = Store(flat)
    store.write("a", b"file")
    store.write("a/b", b"below")
    store.write_atomic("a/c", b"atomic below")
    store.write_atomic("a", b"onto", overwrite=True)
    assert store.read_bytes("a") == b"onto" and store.is_folder("a")
    assert store.read_bytes("a/b") == b"below" and store.read_bytes("a/c") == b"atomic below"


def test_failed_placement_check_leaves_old_content_intact(strict: DictObjectBackend) -> None:
    store = Store(strict)
    store.write("d/old.txt", b"old")
    store.write("f", b"file")
    with pytest.raises(InvalidPath):
        store.write("d", b"onto a folder")
    with pytest.raises(InvalidPath):
        store.write("f/below", b"below a file")
    big = b"z" * (300 * 1024)  # multipart-sized: still checked before the upload starts
    with pytest.raises(InvalidPath):
        store.write("f/big", big)
    assert "create" not in strict.calls and strict.service.uploads == {}
    assert store.read_bytes("d/old.txt") == b"old" and store.read_bytes("f") == b"file"
    assert not store.exists("d")


def test_missing_file_maps_to_not_found_or_invalid_path(flat: DictObjectBackend) -> None:
    store = Store(flat)
    store.write("dir/x", b"1")
    for op in (store.read_bytes, store.get_file_info, store.read):
        with pytest.raises(InvalidPath):
            op("dir")
        with pytest.raises(NotFound):
            op("nope")


def test_delete_missing_ok_on_folder_is_one_request_in_flat_mode(flat: DictObjectBackend) -> None:
    store = Store(flat)
    store.write("folder/inner.txt", b"x")
    flat.calls.clear()
    store.delete("folder", missing_ok=True)  # flat: there is no file "folder" to refuse
    assert flat.calls == ["delete"]
    assert store.exists("folder/inner.txt")


def test_glob_pushes_the_literal_prefix_mid_segment(flat: DictObjectBackend) -> None:
    store = Store(flat)
    for k in ("logs/2024-01.txt", "logs/2024-02.csv", "logs/2023-12.txt", "other/2024.txt"):
        store.write(k, b"x")
    seen: list[str] = []
    original = flat.list_objects

    def spy(prefix: str, **kw: Any) -> Iterator[ListPage]:
        seen.append(prefix)
        return original(prefix, **kw)

    flat.list_objects = spy  # type: ignore[method-assign]
    assert sorted(i.path for i in store.glob("logs/2024*.txt")) == ["logs/2024-01.txt"]
    assert seen == ["logs/2024"]
    flat.calls.clear()
    assert [i.path for i in store.glob("logs/2023-12.txt")] == ["logs/2023-12.txt"]
    assert flat.calls == ["head"]


def test_delete_folder_batches(flat: DictObjectBackend) -> None:
    flat.DELETE_BATCH = 4  # type: ignore[misc]
    store = Store(flat)
    for i in range(10):
        store.write(f"t/{i}.txt", b"x")
    store.write("t2/keep.txt", b"x")
    flat.calls.clear()
    store.delete_folder("t", recursive=True)
    assert [c for c in flat.calls if c.startswith("delete")] == ["delete_many:4", "delete_many:4", "delete_many:2"]
    assert store.exists("t2/keep.txt") and not store.is_folder("t")


def test_folder_markers_are_folders_never_files(flat: DictObjectBackend) -> None:
    flat.service.put("m/", b"", {})
    flat.service.put("n/sub/", b"", {})
    store = Store(flat)
    assert store.is_folder("m") and not store.exists("m")
    assert list(store.list_files("", recursive=True)) == []
    assert sorted(store.list_folders("")) == ["m", "n"]
    assert list(store.list_folders("n")) == ["n/sub"]
    store.delete_folder("m")  # only the marker: not "non-empty"
    assert "m/" not in flat.service.objects
    with pytest.raises(DirectoryNotEmpty):
        store.delete_folder("n")


# ---------------------------------------------------------------------- unaddressable keys
FOREIGN = ["ds//same.txt", "/lead.txt", "ds/./dot.txt", "ds/../up.txt", "ds/full/"]


def _seed_foreign(b: DictObjectBackend) -> None:
    b.service.put("ds/same.txt", b"real", {})
    b.service.put("ds/ok/a.txt", b"a", {})
    for name in FOREIGN:
        b.service.put(name, b"foreign bytes", {})


def test_unaddressable_keys_are_reported_once_and_never_listed(
    flat: DictObjectBackend, caplog: pytest.LogCaptureFixture
) -> None:
    _seed_foreign(flat)
    store = Store(flat)
    with caplog.at_level(logging.WARNING, logger="remote_store.kit"):
        files = sorted(i.path for i in store.list_files("", recursive=True))
        again = sorted(i.path for i in store.list_files("", recursive=True))
    assert files == again == ["ds/ok/a.txt", "ds/same.txt"]
    snap = flat.unreachable.snapshot()
    assert snap.count == len(FOREIGN) and sorted(snap.keys) == sorted(FOREIGN)
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == len(FOREIGN)  # once each, not once per listing
    assert all(any(k in r.getMessage() for k in FOREIGN) for r in warned)


def test_folders_never_yield_themselves_or_duplicates(flat: DictObjectBackend) -> None:
    _seed_foreign(flat)
    flat.service.put("ds/ok/b.txt", b"b", {})
    flat.service.put("ds/ok/", b"", {})
    store = Store(flat)
    # not "ds" (from "ds//"), "ds/." or "ds/..". "ds/full/" (a non-empty object) is a common
    # prefix like on S3: listing inside it reports the object instead of yielding it.
    assert sorted(store.list_folders("ds")) == ["ds/full", "ds/ok"]
    children = list(store.iter_children("ds"))
    paths = [c.path for c in children]
    assert sorted(paths) == ["ds/full", "ds/ok", "ds/same.txt"] and len(paths) == len(set(paths))
    assert list(store.list_files("ds/full")) == []
    assert "ds/full/" in flat.unreachable.snapshot().keys

    def walk(folder: str, depth: int = 0) -> int:
        assert depth < 10, "folder walk recursed into itself"
        return 1 + sum(walk(f, depth + 1) for f in store.list_folders(folder))

    assert walk("") == 4  # "", "ds", "ds/full", "ds/ok"
    assert flat.unreachable.count >= 2


def test_direct_backend_calls_with_unaddressable_keys_raise(flat: DictObjectBackend) -> None:
    _seed_foreign(flat)
    with pytest.raises(InvalidPath) as info:
        flat.read_bytes("ds//same.txt")
    assert "ds//same.txt" in str(info.value)
    assert flat.read_bytes("ds/same.txt") == b"real"


def test_delete_folder_removes_listed_and_reported_keys_and_says_so(
    flat: DictObjectBackend, caplog: pytest.LogCaptureFixture
) -> None:
    _seed_foreign(flat)
    flat.service.put("dsx/sibling.txt", b"keep", {})
    store = Store(flat)
    with caplog.at_level(logging.WARNING, logger="remote_store.kit"):
        store.delete_folder("ds", recursive=True)
    left = sorted(flat.service.objects)
    assert left == sorted(["dsx/sibling.txt", "/lead.txt"])  # "/lead.txt" is not below "ds/"
    snap = flat.unreachable.snapshot()
    assert snap.deleted == 4
    assert any("delete_folder('ds') deleted 6 objects, 4 of them" in r.getMessage() for r in caplog.records)


def test_prefix_backend_hides_keys_outside_its_root() -> None:
    b = DictObjectBackend("shared-" + uuid.uuid4().hex, prefix="root")
    b.service.put("outside/x.txt", b"no", {})
    b.service.put("root/in.txt", b"yes", {})
    store = Store(b)
    assert [i.path for i in store.list_files("", recursive=True)] == ["in.txt"]
    assert [i.path for i in store.glob("*.txt")] == ["in.txt"]
    assert b.unreachable.count == 0


# ---------------------------------------------------------------------- streams through the base
def test_reads_pinned_to_first_version(flat: DictObjectBackend) -> None:
    store = Store(flat)
    data = bytes(range(256)) * 8192 * 2  # 4 MiB
    store.write("r.bin", data)
    with store.read("r.bin") as f:
        assert f.read(10) == data[:10]
        store.write("r.bin", b"replaced", overwrite=True)
        f.seek(3 * MiB + 5)  # beyond the open body's skip limit: a new, pinned ranged GET
        with pytest.raises(ContentChanged):
            f.read(10)
    store.write("s.bin", data)
    with store.read_seekable("s.bin") as f:  # HEAD first: pinned from the first GET on
        store.write("s.bin", b"x" * len(data), overwrite=True)
        f.seek(2 * MiB)
        assert f.read(4) == b"xxxx"  # replaced before any byte: read the new version
        store.write("s.bin", data, overwrite=True)
        f.seek(5)
        with pytest.raises(ContentChanged):
            f.read(10)


def test_multipart_write_through_the_base_and_abort(flat: DictObjectBackend) -> None:
    store = Store(flat)
    data = bytes(range(256)) * 1200  # ~300 KiB: 5 parts
    assert store.write("big.bin", data).size == len(data)
    assert store.read_bytes("big.bin") == data
    assert flat.calls.count("create") == 1 and flat.calls.count("complete") == 1

    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.left = 200 * 1024

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            if self.left <= 0:
                raise OSError("source broke")
            n = min(len(b), self.left)
            b[:n] = b"q" * n
            self.left -= n
            return n

    with pytest.raises(OSError):
        store.write("big.bin", Broken(), overwrite=True)
    assert flat.service.uploads == {} and store.read_bytes("big.bin") == data


# ---------------------------------------------------------------------- garbage and native keys
def test_default_flat_backend_has_no_listable_uploads_and_gc_returns_zero(flat: DictObjectBackend) -> None:
    assert flat.collect_garbage("", older_than=0) == 0
    assert flat.abandoned_uploads == {}


def test_native_escape_hatch_through_the_base(flat: DictObjectBackend) -> None:
    store = Store(flat)
    store.write("d/ok.txt", b"ok")
    flat.put_object(flat.object_key("d") + "//odd.txt", b"odd", key="x", overwrite=True, metadata={})
    assert [f.path for f in store.list_files("d", recursive=True)] == ["d/ok.txt"]
    names = {f.path for f in flat.iter_native()}
    odd = flat.object_key("d") + "//odd.txt"
    assert odd in names and flat.object_key("d/ok.txt") in names
    assert flat.read_native(odd) == b"odd"
    flat.delete_native(odd)
    assert odd not in {f.path for f in flat.iter_native()}
    with pytest.raises(InvalidPath):
        flat.read_native("")
