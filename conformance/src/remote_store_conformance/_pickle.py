"""Pickling: stores and backends travel by configuration and work in another process."""

from __future__ import annotations

import multiprocessing
import pickle

import pytest

from remote_store import Backend, Capability, FileInfo, Store
from remote_store_conformance._base import Putter, requires


def child_round_trip(blob: bytes) -> tuple[bytes, str]:
    """Run in a spawned process: unpickle a store, write a file, read it back, close.

    Returns:
        ``(content read back, backend type name)``.
    """
    store: Store = pickle.loads(blob)
    try:
        store.write("from-child.txt", b"hello from the child", overwrite=True)
        return store.read_bytes("from-child.txt"), store.backend.type_name
    finally:
        store.close()


class PickleTests:
    """A pickled store rebuilds its backend from `Backend.options`."""

    def test_store_pickles(self, store: Store, backend: Backend) -> None:
        clone = pickle.loads(pickle.dumps(store))
        assert isinstance(clone, Store)
        assert clone.root_path == store.root_path
        assert type(clone.backend) is type(backend)
        assert clone.capabilities == store.capabilities
        clone.close()

    def test_backend_pickles_by_configuration(self, backend: Backend) -> None:
        clone = pickle.loads(pickle.dumps(backend))
        assert type(clone) is type(backend)
        assert clone.options == backend.options
        clone.close()

    @requires(Capability.READ)
    def test_unpickled_store_reads_in_process(self, store: Store, put: Putter) -> None:
        if not getattr(type(self), "shares_state_across_processes", True):
            pytest.skip(
                "test class sets shares_state_across_processes = False: files do not outlive their backend object"
            )
        put("shared.txt", b"shared")
        clone = pickle.loads(pickle.dumps(store))
        try:
            assert clone.read_bytes("shared.txt") == b"shared"
        finally:
            clone.close()

    @requires(Capability.LIST)
    def test_file_info_pickles(self, store: Store, put: Putter) -> None:
        put("fi.txt", b"abc")
        (info,) = list(store.list_files(""))
        clone = pickle.loads(pickle.dumps(info))
        assert isinstance(clone, FileInfo)
        assert clone == info

    @requires(Capability.WRITE)
    def test_write_result_pickles(self, store: Store) -> None:
        result = store.write("wr.txt", b"abc")
        assert pickle.loads(pickle.dumps(result)) == result

    @requires(Capability.WRITE, Capability.READ)
    def test_store_works_in_a_spawned_process(self, store: Store) -> None:
        blob = pickle.dumps(store)
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            content, type_name = pool.apply(child_round_trip, (blob,))
        assert content == b"hello from the child"
        assert type_name == store.backend.type_name
        if getattr(type(self), "shares_state_across_processes", True):
            assert store.read_bytes("from-child.txt") == b"hello from the child"
