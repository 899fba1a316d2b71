"""`ForwardingBackend` forwards every `Backend` method and property to its inner backend."""

from __future__ import annotations

import inspect
import io
import pickle
from collections.abc import Iterator, Mapping
from typing import IO, Any

import pytest

from remote_store import Backend, Capability, CapabilitySet, FileInfo, FolderInfo, Store, WriteResult
from remote_store.backends import MemoryBackend
from remote_store.kit import ForwardingBackend
from remote_store_conformance import BackendConformance


class Recorder(Backend):
    """Answers every call with a sentinel and records (name, args)."""

    TYPE = "recorder"
    CAPABILITIES = CapabilitySet({Capability.READ})

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if not name.startswith("_") and name != "calls" and callable(value):

            def record(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                return value(*args, **kwargs)

            return record
        if name in ("type_name", "capabilities", "options"):
            self.calls.append(name)
        return value

    @property
    def options(self) -> dict[str, Any]:
        return {}

    def exists(self, key: str) -> bool:
        return True

    def is_folder(self, key: str) -> bool:
        return True

    def open_read(self, key: str) -> IO[bytes]:
        return io.BytesIO(b"r")

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        return WriteResult(key, 0)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        return None

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        return iter(())

    def iter_folders(self, prefix: str) -> Iterator[str]:
        return iter(())

    def stat(self, key: str) -> FileInfo:
        return FileInfo(key, key, 0)

    def folder_info(self, key: str) -> FolderInfo:
        return FolderInfo(key, 0, 0)


#: One call per public `Backend` member; a member added to `Backend` without an entry here fails
#: `test_every_backend_member_is_covered`, so forwarding cannot silently miss it.
CALLS: dict[str, Any] = {
    "type_name": lambda b: b.type_name,
    "capabilities": lambda b: b.capabilities,
    "options": None,  # the wrapper's own: the inner's type and options
    "exists": lambda b: b.exists("k"),
    "is_folder": lambda b: b.is_folder("k"),
    "open_read": lambda b: b.open_read("k"),
    "write": lambda b: b.write("k", io.BytesIO(b""), overwrite=True, metadata={}),
    "delete": lambda b: b.delete("k", missing_ok=True),
    "iter_files": lambda b: b.iter_files("", recursive=True),
    "iter_folders": lambda b: b.iter_folders(""),
    "stat": lambda b: b.stat("k"),
    "is_file": lambda b: b.is_file("k"),
    "ping": lambda b: b.ping(),
    "close": lambda b: b.close(),
    "read_bytes": lambda b: b.read_bytes("k"),
    "open_read_seekable": lambda b: b.open_read_seekable("k"),
    "write_atomic": lambda b: b.write_atomic("k", io.BytesIO(b""), overwrite=True, metadata={}),
    "open_atomic": lambda b: b.open_atomic("k", overwrite=True, metadata={}),
    "delete_folder": lambda b: b.delete_folder("d", recursive=True),
    "move": lambda b: b.move("a", "b", overwrite=True),
    "copy": lambda b: b.copy("a", "b", overwrite=True),
    "glob": lambda b: b.glob("*"),
    "iter_children": lambda b: b.iter_children(""),
    "folder_info": lambda b: b.folder_info("d"),
    "native_path": lambda b: b.native_path("k"),
    "to_key": lambda b: b.to_key("k"),
    "collect_garbage": lambda b: b.collect_garbage("", older_than=1.0),
    "translate_error": lambda b: b.translate_error(ValueError("x"), "k"),
    "scoped": None,  # a wrapper keeps the lexical store scope: returns itself (tested below)
    "unscoped": None,
}


def test_scoped_returns_the_wrapper_itself() -> None:
    wrapper = ForwardingBackend(MemoryBackend())
    assert wrapper.scoped("box") is wrapper and wrapper.unscoped is wrapper
    assert Store(wrapper, "box").backend is wrapper


def _public_members() -> set[str]:
    return {name for name, _ in inspect.getmembers(Backend) if not name.startswith("_")} - {"TYPE", "CAPABILITIES"}


def test_every_backend_member_is_covered() -> None:
    assert _public_members() == set(CALLS)


@pytest.mark.parametrize("name", sorted(n for n, call in CALLS.items() if call is not None))
def test_member_is_forwarded_to_inner(name: str) -> None:
    inner = Recorder()
    wrapper = ForwardingBackend(inner)
    CALLS[name](wrapper)
    assert inner.calls and inner.calls[0] == name, f"{name} was not forwarded (inner saw {inner.calls})"


def test_every_member_is_overridden_in_the_class() -> None:
    """No member falls back to Backend's portable default (which would call other methods)."""
    for name in _public_members():
        assert name in vars(ForwardingBackend), f"ForwardingBackend does not define {name}"


def test_options_and_pickle_wrap_the_inner_backend() -> None:
    inner = MemoryBackend()
    wrapper = ForwardingBackend(inner)
    assert wrapper.options == {"inner_type": MemoryBackend, "inner_options": inner.options}
    assert wrapper.inner is inner
    clone = pickle.loads(pickle.dumps(wrapper))
    assert isinstance(clone, ForwardingBackend) and isinstance(clone.inner, MemoryBackend)


class ReadCounting(ForwardingBackend):
    """A middleware that overrides one method only."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.reads = 0

    def read_bytes(self, key: str) -> bytes:
        self.reads += 1
        return super().read_bytes(key)


def test_middleware_overrides_only_what_it_needs() -> None:
    wrapper = ReadCounting(MemoryBackend())
    store = Store(wrapper)
    store.write("a.txt", b"x")
    assert store.read_bytes("a.txt") == b"x" and wrapper.reads == 1
    assert store.capabilities == MemoryBackend().capabilities


class TestForwardingConformance(BackendConformance):
    """A forwarding wrapper is itself a conforming backend."""

    shares_state_across_processes = False
    rebuilt_backend_shares_files = False  # an anonymous memory backend: a rebuild is a new, empty one

    @pytest.fixture
    def backend(self) -> Iterator[Backend]:
        b = ForwardingBackend(MemoryBackend())
        yield b
        b.close()
