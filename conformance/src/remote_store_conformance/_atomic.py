"""Atomic writes: `write_atomic` and `open_atomic` publish all or nothing, and leave no temp files."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from remote_store import AtomicWriteHandle, Capability, Store, WriteResult
from remote_store.errors import AlreadyExists, InvalidPath, RemoteStoreError
from remote_store_conformance._base import payload, requires
from remote_store_conformance._write import FailingStream, failing_chunks

MiB = 1024 * 1024


class Boom(Exception):
    """Raised inside an ``open_atomic`` block by the tests."""


def visible_files(store: Store) -> list[str]:
    """Every file the store lists (recursive), or [] without LIST."""
    if Capability.LIST not in store.capabilities:
        return []
    return sorted(i.path for i in store.list_files("", recursive=True))


class AtomicTests:
    """All-or-nothing writes."""

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_write_atomic_round_trip(self, store: Store) -> None:
        result = store.write_atomic("a.bin", b"atomic")
        assert isinstance(result, WriteResult)
        assert (result.path, result.size) == ("a.bin", 6)
        assert store.read_bytes("a.bin") == b"atomic"

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_write_atomic_empty(self, store: Store) -> None:
        store.write_atomic("e.bin", b"")
        assert store.read_bytes("e.bin") == b""

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_write_atomic_stream(self, store: Store) -> None:
        data = payload(300_000, 30)
        store.write_atomic("s.bin", io.BytesIO(data))
        assert store.read_bytes("s.bin") == data

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_write_atomic_generator(self, store: Store) -> None:
        def gen() -> Iterator[bytes]:
            yield b"a"
            yield b"b"

        store.write_atomic("g.bin", gen())
        assert store.read_bytes("g.bin") == b"ab"

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_write_atomic_nested(self, store: Store) -> None:
        store.write_atomic("x/y/z.bin", b"n")
        assert store.read_bytes("x/y/z.bin") == b"n"
        assert store.is_folder("x/y")

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_write_atomic_existing_raises_already_exists(self, store: Store) -> None:
        store.write_atomic("dup.bin", b"one")
        with pytest.raises(AlreadyExists):
            store.write_atomic("dup.bin", b"two")
        assert store.read_bytes("dup.bin") == b"one"

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_write_atomic_overwrite(self, store: Store) -> None:
        store.write_atomic("ov.bin", b"one")
        store.write_atomic("ov.bin", b"two", overwrite=True)
        assert store.read_bytes("ov.bin") == b"two"

    @requires(Capability.ATOMIC_WRITE, Capability.HIERARCHICAL)
    def test_write_atomic_onto_folder_raises_invalid_path(self, store: Store) -> None:
        store.write_atomic("dir/f.bin", b"x")
        with pytest.raises(InvalidPath):
            store.write_atomic("dir", b"y", overwrite=True)

    @requires(Capability.ATOMIC_WRITE, Capability.HIERARCHICAL)
    def test_write_atomic_below_file_raises_invalid_path(self, store: Store) -> None:
        store.write_atomic("f.bin", b"x")
        with pytest.raises(InvalidPath):
            store.write_atomic("f.bin/child", b"y")

    @requires(Capability.ATOMIC_WRITE)
    def test_write_atomic_str_is_a_type_error(self, store: Store) -> None:
        with pytest.raises(TypeError):
            store.write_atomic("t.txt", "text")  # type: ignore[arg-type]

    @requires(Capability.ATOMIC_WRITE)
    def test_write_atomic_failing_source_leaves_nothing(self, store: Store) -> None:
        with pytest.raises(Exception):  # noqa: B017 - the source's own error, possibly translated
            store.write_atomic("partial.bin", FailingStream(payload(200_000, 31)))
        assert store.exists("partial.bin") is False
        assert visible_files(store) == []

    @requires(Capability.ATOMIC_WRITE)
    def test_write_atomic_failing_generator_leaves_nothing(self, store: Store) -> None:
        with pytest.raises((RuntimeError, RemoteStoreError)):
            store.write_atomic("partial.bin", failing_chunks(b"y" * 50_000))
        assert store.exists("partial.bin") is False
        assert visible_files(store) == []

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_write_atomic_failing_source_keeps_previous(self, store: Store) -> None:
        store.write_atomic("keep.bin", b"previous")
        with pytest.raises(Exception):  # noqa: B017
            store.write_atomic("keep.bin", FailingStream(payload(200_000, 32)), overwrite=True)
        assert store.read_bytes("keep.bin") == b"previous"
        assert visible_files(store) == ["keep.bin"] or Capability.LIST not in store.capabilities

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_write_atomic_large(self, store: Store) -> None:
        data = payload(12 * MiB, 33)
        result = store.write_atomic("large.bin", io.BytesIO(data))
        assert result.size == len(data)
        assert store.read_bytes("large.bin") == data

    @requires(Capability.ATOMIC_WRITE, Capability.LIST)
    def test_write_atomic_leaves_no_temp_files(self, store: Store) -> None:
        for i in range(3):
            store.write_atomic(f"d/f{i}.bin", b"x", overwrite=True)
        store.write_atomic("d/f0.bin", b"y", overwrite=True)
        assert visible_files(store) == ["d/f0.bin", "d/f1.bin", "d/f2.bin"]

    # --------------------------------------------------------------- open_atomic
    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_open_atomic_commits_on_clean_exit(self, store: Store) -> None:
        with store.open_atomic("o.bin") as f:
            f.write(b"part1-")
            f.write(b"part2")
        assert store.read_bytes("o.bin") == b"part1-part2"

    @requires(Capability.ATOMIC_WRITE)
    def test_open_atomic_yields_a_write_handle(self, store: Store) -> None:
        with store.open_atomic("h.bin") as f:
            assert isinstance(f, AtomicWriteHandle)
            assert f.writable()
            assert f.write(b"abc") == 3
            assert f.result is None

    @requires(Capability.ATOMIC_WRITE)
    def test_open_atomic_result_after_exit(self, store: Store) -> None:
        with store.open_atomic("res/r.bin") as f:
            f.write(b"12345")
        assert isinstance(f.result, WriteResult)
        assert f.result.path == "res/r.bin"
        assert f.result.size == 5

    @requires(Capability.ATOMIC_WRITE)
    def test_open_atomic_counts_bytes(self, store: Store) -> None:
        with store.open_atomic("count.bin") as f:
            f.write(b"ab")
            f.write(bytearray(b"cde"))
            f.write(memoryview(b"fghij"))
            assert f.bytes_written == 10

    @requires(Capability.ATOMIC_WRITE)
    def test_open_atomic_invisible_until_exit(self, store: Store) -> None:
        with store.open_atomic("later.bin") as f:
            f.write(b"not yet")
            assert store.exists("later.bin") is False
        assert store.exists("later.bin") is True

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_open_atomic_old_content_visible_until_exit(self, store: Store) -> None:
        store.write_atomic("swap.bin", b"old")
        with store.open_atomic("swap.bin", overwrite=True) as f:
            f.write(b"new")
            assert store.read_bytes("swap.bin") == b"old"
        assert store.read_bytes("swap.bin") == b"new"

    @requires(Capability.ATOMIC_WRITE)
    def test_open_atomic_exception_publishes_nothing(self, store: Store) -> None:
        with pytest.raises(Boom), store.open_atomic("aborted.bin") as f:
            f.write(b"half")
            raise Boom
        assert store.exists("aborted.bin") is False
        assert visible_files(store) == []

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_open_atomic_exception_keeps_previous(self, store: Store) -> None:
        store.write_atomic("prev.bin", b"previous")
        with pytest.raises(Boom), store.open_atomic("prev.bin", overwrite=True) as f:
            f.write(b"replacement")
            raise Boom
        assert store.read_bytes("prev.bin") == b"previous"

    @requires(Capability.ATOMIC_WRITE)
    def test_open_atomic_exception_leaves_no_result(self, store: Store) -> None:
        with pytest.raises(Boom), store.open_atomic("nores.bin") as f:
            raise Boom
        assert f.result is None

    @requires(Capability.ATOMIC_WRITE)
    def test_open_atomic_existing_raises_already_exists(self, store: Store) -> None:
        store.write_atomic("exists.bin", b"x")
        with pytest.raises(AlreadyExists), store.open_atomic("exists.bin") as f:
            f.write(b"y")

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_open_atomic_overwrite(self, store: Store) -> None:
        store.write_atomic("ow.bin", b"x")
        with store.open_atomic("ow.bin", overwrite=True) as f:
            f.write(b"y")
        assert store.read_bytes("ow.bin") == b"y"

    @requires(Capability.ATOMIC_WRITE)
    def test_open_atomic_str_write_is_a_type_error(self, store: Store) -> None:
        with pytest.raises(TypeError), store.open_atomic("str.bin") as f:
            f.write("text")
        assert store.exists("str.bin") is False

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_open_atomic_empty(self, store: Store) -> None:
        with store.open_atomic("empty.bin") as f:
            pass
        assert store.read_bytes("empty.bin") == b""
        assert f.result is not None and f.result.size == 0

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_open_atomic_large_streaming(self, store: Store) -> None:
        block = payload(MiB, 34)
        with store.open_atomic("big.bin") as f:
            for _ in range(10):
                f.write(block)
        assert f.result is not None and f.result.size == 10 * MiB
        assert store.read_bytes("big.bin") == block * 10

    @requires(Capability.ATOMIC_WRITE, Capability.LIST)
    def test_open_atomic_abort_leaves_no_temp_files(self, store: Store) -> None:
        store.write_atomic("t/keep.bin", b"k")
        with pytest.raises(Boom), store.open_atomic("t/tmp.bin") as f:
            f.write(payload(100_000, 35))
            raise Boom
        assert visible_files(store) == ["t/keep.bin"]

    @requires(Capability.ATOMIC_WRITE)
    def test_open_atomic_root_refused(self, store: Store) -> None:
        with pytest.raises(InvalidPath), store.open_atomic("") as f:
            f.write(b"x")
