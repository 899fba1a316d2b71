"""Identity, capabilities, `Store` plumbing and close/reopen posture."""

from __future__ import annotations

from typing import Any

import pytest

from remote_store import Backend, Capability, CapabilitySet, ResolutionPlan, Secret, Store
from remote_store.errors import CapabilityNotSupported, InvalidPath
from remote_store_conformance._base import Putter, requires


def _secret_values(options: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for value in options.values():
        if isinstance(value, Secret) and value.reveal():
            out.append(value.reveal())
        elif isinstance(value, dict):
            out.extend(_secret_values(value))
    return out


class IdentityTests:
    """Type name, capabilities, options, repr and `Store` helpers that do no storage I/O."""

    def test_backend_is_a_backend_subclass(self, backend: Backend) -> None:
        assert isinstance(backend, Backend)

    def test_type_name_is_a_nonempty_string(self, backend: Backend) -> None:
        assert isinstance(backend.type_name, str)
        assert backend.type_name.strip() == backend.type_name != ""

    def test_capabilities_is_a_capability_set(self, backend: Backend) -> None:
        caps = backend.capabilities
        assert isinstance(caps, CapabilitySet)
        assert all(isinstance(c, Capability) for c in caps)

    def test_capabilities_are_stable(self, backend: Backend) -> None:
        assert backend.capabilities == backend.capabilities

    def test_store_capabilities_are_the_backend_capabilities(self, backend: Backend, store: Store) -> None:
        assert store.capabilities == backend.capabilities

    def test_supports_agrees_with_capabilities(self, backend: Backend, store: Store) -> None:
        for cap in Capability:
            assert store.supports(cap) is (cap in backend.capabilities), cap

    def test_quality_flags_come_with_their_gate(self, backend: Backend) -> None:
        caps = backend.capabilities
        if Capability.SEEKABLE_READ in caps or Capability.LAZY_READ in caps:
            assert Capability.READ in caps
        if Capability.ATOMIC_MOVE in caps:
            assert Capability.MOVE in caps
        if Capability.WRITE_RESULT_NATIVE in caps or Capability.USER_METADATA in caps:
            assert Capability.WRITE in caps

    def test_options_is_a_dict_with_str_keys(self, backend: Backend) -> None:
        options = backend.options
        assert isinstance(options, dict)
        assert all(isinstance(k, str) for k in options)

    def test_options_rebuild_an_equivalent_backend(self, backend: Backend) -> None:
        clone = type(backend)(**backend.options)
        try:
            assert clone.type_name == backend.type_name
            assert clone.capabilities == backend.capabilities
            assert clone.options == backend.options
        finally:
            clone.close()

    def test_options_rebuild_a_backend_that_sees_the_same_files(
        self, backend: Backend, store: Store, put: Putter, store_root: str
    ) -> None:
        if not getattr(type(self), "rebuilt_backend_shares_files", True):
            pytest.skip("the test class sets rebuilt_backend_shares_files = False")
        if Capability.READ not in backend.capabilities:
            pytest.skip("backend does not declare READ")
        put("rebuilt/seen.txt", b"same files")
        clone = type(backend)(**backend.options)
        try:
            # Options that drop the root, prefix, bucket or table would point the clone elsewhere.
            assert Store(clone, root_path=store_root).read_bytes("rebuilt/seen.txt") == b"same files"
            assert clone.native_path(f"{store_root}/rebuilt/seen.txt") == backend.native_path(
                f"{store_root}/rebuilt/seen.txt"
            )
        finally:
            clone.close()

    def test_repr_names_the_class(self, backend: Backend) -> None:
        assert type(backend).__name__ in repr(backend)

    def test_repr_never_shows_a_secret(self, backend: Backend) -> None:
        text = repr(backend)
        for secret in _secret_values(backend.options):
            assert secret not in text

    def test_store_repr_never_shows_a_secret(self, store: Store, backend: Backend) -> None:
        text = repr(store)
        assert store.root_path in text
        for secret in _secret_values(backend.options):
            assert secret not in text

    def test_store_backend_property(self, store: Store, backend: Backend) -> None:
        assert store.backend is backend

    def test_store_root_path_is_normalised(self, backend: Backend, store_root: str) -> None:
        assert Store(backend, f"/{store_root}//x/./").root_path == f"{store_root}/x"

    def test_root_store_is_a_folder(self, root_store: Store) -> None:
        assert root_store.is_folder("") is True

    def test_exists_on_root_is_false(self, store: Store, root_store: Store) -> None:
        assert store.exists("") is False
        assert root_store.exists("") is False

    def test_is_file_on_root_is_false(self, store: Store, root_store: Store) -> None:
        assert store.is_file("") is False
        assert root_store.is_file("/") is False

    def test_resolve_describes_the_key(self, store: Store, store_root: str, backend: Backend) -> None:
        plan = store.resolve("a/b.txt")
        assert isinstance(plan, ResolutionPlan)
        assert plan.key == f"{store_root}/a/b.txt"
        assert plan.store_root == store_root
        assert plan.backend_type == backend.type_name
        assert isinstance(plan.native_path, str) and plan.native_path

    def test_resolve_masks_secrets(self, store: Store, backend: Backend) -> None:
        plan = store.resolve("x.txt")
        shown = repr(dict(plan.options))
        for secret in _secret_values(backend.options):
            assert secret not in shown

    def test_native_path_round_trips_through_to_key(self, store: Store) -> None:
        native = store.native_path("dir/file name.txt")
        assert isinstance(native, str)
        assert store.to_key(native) == "dir/file name.txt"

    def test_native_path_differs_per_key(self, store: Store) -> None:
        assert store.native_path("a.txt") != store.native_path("b.txt")

    def test_unwrap_returns_the_backend(self, store: Store, backend: Backend) -> None:
        assert store.unwrap(type(backend)) is backend
        assert store.unwrap(Backend) is backend  # type: ignore[type-abstract]

    def test_unwrap_refuses_another_type(self, store: Store) -> None:
        class Other(Backend):
            pass

        with pytest.raises(CapabilityNotSupported):
            store.unwrap(Other)  # type: ignore[type-abstract]

    def test_store_equality_and_hash(self, backend: Backend, store_root: str) -> None:
        a, b = Store(backend, store_root), Store(backend, store_root + "/")
        assert a == b and hash(a) == hash(b)
        assert a != Store(backend, store_root + "x")

    def test_child_shares_the_backend(self, store: Store, store_root: str) -> None:
        child = store.child("sub/deeper")
        assert child.backend is store.backend
        assert child.root_path == f"{store_root}/sub/deeper"

    def test_child_of_the_root_is_refused(self, store: Store, root_store: Store) -> None:
        for sub in ("", "/", "./"):
            with pytest.raises(InvalidPath):
                store.child(sub)
            with pytest.raises(InvalidPath):
                root_store.child(sub)

    def test_root_of_a_child_store_is_always_a_folder(self, store: Store) -> None:
        empty = store.child("nothing/here/yet")
        assert empty.is_folder("") is True
        assert empty.is_folder("/") is True
        assert store.is_folder("") is True  # the fixture's store folder holds nothing either

    def test_root_is_neither_a_file_nor_existing(self, store: Store) -> None:
        kid = store.child("kid")
        for st in (store, kid):
            assert st.exists("") is False
            assert st.is_file("") is False
            assert st.exists("/") is False

    def test_child_refuses_dotdot(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            store.child("../escape")

    def test_ping_succeeds(self, store: Store, backend: Backend) -> None:
        assert store.ping() is None  # type: ignore[func-returns-value]
        assert backend.ping() is None  # type: ignore[func-returns-value]


class CloseTests:
    """`close` is idempotent and a closed backend reconnects lazily."""

    def test_close_is_idempotent(self, backend: Backend, store: Store) -> None:
        store.close()
        store.close()
        backend.close()
        assert store.exists("never-written.txt") is False

    @requires(Capability.WRITE, Capability.READ)
    def test_use_after_close_reconnects(self, store: Store) -> None:
        store.write("before.txt", b"one")
        store.close()
        assert store.read_bytes("before.txt") == b"one"
        store.write("after.txt", b"two")
        store.close()
        assert store.read_bytes("after.txt") == b"two"

    @requires(Capability.READ)
    def test_store_context_manager_closes_and_reopens(self, store: Store, put: Putter) -> None:
        put("ctx.txt", b"ctx")
        with store as s:
            assert s is store
            assert s.read_bytes("ctx.txt") == b"ctx"
        assert store.read_bytes("ctx.txt") == b"ctx"

    def test_backend_context_manager_returns_itself(self, backend: Backend) -> None:
        with backend as b:
            assert b is backend
        assert Store(backend).is_folder("") is True

    @requires(Capability.READ)
    def test_close_with_a_stream_open_does_not_corrupt_later_reads(self, store: Store, put: Putter) -> None:
        put("open.bin", b"0123456789")
        stream = store.read("open.bin")
        assert stream.read(2) == b"01"
        stream.close()
        store.close()
        assert store.read_bytes("open.bin") == b"0123456789"
