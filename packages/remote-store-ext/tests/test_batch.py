"""batch_copy / batch_delete / batch_exists on every store kind."""

from __future__ import annotations

import threading
import time

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
