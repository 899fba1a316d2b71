"""batch_copy / batch_delete / batch_exists on every store kind."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from remote_store import Store
from remote_store.backends import MemoryBackend
from remote_store.errors import AlreadyExists, ConfigError, InvalidPath, NotFound
from remote_store.ext.batch import BatchResult, batch_copy, batch_delete, batch_exists


def test_exists_reports_values_and_failures(store: Store) -> None:
    store.write("a.txt", b"a")
    store.write("d/b.txt", b"b")
    result = batch_exists(store, ["a.txt", "missing.txt", "d/b.txt", "../escape", "a.txt"])
    assert result.succeeded == ("a.txt", "missing.txt", "d/b.txt")
    assert dict(result.values) == {"a.txt": True, "missing.txt": False, "d/b.txt": True}
    assert list(result.failed) == ["../escape"]
    assert isinstance(result.failed["../escape"], InvalidPath)
    assert not result.ok and result.total == 4


def test_delete_goes_on_after_failures(store: Store) -> None:
    paths = [f"f{i}.bin" for i in range(20)]
    for p in paths:
        store.write(p, p.encode())
    result = batch_delete(store, ["gone.bin", *paths, "../x"], missing_ok=False, max_workers=4)
    assert result.succeeded == tuple(paths)
    assert isinstance(result.failed["gone.bin"], NotFound)
    assert isinstance(result.failed["../x"], InvalidPath)
    assert not any(store.exists(p) for p in paths)
    with pytest.raises(NotFound):
        result.raise_first()


def test_delete_missing_ok_default(store: Store) -> None:
    result = batch_delete(store, ["nope.txt"])
    assert result.ok and result.succeeded == ("nope.txt",)
    result.raise_first()  # nothing to raise


def test_copy_partial_failure(store: Store) -> None:
    store.write("src/a.txt", b"A")
    store.write("src/b.txt", b"B")
    store.write("dst/b.txt", b"old")
    result = batch_copy(store, {"src/a.txt": "dst/a.txt", "src/b.txt": "dst/b.txt", "src/c.txt": "dst/c.txt"})
    assert result.succeeded == ("src/a.txt",)
    assert isinstance(result.failed["src/b.txt"], AlreadyExists)
    assert isinstance(result.failed["src/c.txt"], NotFound)
    assert store.read_bytes("dst/a.txt") == b"A"
    assert store.read_bytes("dst/b.txt") == b"old"  # failed copy left the old file intact
    again = batch_copy(store, [("src/b.txt", "dst/b.txt")], overwrite=True)
    assert again.ok and store.read_bytes("dst/b.txt") == b"B"


def test_copy_rejects_conflicting_pairs() -> None:
    store = Store(MemoryBackend())
    with pytest.raises(InvalidPath):
        batch_copy(store, [("a", "b"), ("a", "c")])
    with pytest.raises(InvalidPath):
        batch_copy(store, [("a", "b", "c")])  # type: ignore[list-item]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_max_workers(bad: object) -> None:
    with pytest.raises(ConfigError):
        batch_exists(Store(MemoryBackend()), ["a"], max_workers=bad)  # type: ignore[arg-type]


def test_single_string_refused() -> None:
    with pytest.raises(InvalidPath):
        batch_delete(Store(MemoryBackend()), "abc")


class _SlowExists(MemoryBackend):
    """Counts concurrent ``exists`` calls (a real backend, slowed down)."""

    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.peak = 0
        self.guard = threading.Lock()

    def exists(self, key: str) -> bool:
        with self.guard:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.01)
        with self.guard:
            self.active -= 1
        return super().exists(key)


def test_parallelism_is_bounded_and_used() -> None:
    backend = _SlowExists()
    result = batch_exists(Store(backend), [f"p{i}" for i in range(64)], max_workers=4)
    assert result.total == 64
    assert 2 <= backend.peak <= 4


def test_lazy_input_is_consumed_incrementally() -> None:
    store = Store(MemoryBackend())
    pulled: list[int] = []

    def gen():  # type: ignore[no-untyped-def]
        for i in range(100):
            pulled.append(i)
            yield f"x{i}"

    result = batch_exists(store, gen(), max_workers=2)
    assert result.total == 100 and pulled == list(range(100))


def test_unexpected_error_propagates_after_all_done() -> None:
    calls: list[str] = []

    class Broken(MemoryBackend):
        def exists(self, key: str) -> bool:
            calls.append(key)
            if key == "boom":
                raise RuntimeError("bug")
            return False

    # Store translates native exceptions into RemoteStoreError, so even a bug is a typed failure.
    result = batch_exists(Store(Broken()), ["a", "boom", "b"], max_workers=2)
    assert sorted(calls) == ["a", "b", "boom"]
    assert set(result.failed) == {"boom"} and result.succeeded == ("a", "b")


def test_result_is_immutable() -> None:
    r = BatchResult(("a",), {}, {"a": None})
    with pytest.raises(TypeError):
        r.failed["x"] = NotFound()  # type: ignore[index]


class _CallCounter:
    """Counts S3 API calls by operation name with a botocore hook on the backend's real client."""

    def __init__(self, client: Any) -> None:
        self.calls: dict[str, int] = {}
        client.meta.events.register("after-call.s3", self._after)

    def _after(self, model: Any = None, **_: Any) -> None:
        self.calls[model.name] = self.calls.get(model.name, 0) + 1


def _s3_with_counter(s3_store: Store) -> _CallCounter:
    return _CallCounter(s3_store.backend._client())  # type: ignore[attr-defined]


def test_s3_batch_delete_uses_delete_objects(s3_store: Store) -> None:
    paths = [f"bulk/{i:04}.txt" for i in range(1203)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: s3_store.write(p, b"x"), paths[:1200]))
    s3_store.write("bulk/keep.txt", b"keep")
    counter = _s3_with_counter(s3_store)
    result = batch_delete(s3_store, paths + paths[:5])  # duplicates deleted once; 3 never existed
    assert result.ok and result.succeeded == tuple(paths)
    assert counter.calls == {"DeleteObjects": 2}  # 1,000 + 203 keys, no per-key DeleteObject
    assert [i.path for i in s3_store.list_files("bulk")] == ["bulk/keep.txt"]


def test_s3_batch_delete_strict_reports_missing_and_folders(s3_store: Store) -> None:
    for p in ("d/a.txt", "d/b.txt", "d/sub/c.txt"):
        s3_store.write(p, b"x")
    counter = _s3_with_counter(s3_store)
    result = batch_delete(s3_store, ["d/a.txt", "d/missing.txt", "d/b.txt", "d/sub", "../escape"], missing_ok=False)
    assert result.succeeded == ("d/a.txt", "d/b.txt")
    assert isinstance(result.failed["d/missing.txt"], NotFound)
    assert isinstance(result.failed["d/sub"], InvalidPath)  # a folder, as Store.delete says
    assert isinstance(result.failed["../escape"], InvalidPath)
    assert counter.calls.get("DeleteObjects") == 1 and "DeleteObject" not in counter.calls
    assert [i.path for i in s3_store.list_files("d", recursive=True)] == ["d/sub/c.txt"]


def test_s3_batch_delete_through_child_store_stays_inside_root(s3_store: Store) -> None:
    s3_store.write("outside.txt", b"o")
    child = s3_store.child("tenant")
    child.write("outside.txt", b"i")
    child.write("x.txt", b"i")
    result = batch_delete(child, ["outside.txt", "x.txt"])
    assert result.ok
    assert s3_store.read_bytes("outside.txt") == b"o"
    assert not child.exists("outside.txt") and not child.exists("x.txt")


def test_s3_batch_delete_on_cached_store_invalidates(s3_store: Store) -> None:
    from remote_store_ext.cache import CachedStore

    cached = CachedStore(s3_store)
    cached.write("c.txt", b"v1")
    assert cached.read_bytes("c.txt") == b"v1"
    counter = _s3_with_counter(s3_store)
    assert batch_delete(cached, ["c.txt", "other.txt"]).ok
    assert "DeleteObjects" not in counter.calls  # the wrapper must see each delete
    with pytest.raises(NotFound):
        cached.read_bytes("c.txt")


def test_s3_failed_bulk_request_falls_back_per_path(s3_store: Store) -> None:
    for p in ("f/a.txt", "f/b.txt"):
        s3_store.write(p, b"x")
    client = s3_store.backend._client()  # type: ignore[attr-defined]

    def refuse(**_: Any) -> None:
        raise RuntimeError("DeleteObjects refused by the test hook")

    client.meta.events.register("before-call.s3.DeleteObjects", refuse)
    try:
        result = batch_delete(s3_store, ["f/a.txt", "f/b.txt"], missing_ok=False)
    finally:
        client.meta.events.unregister("before-call.s3.DeleteObjects", refuse)
    assert result.ok and result.succeeded == ("f/a.txt", "f/b.txt")
    assert list(s3_store.list_files("f")) == []


@pytest.fixture
def azure_store(azurite: Any, azure_container: str, azure_fault_proxy: Any) -> Any:
    """A store on a fresh Azurite container, reached through a proxy that records requests."""
    from remote_store_azure import AzureBackend

    backend = AzureBackend(
        azure_container, account_url=azure_fault_proxy.account_url, account_key=azurite.account_key, retries=1
    )
    yield Store(backend)
    backend.close()


def _azure_calls(proxy: Any) -> dict[str, int]:
    """Request counts by kind: ``batch`` (Blob Batch), ``DELETE`` (Delete Blob), ``HEAD`` …,
    leaving out the backend's one-time Get Account Information (namespace detection)."""
    calls: dict[str, int] = {}
    for method, target in list(proxy.requests):
        if "restype=account" in target:
            continue
        kind = "batch" if method == "POST" and "comp=batch" in target else method
        calls[kind] = calls.get(kind, 0) + 1
    return calls


def test_azure_batch_delete_uses_blob_batch(azure_store: Store, azure_raw: Any, azure_fault_proxy: Any) -> None:
    azure_store.backend.DELETE_BATCH = 16  # type: ignore[misc]  # Azure's limit is 256 a batch: fewer blobs to seed
    paths = [f"bulk/{i:04}.txt" for i in range(43)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: azure_raw.upload_blob(p, b"x"), paths[:40]))
    azure_raw.upload_blob("bulk/keep.txt", b"keep")
    azure_fault_proxy.requests.clear()
    result = batch_delete(azure_store, paths + paths[:5])  # duplicates deleted once; 3 never existed
    assert result.ok and result.succeeded == tuple(paths)
    assert _azure_calls(azure_fault_proxy) == {"batch": 3}  # 16 + 16 + 11 blobs, no per-blob Delete Blob
    assert [b.name for b in azure_raw.list_blobs(name_starts_with="bulk/")] == ["bulk/keep.txt"]


def test_azure_batch_delete_strict_reports_missing_and_folders(
    azure_store: Store, azure_raw: Any, azure_fault_proxy: Any
) -> None:
    for p in ("d/a.txt", "d/b.txt", "d/sub/c.txt"):
        azure_raw.upload_blob(p, b"x")
    azure_fault_proxy.requests.clear()
    result = batch_delete(azure_store, ["d/a.txt", "d/missing.txt", "d/b.txt", "d/sub", "../x"], missing_ok=False)
    assert result.succeeded == ("d/a.txt", "d/b.txt")
    assert isinstance(result.failed["d/missing.txt"], NotFound)
    assert isinstance(result.failed["d/sub"], InvalidPath)
    assert isinstance(result.failed["../x"], InvalidPath)
    calls = _azure_calls(azure_fault_proxy)
    assert calls.get("batch") == 1 and calls.get("HEAD", 0) >= 4  # a Get Blob Properties per valid path
    assert [b.name for b in azure_raw.list_blobs(name_starts_with="d/")] == ["d/sub/c.txt"]
