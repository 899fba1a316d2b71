"""Store-level rules that hold for every backend: gates before I/O, error translation
(including lazily raised errors), metadata gating, result relativisation."""

from __future__ import annotations

import errno
import io
from collections.abc import Iterator, Mapping
from typing import IO, Any

import pytest

from remote_store import (
    Backend,
    BackendUnavailable,
    Capability,
    CapabilityNotSupported,
    CapabilitySet,
    FileInfo,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
    Store,
    WriteResult,
)
from remote_store.backends import MemoryBackend


class RecordingBackend(MemoryBackend):
    """Memory backend that records every call and declares only what it is given."""

    def __init__(self, caps: CapabilitySet) -> None:
        super().__init__()
        self._caps = caps
        self.calls: list[str] = []

    @property
    def capabilities(self) -> CapabilitySet:
        return self._caps

    def __getattribute__(self, name: str) -> Any:
        attr = object.__getattribute__(self, name)
        if callable(attr) and not name.startswith("_") and name not in ("capabilities", "type_name", "options"):
            object.__getattribute__(self, "calls").append(name)
        return attr


GATED = [
    (Capability.READ, lambda s: s.read("f")),
    (Capability.READ, lambda s: s.read_bytes("f")),
    (Capability.READ, lambda s: s.read_text("f")),
    (Capability.READ, lambda s: s.read_seekable("f")),
    (Capability.WRITE, lambda s: s.write("f", b"x")),
    (Capability.WRITE, lambda s: s.write_text("f", "x")),
    (Capability.ATOMIC_WRITE, lambda s: s.write_atomic("f", b"x")),
    (Capability.ATOMIC_WRITE, lambda s: s.open_atomic("f").__enter__()),
    (Capability.DELETE, lambda s: s.delete("f")),
    (Capability.DELETE, lambda s: s.delete_folder("d")),
    (Capability.LIST, lambda s: s.list_files("")),
    (Capability.LIST, lambda s: s.list_folders("")),
    (Capability.LIST, lambda s: s.iter_children("")),
    (Capability.GLOB, lambda s: s.glob("*")),
    (Capability.MOVE, lambda s: s.move("f", "g")),
    (Capability.COPY, lambda s: s.copy("f", "g")),
    (Capability.METADATA, lambda s: s.head("f")),
    (Capability.METADATA, lambda s: s.get_file_info("f")),
    (Capability.METADATA, lambda s: s.get_folder_info("")),
]


@pytest.mark.parametrize(("cap", "call"), GATED, ids=[f"{c.name}-{i}" for i, (c, _) in enumerate(GATED)])
def test_gate_raises_before_any_io(cap: Capability, call: Any) -> None:
    backend = RecordingBackend(CapabilitySet.all() - {cap})
    store = Store(backend)
    backend.calls.clear()
    with pytest.raises(CapabilityNotSupported) as ei:
        call(store)
    assert ei.value.capability == cap.name
    assert backend.calls == []
    assert not store.supports(cap)


def test_user_metadata_is_a_strict_gate() -> None:
    backend = RecordingBackend(CapabilitySet.all() - {Capability.USER_METADATA})
    store = Store(backend)
    store.write("a", b"x", metadata={})  # empty mapping is fine
    backend.calls.clear()
    with pytest.raises(CapabilityNotSupported, match="USER_METADATA"):
        store.write("b", b"x", metadata={"k": "v"})
    assert backend.calls == []


class NativeErrorBackend(MemoryBackend):
    """Raises native exceptions from calls, streams and iterators."""

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        if isinstance(exc, KeyError):
            return NotFound("native key error", path=key)
        return None

    def stat(self, key: str) -> FileInfo:
        raise KeyError(key)

    def exists(self, key: str) -> bool:
        raise ConnectionResetError("peer reset")

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        raise ValueError("weird")

    def open_read(self, key: str) -> IO[bytes]:
        class Flaky(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def readinto(self, b: Any) -> int:
                raise TimeoutError("read timed out")

        return Flaky()

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        yield FileInfo(path="ok", name="ok", size=1)
        raise ConnectionError("listing dropped")

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        return WriteResult(path=key, size=0)


def test_native_errors_are_translated_everywhere() -> None:
    store = Store(NativeErrorBackend(), "root")
    with pytest.raises(NotFound, match="native key error") as e1:
        store.get_file_info("a")
    assert isinstance(e1.value.__cause__, KeyError)
    with pytest.raises(BackendUnavailable) as e2:
        store.exists("a")
    assert e2.value.backend == "memory"
    with pytest.raises(PermissionDenied):
        store.delete("a")
    with pytest.raises(RemoteStoreError, match="weird"):
        store.move("a", "b")
    stream = store.read("a")
    with pytest.raises(BackendUnavailable):
        stream.read(10)
    it = store.list_files("", recursive=True)
    with pytest.raises(BackendUnavailable, match="listing dropped"):
        list(it)


def test_error_paths_are_store_relative() -> None:
    store = Store(MemoryBackend(), "deep/root")
    with pytest.raises(NotFound) as ei:
        store.read_bytes("a/b.txt")
    assert ei.value.path == "a/b.txt"
    with pytest.raises(NotFound) as ei2:
        store.move("missing", "x")
    assert ei2.value.path == "missing"


def test_results_are_store_relative_and_round_trip() -> None:
    store = Store(MemoryBackend(), "r1/r2")
    res = store.write("a/b.txt", b"hello")
    assert res.path == "a/b.txt" and res.size == 5
    infos = list(store.list_files("", recursive=True))
    assert [i.path for i in infos] == ["a/b.txt"]
    assert store.read_bytes(infos[0].path) == b"hello"
    assert list(store.list_folders("")) == ["a"]
    assert store.get_file_info("a/b.txt").path == "a/b.txt"
    assert store.head("a/b.txt").etag == res.etag
    assert store.resolve("a/b.txt").key == "r1/r2/a/b.txt"
    assert store.to_key(store.native_path("a/b.txt")) == "a/b.txt"


def test_unwrap() -> None:
    backend = MemoryBackend()
    store = Store(backend)
    assert store.unwrap(MemoryBackend) is backend
    from remote_store.backends import LocalBackend

    with pytest.raises(CapabilityNotSupported):
        store.unwrap(LocalBackend)


def test_write_content_forms_and_type_errors() -> None:
    store = Store(MemoryBackend())
    store.write("a", bytearray(b"ab"))
    store.write("b", memoryview(b"cd"))
    src = io.BytesIO(b"0123456789")
    src.seek(4)
    store.write("c", src)
    store.write("d", (bytes([i]) for i in range(3)))
    assert [store.read_bytes(k) for k in "abcd"] == [b"ab", b"cd", b"456789", b"\x00\x01\x02"]
    with pytest.raises(TypeError):
        store.write("e", "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.write("e", io.StringIO("text"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.write("e", 42)  # type: ignore[arg-type]
    assert not store.exists("e")


def test_backend_must_be_a_backend() -> None:
    with pytest.raises(TypeError):
        Store(object())  # type: ignore[arg-type]


def test_abc_requires_the_contract() -> None:
    class Incomplete(Backend):
        TYPE = "incomplete"

    with pytest.raises(TypeError):
        Incomplete()  # type: ignore[abstract]
