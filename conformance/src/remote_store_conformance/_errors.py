"""Error mapping: only typed errors, naming the path and backend, never a secret."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from remote_store import Backend, Capability, Secret, Store
from remote_store.errors import BackendUnavailable, InvalidPath, NotFound, RemoteStoreError
from remote_store.kit import ForwardingBackend
from remote_store_conformance._base import Putter, requires


def secrets_of(backend: Backend) -> list[str]:
    """Revealed values of every `Secret` in the backend's options."""

    def walk(value: Any) -> list[str]:
        if isinstance(value, Secret):
            return [value.reveal()] if value.reveal() else []
        if isinstance(value, dict):
            return [s for v in value.values() for s in walk(v)]
        return []

    return walk(backend.options)


class _RaisingBackend(ForwardingBackend):
    """Forwards to the author's backend, but every `stat` raises a given native exception."""

    def __init__(self, inner: Backend, exc: Exception) -> None:
        super().__init__(inner)
        self._exc = exc

    def stat(self, key: str) -> Any:
        raise self._exc


class ErrorTests:
    """What callers can rely on when something goes wrong."""

    def test_native_errors_are_translated(
        self, backend: Backend, native_errors: list[tuple[Exception, type[RemoteStoreError]]] | None
    ) -> None:
        if native_errors is None:
            pytest.skip("the test class gives no `native_errors` fixture (native exception → error class)")
        assert native_errors, "`native_errors` is empty: list the service's exceptions, or return None"
        for exc, expected in native_errors:
            mapped = backend.translate_error(exc, "dir/key.bin")
            assert isinstance(mapped, expected), (
                f"translate_error({type(exc).__name__}) gave {mapped!r}, expected {expected.__name__}"
            )
            assert mapped.path == "dir/key.bin", f"the translated error must name the key, got {mapped.path!r}"
            # Through a Store, as a caller meets it: typed, store-relative, chained to the cause.
            store = Store(_RaisingBackend(backend, exc), root_path="root")
            with pytest.raises(expected) as info:
                store.get_file_info("dir/key.bin")
            assert info.value.path == "dir/key.bin"

    def test_unreachable_service_raises_backend_unavailable(self, unreachable_backend: Backend | None) -> None:
        if unreachable_backend is None:
            pytest.skip("the test class gives no `unreachable_backend` fixture")
        store = Store(unreachable_backend)
        calls: dict[str, Any] = {"ping": store.ping, "exists": lambda: store.exists("k.txt")}
        caps = unreachable_backend.capabilities
        if Capability.READ in caps:
            calls["read_bytes"] = lambda: store.read_bytes("k.txt")
        if Capability.WRITE in caps:
            calls["write"] = lambda: store.write("k.txt", b"x", overwrite=True)
        if Capability.LIST in caps:
            calls["list_files"] = lambda: list(store.list_files("", recursive=True))
        for name, call in calls.items():
            try:
                call()
            except BackendUnavailable:
                continue
            except RemoteStoreError as exc:
                pytest.fail(f"{name}() on an unreachable service raised {type(exc).__name__}, not BackendUnavailable")
            pytest.fail(f"{name}() on an unreachable service returned instead of raising BackendUnavailable")

    @requires(Capability.READ)
    def test_not_found_is_a_remote_store_error(self, store: Store) -> None:
        with pytest.raises(RemoteStoreError) as info:
            store.read_bytes("missing.txt")
        assert isinstance(info.value, NotFound)

    @requires(Capability.READ)
    def test_error_message_names_the_path(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.read_bytes("some/missing file.txt")
        assert "some/missing file.txt" in str(info.value)

    @requires(Capability.READ)
    def test_error_names_the_backend(self, store: Store, backend: Backend) -> None:
        with pytest.raises(NotFound) as info:
            store.read_bytes("missing.txt")
        assert info.value.backend == backend.type_name
        assert backend.type_name in str(info.value)

    @requires(Capability.READ)
    def test_error_message_has_no_secret(self, store: Store, backend: Backend) -> None:
        with pytest.raises(NotFound) as info:
            store.read_bytes("missing.txt")
        text = f"{info.value} {info.value!r}"
        for secret in secrets_of(backend):
            assert secret not in text

    @requires(Capability.WRITE, Capability.HIERARCHICAL)
    def test_invalid_path_error_has_no_secret(self, store: Store, backend: Backend) -> None:
        store.write("f.txt", b"x")
        with pytest.raises(InvalidPath) as info:
            store.write("f.txt/below", b"y")
        for secret in secrets_of(backend):
            assert secret not in str(info.value)

    def test_invalid_path_is_a_value_error(self, store: Store) -> None:
        with pytest.raises(ValueError):
            store.exists("../x")

    @requires(Capability.READ)
    def test_errors_pickle(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.read_bytes("missing.txt")
        clone = pickle.loads(pickle.dumps(info.value))
        assert type(clone) is NotFound
        assert (clone.path, clone.backend) == (info.value.path, info.value.backend)

    @requires(Capability.DELETE)
    def test_delete_folder_missing_error_names_the_folder(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.delete_folder("nope/deeper", recursive=True)
        assert info.value.path == "nope/deeper"

    @requires(Capability.LIST)
    def test_listing_errors_are_typed(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            next(store.list_files("\x00"))

    @requires(Capability.READ)
    def test_stream_errors_are_typed(self, store: Store, put: Putter) -> None:
        put("closed.bin", b"abc")
        stream = store.read("closed.bin")
        stream.close()
        with pytest.raises((ValueError, RemoteStoreError)):
            stream.read()

    @requires(Capability.READ)
    def test_not_found_in_child_store_is_child_relative(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.child("kid").read_bytes("missing.txt")
        assert info.value.path == "missing.txt"
