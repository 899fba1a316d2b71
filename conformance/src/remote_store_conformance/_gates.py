"""Capability gates: an undeclared capability makes its methods raise `CapabilityNotSupported`
before any I/O. Each test runs only on backends that lack the capability."""

from __future__ import annotations

import io

from remote_store import Backend, Capability, Store
from remote_store_conformance._base import assert_refused, requires, requires_missing


class GateTests:
    """The symmetric half of capability gating."""

    @requires_missing(Capability.READ)
    def test_read_refused_without_read(self, store: Store) -> None:
        assert_refused(Capability.READ, lambda: store.read("f.txt"))

    @requires_missing(Capability.READ)
    def test_read_bytes_refused_without_read(self, store: Store) -> None:
        assert_refused(Capability.READ, lambda: store.read_bytes("f.txt"))

    @requires_missing(Capability.READ)
    def test_read_text_refused_without_read(self, store: Store) -> None:
        assert_refused(Capability.READ, lambda: store.read_text("f.txt"))

    @requires_missing(Capability.READ)
    def test_read_seekable_refused_without_read(self, store: Store) -> None:
        assert_refused(Capability.READ, lambda: store.read_seekable("f.txt"))

    @requires_missing(Capability.WRITE)
    def test_write_refused_without_write(self, store: Store) -> None:
        assert_refused(Capability.WRITE, lambda: store.write("f.txt", b"x"))

    @requires_missing(Capability.WRITE)
    def test_write_text_refused_without_write(self, store: Store) -> None:
        assert_refused(Capability.WRITE, lambda: store.write_text("f.txt", "x"))

    @requires_missing(Capability.WRITE)
    def test_refused_write_does_not_consume_the_stream(self, store: Store) -> None:
        source = io.BytesIO(b"payload")
        assert_refused(Capability.WRITE, lambda: store.write("f.txt", source))
        assert source.tell() == 0

    @requires_missing(Capability.DELETE)
    def test_delete_refused_without_delete(self, store: Store) -> None:
        assert_refused(Capability.DELETE, lambda: store.delete("f.txt", missing_ok=True))

    @requires_missing(Capability.DELETE)
    def test_delete_folder_refused_without_delete(self, store: Store) -> None:
        assert_refused(Capability.DELETE, lambda: store.delete_folder("d", recursive=True, missing_ok=True))

    @requires_missing(Capability.DELETE)
    def test_collect_garbage_refused_without_delete(self, store: Store) -> None:
        assert_refused(Capability.DELETE, lambda: store.collect_garbage())

    @requires_missing(Capability.LIST)
    def test_list_files_refused_without_list(self, store: Store) -> None:
        assert_refused(Capability.LIST, lambda: store.list_files(""))

    @requires_missing(Capability.LIST)
    def test_list_folders_refused_without_list(self, store: Store) -> None:
        assert_refused(Capability.LIST, lambda: store.list_folders(""))

    @requires_missing(Capability.LIST)
    def test_iter_children_refused_without_list(self, store: Store) -> None:
        assert_refused(Capability.LIST, lambda: store.iter_children(""))

    @requires_missing(Capability.GLOB)
    def test_glob_refused_without_glob(self, store: Store) -> None:
        assert_refused(Capability.GLOB, lambda: store.glob("*.txt"))

    @requires_missing(Capability.GLOB)
    def test_glob_refusal_names_the_backend(self, store: Store, backend: Backend) -> None:
        err = assert_refused(Capability.GLOB, lambda: store.glob("**"))
        assert err.backend == backend.type_name
        assert "GLOB" in str(err)

    @requires_missing(Capability.MOVE)
    def test_move_refused_without_move(self, store: Store) -> None:
        assert_refused(Capability.MOVE, lambda: store.move("a.txt", "b.txt"))

    @requires_missing(Capability.COPY)
    def test_copy_refused_without_copy(self, store: Store) -> None:
        assert_refused(Capability.COPY, lambda: store.copy("a.txt", "b.txt"))

    @requires_missing(Capability.ATOMIC_WRITE)
    def test_write_atomic_refused_without_atomic_write(self, store: Store) -> None:
        assert_refused(Capability.ATOMIC_WRITE, lambda: store.write_atomic("f.txt", b"x"))

    @requires_missing(Capability.ATOMIC_WRITE)
    def test_open_atomic_refused_without_atomic_write(self, store: Store) -> None:
        def enter() -> None:
            with store.open_atomic("f.txt") as f:
                f.write(b"x")

        assert_refused(Capability.ATOMIC_WRITE, enter)

    @requires_missing(Capability.METADATA)
    def test_get_file_info_refused_without_metadata(self, store: Store) -> None:
        assert_refused(Capability.METADATA, lambda: store.get_file_info("f.txt"))

    @requires_missing(Capability.METADATA)
    def test_head_refused_without_metadata(self, store: Store) -> None:
        assert_refused(Capability.METADATA, lambda: store.head("f.txt"))

    @requires_missing(Capability.METADATA)
    def test_get_folder_info_refused_without_metadata(self, store: Store) -> None:
        assert_refused(Capability.METADATA, lambda: store.get_folder_info(""))

    @requires(Capability.WRITE)
    @requires_missing(Capability.USER_METADATA)
    def test_write_with_metadata_refused_without_user_metadata(self, store: Store) -> None:
        assert_refused(Capability.USER_METADATA, lambda: store.write("m.txt", b"x", metadata={"k": "v"}))
        assert store.exists("m.txt") is False

    @requires(Capability.WRITE)
    @requires_missing(Capability.USER_METADATA)
    def test_write_text_with_metadata_refused_without_user_metadata(self, store: Store) -> None:
        assert_refused(Capability.USER_METADATA, lambda: store.write_text("m.txt", "x", metadata={"k": "v"}))
