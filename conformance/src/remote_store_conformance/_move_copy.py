"""`move` and `copy`: overwrite, self-move / self-copy, missing source, nesting."""

from __future__ import annotations

import pytest

from remote_store import Capability, Store
from remote_store.errors import AlreadyExists, InvalidPath, NotFound
from remote_store_conformance._base import Putter, payload, requires

MiB = 1024 * 1024


class MoveTests:
    """Moving files."""

    @requires(Capability.MOVE, Capability.READ)
    def test_move_renames(self, store: Store, put: Putter) -> None:
        put("src.txt", b"moved")
        assert store.move("src.txt", "dst.txt") is None  # type: ignore[func-returns-value]
        assert store.exists("src.txt") is False
        assert store.read_bytes("dst.txt") == b"moved"

    @requires(Capability.MOVE, Capability.READ)
    def test_move_into_new_folder(self, store: Store, put: Putter) -> None:
        put("src.txt", b"x")
        store.move("src.txt", "new/deep/dst.txt")
        assert store.is_folder("new/deep")
        assert store.read_bytes("new/deep/dst.txt") == b"x"

    @requires(Capability.MOVE, Capability.READ)
    def test_move_out_of_folder(self, store: Store, put: Putter) -> None:
        put("in/src.txt", b"x")
        store.move("in/src.txt", "out.txt")
        assert store.read_bytes("out.txt") == b"x"
        assert store.exists("in/src.txt") is False

    @requires(Capability.MOVE)
    def test_move_missing_source_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.move("missing.txt", "dst.txt")
        assert info.value.path == "missing.txt"
        assert store.exists("dst.txt") is False

    @requires(Capability.MOVE, Capability.READ)
    def test_move_onto_existing_raises_already_exists(self, store: Store, put: Putter) -> None:
        put("a.txt", b"A")
        put("b.txt", b"B")
        with pytest.raises(AlreadyExists):
            store.move("a.txt", "b.txt")
        assert store.read_bytes("a.txt") == b"A"
        assert store.read_bytes("b.txt") == b"B"

    @requires(Capability.MOVE, Capability.READ)
    def test_move_overwrite(self, store: Store, put: Putter) -> None:
        put("a.txt", b"A")
        put("b.txt", b"B")
        store.move("a.txt", "b.txt", overwrite=True)
        assert store.exists("a.txt") is False
        assert store.read_bytes("b.txt") == b"A"

    @requires(Capability.MOVE, Capability.READ)
    def test_move_onto_itself_is_a_noop(self, store: Store, put: Putter) -> None:
        put("self.txt", b"same")
        store.move("self.txt", "self.txt")
        assert store.read_bytes("self.txt") == b"same"

    @requires(Capability.MOVE, Capability.READ)
    def test_move_onto_itself_via_unnormalised_path(self, store: Store, put: Putter) -> None:
        put("d/self.txt", b"same")
        store.move("d/self.txt", "/d//./self.txt")
        assert store.read_bytes("d/self.txt") == b"same"

    @requires(Capability.MOVE)
    def test_move_missing_onto_itself_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.move("ghost.txt", "ghost.txt")

    @requires(Capability.MOVE, Capability.READ)
    def test_move_preserves_binary_content(self, store: Store, put: Putter) -> None:
        data = payload(200_000, 20)
        put("bin.dat", data)
        store.move("bin.dat", "moved.dat")
        assert store.read_bytes("moved.dat") == data

    @requires(Capability.MOVE, Capability.READ)
    def test_move_large_file(self, store: Store, put: Putter) -> None:
        data = payload(6 * MiB, 21)
        put("big.bin", data)
        store.move("big.bin", "big-moved.bin")
        assert store.exists("big.bin") is False
        assert store.read_bytes("big-moved.bin") == data

    @requires(Capability.MOVE, Capability.READ)
    def test_move_with_unicode_names(self, store: Store, put: Putter) -> None:
        put("vön/ä b.txt", b"u")
        store.move("vön/ä b.txt", "nach/ö c.txt")
        assert store.read_bytes("nach/ö c.txt") == b"u"

    @requires(Capability.MOVE)
    def test_move_a_folder_path_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("dir/a.txt")
        with pytest.raises(InvalidPath) as info:
            store.move("dir", "elsewhere")
        assert info.value.path == "dir"
        assert store.exists("dir/a.txt")
        assert store.exists("elsewhere") is False

    @requires(Capability.MOVE)
    def test_move_a_folder_onto_itself_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("dir/a.txt")
        with pytest.raises(InvalidPath):
            store.move("dir", "dir")
        assert store.exists("dir/a.txt")

    @requires(Capability.MOVE, Capability.LIST)
    def test_move_then_listing_shows_only_destination(self, store: Store, put: Putter) -> None:
        put("l/a.txt")
        store.move("l/a.txt", "l/b.txt")
        assert [i.path for i in store.list_files("l")] == ["l/b.txt"]

    @requires(Capability.MOVE, Capability.READ)
    def test_move_within_child_store(self, store: Store, put: Putter) -> None:
        put("kid/a.txt", b"k")
        store.child("kid").move("a.txt", "b.txt")
        assert store.read_bytes("kid/b.txt") == b"k"

    @requires(Capability.MOVE, Capability.READ)
    def test_move_back_and_forth(self, store: Store, put: Putter) -> None:
        put("ping.txt", b"pp")
        store.move("ping.txt", "pong.txt")
        store.move("pong.txt", "ping.txt")
        assert store.read_bytes("ping.txt") == b"pp"
        assert store.exists("pong.txt") is False


class CopyTests:
    """Copying files."""

    @requires(Capability.COPY, Capability.READ)
    def test_copy_duplicates(self, store: Store, put: Putter) -> None:
        put("src.txt", b"copied")
        store.copy("src.txt", "dst.txt")
        assert store.read_bytes("src.txt") == b"copied"
        assert store.read_bytes("dst.txt") == b"copied"

    @requires(Capability.COPY, Capability.READ)
    def test_copy_into_new_folder(self, store: Store, put: Putter) -> None:
        put("src.txt", b"x")
        store.copy("src.txt", "n/e/w.txt")
        assert store.read_bytes("n/e/w.txt") == b"x"

    @requires(Capability.COPY)
    def test_copy_missing_source_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.copy("missing.txt", "dst.txt")
        assert info.value.path == "missing.txt"
        assert store.exists("dst.txt") is False

    @requires(Capability.COPY, Capability.READ)
    def test_copy_onto_existing_raises_already_exists(self, store: Store, put: Putter) -> None:
        put("a.txt", b"A")
        put("b.txt", b"B")
        with pytest.raises(AlreadyExists):
            store.copy("a.txt", "b.txt")
        assert store.read_bytes("b.txt") == b"B"

    @requires(Capability.COPY, Capability.READ)
    def test_copy_overwrite(self, store: Store, put: Putter) -> None:
        put("a.txt", b"A")
        put("b.txt", b"B, longer")
        store.copy("a.txt", "b.txt", overwrite=True)
        assert store.read_bytes("b.txt") == b"A"
        assert store.read_bytes("a.txt") == b"A"

    @requires(Capability.COPY, Capability.READ)
    def test_copy_onto_itself_is_a_noop(self, store: Store, put: Putter) -> None:
        put("self.txt", b"s")
        assert store.copy("self.txt", "self.txt") is None  # type: ignore[func-returns-value]
        assert store.read_bytes("self.txt") == b"s"

    @requires(Capability.COPY, Capability.READ)
    def test_copy_onto_itself_via_unnormalised_path_is_a_noop(self, store: Store, put: Putter) -> None:
        put("d/self.txt", b"s")
        store.copy("/d/./self.txt", "d//self.txt")
        assert store.read_bytes("d/self.txt") == b"s"

    @requires(Capability.COPY, Capability.READ)
    def test_copy_onto_itself_with_overwrite_is_a_noop(self, store: Store, put: Putter) -> None:
        put("self.txt", b"s")
        store.copy("self.txt", "self.txt", overwrite=True)
        assert store.read_bytes("self.txt") == b"s"

    @requires(Capability.COPY)
    def test_copy_missing_onto_itself_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.copy("ghost.txt", "ghost.txt", overwrite=True)
        with pytest.raises(NotFound):
            store.copy("ghost.txt", "ghost.txt")

    @requires(Capability.COPY, Capability.WRITE, Capability.READ)
    def test_copy_is_independent_of_source(self, store: Store) -> None:
        store.write("orig.txt", b"original")
        store.copy("orig.txt", "copy.txt")
        store.write("orig.txt", b"changed", overwrite=True)
        assert store.read_bytes("copy.txt") == b"original"

    @requires(Capability.COPY, Capability.DELETE, Capability.READ)
    def test_copy_survives_source_delete(self, store: Store, put: Putter) -> None:
        put("orig.txt", b"o")
        store.copy("orig.txt", "copy.txt")
        store.delete("orig.txt")
        assert store.read_bytes("copy.txt") == b"o"

    @requires(Capability.COPY, Capability.READ)
    def test_copy_empty_file(self, store: Store, put: Putter) -> None:
        put("empty", b"")
        store.copy("empty", "empty2")
        assert store.read_bytes("empty2") == b""

    @requires(Capability.COPY, Capability.READ)
    def test_copy_large_file(self, store: Store, put: Putter) -> None:
        data = payload(6 * MiB, 22)
        put("big.bin", data)
        store.copy("big.bin", "big-copy.bin")
        assert store.read_bytes("big-copy.bin") == data

    @requires(Capability.COPY)
    def test_copy_a_folder_path_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("dir/a.txt")
        with pytest.raises(InvalidPath) as info:
            store.copy("dir", "elsewhere")
        assert info.value.path == "dir"
        assert store.exists("elsewhere") is False

    @requires(Capability.COPY)
    def test_copy_a_folder_onto_itself_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("dir/a.txt")
        with pytest.raises(InvalidPath):
            store.copy("dir", "dir", overwrite=True)

    @requires(Capability.COPY, Capability.READ)
    def test_copy_with_unicode_names(self, store: Store, put: Putter) -> None:
        put("ä/ö ü.txt", b"u")
        store.copy("ä/ö ü.txt", "é/ç.txt")
        assert store.read_bytes("é/ç.txt") == b"u"

    @requires(Capability.COPY, Capability.METADATA)
    def test_copy_has_the_source_size(self, store: Store, put: Putter) -> None:
        put("sz.bin", b"x" * 1234)
        store.copy("sz.bin", "sz2.bin")
        assert store.get_file_info("sz2.bin").size == 1234


class AtomicMoveTests:
    """ATOMIC_MOVE: a move is one rename, so the destination is never missing or partial."""

    @requires(Capability.MOVE, Capability.ATOMIC_MOVE, Capability.WRITE, Capability.READ)
    def test_atomic_move_destination_never_torn(self, store: Store) -> None:
        import threading

        size = 128 * 1024
        payloads = [bytes([97 + i]) * size for i in range(6)]
        store.write("dst.bin", payloads[0])
        stop = threading.Event()
        bad: list[str] = []

        def reader() -> None:
            while not stop.is_set():
                try:
                    data = store.read_bytes("dst.bin")
                except Exception as exc:
                    bad.append(f"{type(exc).__name__}: {exc}")
                    continue
                if data not in payloads:
                    bad.append(f"partial content: {len(data)} bytes")

        t = threading.Thread(target=reader)
        t.start()
        try:
            for i in range(1, 6):
                store.write(f"src{i}.bin", payloads[i])
                store.move(f"src{i}.bin", "dst.bin", overwrite=True)
        finally:
            stop.set()
            t.join()
        assert not bad, bad[:3]
        assert store.read_bytes("dst.bin") == payloads[5]

    @requires(Capability.MOVE, Capability.ATOMIC_MOVE, Capability.WRITE)
    @pytest.mark.parametrize("overwrite", [True, False], ids=["replace", "exclusive"])
    def test_atomic_move_is_one_step(self, store: Store, overwrite: bool) -> None:
        # An observer probes both names in an order that a single rename can never fool:
        # once the destination is seen, the source must already be gone; once the source is
        # seen gone, the destination must already be there. Copy-then-delete (both exist for
        # a while) and delete-then-copy (neither does) each break one of the two. A backend
        # whose service has no no-replace rename (SFTP: hard link, then remove) sets
        # `exclusive_move_is_one_step = False`; its exclusive moves are then only held to
        # "the file is never missing".
        import threading

        one_step = overwrite or getattr(type(self), "exclusive_move_is_one_step", True)
        stop = threading.Event()
        bad: list[str] = []

        def observer(src: str, dst: str) -> None:
            while not stop.is_set():
                if one_step and store.exists(dst) and store.exists(src):
                    bad.append(f"{src} still exists after {dst} appeared")
                if not store.exists(src) and not store.exists(dst):
                    bad.append(f"neither {src} nor {dst} exists")

        for i in range(8):
            src, dst = f"one-step/src{i}.bin", f"one-step/dst{i}.bin"
            store.write(src, b"x" * 4096)
            stop.clear()
            t = threading.Thread(target=observer, args=(src, dst))
            t.start()
            try:
                store.move(src, dst, overwrite=overwrite)
            finally:
                stop.set()
                t.join()
            assert not bad, bad[:3]
            assert not store.exists(src) and store.read_bytes(dst) == b"x" * 4096
