"""Error mapping: only typed errors, naming the path and backend, never a secret."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from remote_store import Backend, Capability, Secret, Store
from remote_store.errors import InvalidPath, NotFound, RemoteStoreError
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


class ErrorTests:
    """What callers can rely on when something goes wrong."""

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
