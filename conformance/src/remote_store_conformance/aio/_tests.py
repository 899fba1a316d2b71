"""Genuinely async behaviours of `AsyncStore`: every verb as a coroutine, concurrency, laziness, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from remote_store import Capability, FileInfo, FolderEntry
from remote_store.aio import AsyncBackend, AsyncStore
from remote_store.errors import (
    AlreadyExists,
    CapabilityNotSupported,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
)
from remote_store_conformance._base import payload, requires, requires_missing
from remote_store_conformance._integrity import canonical_tests
from remote_store_conformance.aio._base import AsyncBody, AsyncSuiteBase, CountingBackend

Run = Callable[..., None]


class AsyncStoreTests(AsyncSuiteBase):
    """The `AsyncStore` surface on the author's async backend, each test on a fresh event loop."""

    # ------------------------------------------------------------------ verbs
    @requires(Capability.READ, Capability.WRITE)
    def test_aio_write_then_read_every_way(self, arun: Run) -> None:
        data = payload(300_000, seed=1)

        async def body(store: AsyncStore) -> None:
            res = await store.write("d/a.bin", data)
            assert res.path == "d/a.bin" and res.size == len(data)
            assert await store.read_bytes("d/a.bin") == data
            async with store.read("d/a.bin") as f:
                assert await f.read(10) == data[:10]
                assert await f.read() == data[10:]
                assert await f.read() == b""
            assert f.closed
            stream = await store.read("d/a.bin")
            try:
                chunks = [chunk async for chunk in stream]
            finally:
                await stream.aclose()
            assert b"".join(chunks) == data and all(chunks)
            await store.write_text("t.txt", "héllo")
            assert await store.read_text("t.txt") == "héllo"
            assert await store.exists("d/a.bin") and await store.is_file("d/a.bin")
            assert await store.is_folder("d") and not await store.is_folder("d/a.bin")
            assert not await store.exists("d") and not await store.exists("")
            assert await store.is_folder("")

        arun(body)

    @requires(Capability.WRITE)
    def test_aio_write_async_iterator_content(self, arun: Run) -> None:
        parts = [payload(70_000, seed=i) for i in range(5)]

        async def gen() -> AsyncIterator[bytes]:
            for part in parts:
                await asyncio.sleep(0)
                yield part

        async def body(store: AsyncStore) -> None:
            res = await store.write("g.bin", gen())
            assert res.size == sum(map(len, parts))
            if Capability.READ in store.capabilities:
                assert await store.read_bytes("g.bin") == b"".join(parts)

        arun(body)

    @requires(Capability.WRITE)
    def test_aio_write_refuses_wrong_content_types(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            with pytest.raises(TypeError):
                await store.write("s.txt", "text")  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                await store.write("l.txt", [b"sync", b"list"])  # type: ignore[arg-type]

            async def bad() -> AsyncIterator[object]:
                yield "not bytes"

            with pytest.raises(TypeError):
                await store.write("b.txt", bad())  # type: ignore[arg-type]
            assert not await store.exists("b.txt")

        arun(body)

    @requires(Capability.WRITE)
    def test_aio_caller_content_error_is_reraised_unchanged(self, arun: Run) -> None:
        class Boom(Exception):
            pass

        async def failing() -> AsyncIterator[bytes]:
            yield b"partial"
            raise Boom("from the caller")

        async def body(store: AsyncStore) -> None:
            await store.write("keep.txt", b"old")
            with pytest.raises(Boom):
                await store.write("keep.txt", failing(), overwrite=True)
            if Capability.READ in store.capabilities:
                assert await store.read_bytes("keep.txt") == b"old"

        arun(body)

    @requires(Capability.WRITE, Capability.READ)
    def test_aio_overwrite_and_already_exists(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            await store.write("o.txt", b"one")
            with pytest.raises(AlreadyExists) as info:
                await store.write("o.txt", b"two")
            assert info.value.path == "o.txt"
            await store.write("o.txt", b"three", overwrite=True)
            assert await store.read_bytes("o.txt") == b"three"

        arun(body)

    @requires(Capability.READ)
    def test_aio_errors_are_typed_and_store_relative(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            with pytest.raises(NotFound) as info:
                await store.read_bytes("missing/file.txt")
            assert info.value.path == "missing/file.txt"
            with pytest.raises(NotFound):
                async with store.read("missing.txt"):
                    pass  # pragma: no cover
            for bad in ("../x", "a/../../b", "a\x00b"):
                with pytest.raises(InvalidPath):
                    await store.read_bytes(bad)
            with pytest.raises(InvalidPath):
                store.read("")
            with pytest.raises(InvalidPath):
                store.child("")

        arun(body)

    @requires_missing(Capability.WRITE)
    def test_aio_gate_refuses_write_before_io(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            with pytest.raises(CapabilityNotSupported) as info:
                await store.write("x.txt", b"x")
            assert info.value.capability == "WRITE"

        arun(body)

    @requires_missing(Capability.GLOB)
    def test_aio_gate_refuses_glob_at_call(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            with pytest.raises(CapabilityNotSupported) as info:
                store.glob("*.txt")
            assert info.value.capability == "GLOB"

        arun(body)

    @requires_missing(Capability.ATOMIC_WRITE)
    def test_aio_gate_refuses_open_atomic_at_call(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            with pytest.raises(CapabilityNotSupported):
                store.open_atomic("x.bin")

        arun(body)

    @requires(Capability.WRITE, Capability.LIST)
    def test_aio_listings(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            for p in ("a.txt", "b.csv", "s/c.txt", "s/t/d.txt", "u/e.txt"):
                await store.write(p, b"x")
            flat = sorted([f.path async for f in store.list_files()])
            assert flat == ["a.txt", "b.csv"]
            deep = sorted([f.path async for f in store.list_files(recursive=True)])
            assert deep == ["a.txt", "b.csv", "s/c.txt", "s/t/d.txt", "u/e.txt"]
            assert sorted([f.path async for f in store.list_files(max_depth=1)]) == [
                "a.txt",
                "b.csv",
                "s/c.txt",
                "u/e.txt",
            ]
            assert sorted([f.name async for f in store.list_files(pattern="*.txt")]) == ["a.txt"]
            assert sorted([p async for p in store.list_folders()]) == ["s", "u"]
            assert sorted([p async for p in store.list_folders(recursive=True)]) == ["s", "s/t", "u"]
            assert sorted([p async for p in store.list_folders(max_depth=0)]) == ["s", "u"]
            kids = [c async for c in store.iter_children("s")]
            assert sorted(c.path for c in kids if isinstance(c, FolderEntry)) == ["s/t"]
            assert sorted(c.path for c in kids if isinstance(c, FileInfo)) == ["s/c.txt"]
            assert [f async for f in store.list_files("nope")] == []
            with pytest.raises(InvalidPath):
                store.list_files(max_depth=-1)
            with pytest.raises(TypeError):
                store.list_files(max_depth="1")  # type: ignore[arg-type]

        arun(body)

    @requires(Capability.WRITE, Capability.GLOB)
    def test_aio_glob(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            for p in ("a.txt", "b.csv", "s/c.txt", "s/t/d.txt"):
                await store.write(p, b"x")
            assert sorted([f.path async for f in store.glob("*.txt")]) == ["a.txt"]
            assert sorted([f.path async for f in store.glob("**/*.txt")]) == ["a.txt", "s/c.txt", "s/t/d.txt"]

        arun(body)

    @requires(Capability.WRITE, Capability.READ, Capability.MOVE, Capability.COPY)
    def test_aio_move_and_copy(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            await store.write("m.txt", b"m")
            await store.copy("m.txt", "c/copy.txt")
            await store.move("m.txt", "moved.txt")
            assert not await store.exists("m.txt")
            assert await store.read_bytes("moved.txt") == b"m"
            assert await store.read_bytes("c/copy.txt") == b"m"
            await store.move("moved.txt", "moved.txt")  # onto itself: no-op
            with pytest.raises(AlreadyExists):
                await store.copy("moved.txt", "c/copy.txt")
            with pytest.raises(NotFound):
                await store.move("gone.txt", "x.txt")
            with pytest.raises(InvalidPath):
                await store.copy("c", "d.txt")  # a folder is not a file

        arun(body)

    @requires(Capability.WRITE, Capability.DELETE)
    def test_aio_delete_and_delete_folder(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            await store.write("f/a.txt", b"a")
            await store.write("f/g/b.txt", b"b")
            with pytest.raises(NotFound):
                await store.delete("nope.txt")
            await store.delete("nope.txt", missing_ok=True)
            with pytest.raises(DirectoryNotEmpty):
                await store.delete_folder("f")
            with pytest.raises(InvalidPath):
                await store.delete_folder("")
            await store.delete("f/a.txt")
            assert not await store.exists("f/a.txt")
            await store.delete_folder("f", recursive=True)
            assert not await store.exists("f/g/b.txt")
            await store.delete_folder("f", missing_ok=True)
            assert await store.collect_garbage(older_than=0) >= 0
            with pytest.raises(InvalidPath):
                await store.collect_garbage(older_than=-1)

        arun(body)

    @requires(Capability.WRITE, Capability.METADATA)
    def test_aio_metadata(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            await store.write("m/x.bin", b"12345")
            info = await store.get_file_info("m/x.bin")
            assert info.path == "m/x.bin" and info.name == "x.bin" and info.size == 5
            head = await store.head("m/x.bin")
            assert head.path == "m/x.bin" and head.size == 5
            folder = await store.get_folder_info("m")
            assert folder.path == "m" and folder.file_count == 1 and folder.total_size == 5
            assert (await store.get_folder_info()).file_count == 1
            with pytest.raises(NotFound):
                await store.get_file_info("m/none")
            with pytest.raises(InvalidPath):
                await store.get_file_info("m")
            with pytest.raises(InvalidPath):
                await store.get_folder_info("m/x.bin")

        arun(body)

    @requires(Capability.WRITE, Capability.USER_METADATA, Capability.METADATA)
    def test_aio_user_metadata(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            res = await store.write("u.txt", b"u", metadata={"k": "v"})
            assert dict(res.metadata) == {"k": "v"}
            assert dict((await store.get_file_info("u.txt")).metadata) == {"k": "v"}

        arun(body)

    @requires_missing(Capability.USER_METADATA)
    def test_aio_user_metadata_gate(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            with pytest.raises(CapabilityNotSupported):
                await store.write("u.txt", b"u", metadata={"k": "v"})

        arun(body)

    @requires(Capability.WRITE, Capability.READ)
    def test_aio_read_seekable(self, arun: Run) -> None:
        data = payload(5000, seed=3)

        async def body(store: AsyncStore) -> None:
            await store.write("s.bin", data)
            async with store.read_seekable("s.bin") as f:
                assert f.seekable()
                assert await f.seek(100) == 100
                assert await f.read(10) == data[100:110]
                assert f.tell() == 110
                await f.seek(-10, 2)
                assert await f.read() == data[-10:]

        arun(body)

    # ------------------------------------------------------------------ atomic
    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_aio_open_atomic_publishes_on_clean_exit(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            async with store.open_atomic("at/a.bin") as f:
                await f.write(b"abc")
                await f.write(bytearray(b"def"))
                with pytest.raises(TypeError):
                    await f.write("text")  # type: ignore[arg-type]
                assert not await store.exists("at/a.bin")
            assert f.result is not None and f.result.path == "at/a.bin" and f.result.size == 6
            assert f.bytes_written == 6
            assert await store.read_bytes("at/a.bin") == b"abcdef"
            with pytest.raises(AlreadyExists):
                async with store.open_atomic("at/a.bin"):
                    pass  # pragma: no cover
            res = await store.write_atomic("at/b.bin", b"whole")
            assert res.size == 5 and await store.read_bytes("at/b.bin") == b"whole"

        arun(body)

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_aio_open_atomic_aborts_on_error(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            await store.write_atomic("k.bin", b"previous")
            with pytest.raises(ZeroDivisionError):
                async with store.open_atomic("k.bin", overwrite=True) as f:
                    await f.write(b"new")
                    1 / 0  # noqa: B018
            assert f.result is None
            assert await store.read_bytes("k.bin") == b"previous"
            with pytest.raises(ZeroDivisionError):
                async with store.open_atomic("fresh.bin") as f:
                    await f.write(b"x")
                    1 / 0  # noqa: B018
            assert not await store.exists("fresh.bin")

        arun(body)

    # ------------------------------------------------------------------ concurrency
    @requires(Capability.WRITE, Capability.READ)
    def test_aio_concurrent_gather_writes_and_reads(self, arun: Run) -> None:
        n = 40
        blobs = {f"c/{i:03d}.bin": payload(2000 + i, seed=i) for i in range(n)}

        async def body(store: AsyncStore) -> None:
            results = await asyncio.gather(*(store.write(p, d) for p, d in blobs.items()))
            assert sorted(r.path for r in results) == sorted(blobs)
            got = await asyncio.gather(*(store.read_bytes(p) for p in blobs))
            assert dict(zip(blobs, got, strict=True)) == blobs

            async def stream_read(p: str) -> bytes:
                async with store.read(p) as f:
                    return b"".join([c async for c in f])

            streamed = await asyncio.gather(*(stream_read(p) for p in blobs))
            assert dict(zip(blobs, streamed, strict=True)) == blobs

        arun(body)

    @requires(Capability.WRITE, Capability.READ)
    def test_aio_concurrent_overwrites_leave_one_whole_version(self, arun: Run) -> None:
        versions = [bytes([i]) * 50_000 for i in range(8)]

        async def body(store: AsyncStore) -> None:
            await asyncio.gather(*(store.write("race.bin", v, overwrite=True) for v in versions))
            assert await store.read_bytes("race.bin") in versions

        arun(body)

    # ------------------------------------------------------------------ laziness
    @requires(Capability.WRITE, Capability.LIST)
    def test_aio_listing_is_lazy_and_closed_early(self, arun: Run, async_backend: AsyncBackend) -> None:
        counting = CountingBackend(async_backend)

        async def body(store: AsyncStore) -> None:
            for i in range(20):
                await store.write(f"l/{i:02d}.txt", b"x")
            it = store.list_files("l")
            assert counting.listings_started == 0, "list_files() must not start listing before iteration"
            first = await it.__anext__()
            assert first.path.startswith("l/")
            assert counting.items_pulled == 1, "one item asked for, more pulled from the backend iterator"
            await it.aclose()  # type: ignore[attr-defined]
            assert counting.listings_closed == 1, "closing the store iterator must close the backend iterator"
            async with contextlib.aclosing(store.list_folders()) as folders:  # type: ignore[type-var]
                async for _ in folders:
                    break
            assert counting.listings_closed == 2, "aclosing() the store iterator must close the backend iterator"

        arun(body, counting)

    # ------------------------------------------------------------------ cancellation
    @requires(Capability.WRITE, Capability.READ)
    def test_aio_cancelled_write_leaves_previous_file(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            await store.write("cw.bin", b"previous")
            await _cancel_mid_write(lambda content: store.write("cw.bin", content, overwrite=True))
            assert await store.read_bytes("cw.bin") == b"previous"
            await _cancel_mid_write(lambda content: store.write("cw-new.bin", content))
            assert not await store.exists("cw-new.bin")
            await _assert_no_leftovers(store)

        arun(body)

    @requires(Capability.ATOMIC_WRITE, Capability.READ)
    def test_aio_cancelled_atomic_writes_leave_nothing(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            await store.write_atomic("ca.bin", b"previous")
            await _cancel_mid_write(lambda content: store.write_atomic("ca.bin", content, overwrite=True))
            assert await store.read_bytes("ca.bin") == b"previous"

            started = asyncio.Event()

            async def streaming() -> None:
                async with store.open_atomic("ca2.bin") as f:
                    await f.write(payload(100_000))
                    started.set()
                    await asyncio.Event().wait()

            task = asyncio.create_task(streaming())
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not await store.exists("ca2.bin")
            await _assert_no_leftovers(store)

        arun(body)

    @requires(Capability.WRITE, Capability.READ)
    def test_aio_cancelled_read_closes_stream(self, arun: Run, async_backend: AsyncBackend) -> None:
        counting = CountingBackend(async_backend)

        async def body(store: AsyncStore) -> None:
            await store.write("cr.bin", payload(200_000))
            started = asyncio.Event()

            async def reader() -> None:
                async with store.read("cr.bin") as f:
                    await f.read(1000)
                    started.set()
                    await asyncio.Event().wait()

            task = asyncio.create_task(reader())
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert counting.streams_opened == 1
            assert counting.streams_closed == 1, "a cancelled read must release its stream"

        arun(body, counting)

    # ------------------------------------------------------------------ identity
    def test_aio_child_repr_eq(self, arun: Run) -> None:
        async def body(store: AsyncStore) -> None:
            child = store.child("sub/dir")
            assert child.root_path == f"{store.root_path}/sub/dir"
            assert child.backend is store.backend
            assert child == AsyncStore(store.backend, child.root_path) and hash(child) == hash(
                AsyncStore(store.backend, child.root_path)
            )
            assert "AsyncStore(" in repr(child) and child.root_path in repr(child)
            with pytest.raises(InvalidPath):
                store.child("../up")
            plan = store.resolve("a/b.txt")
            assert plan.key == f"{store.root_path}/a/b.txt"
            assert store.to_key(store.native_path("a/b.txt")) == "a/b.txt"
            assert store.unwrap(type(store.backend)) is store.backend
            with pytest.raises(CapabilityNotSupported):
                store.unwrap(int)
            await store.ping()

        arun(body)

    def test_aio_suite_integrity(self) -> None:
        """No async suite test may be overridden or deleted by the author's class without an xfail reason."""
        cls = type(self)
        problems: list[str] = []
        for name, func in canonical_tests(AsyncStoreTests).items():
            actual = inspect.getattr_static(cls, name, None)
            reason = cls.xfail_tests.get(name)
            if actual is not func and not (isinstance(reason, str) and reason.strip()):
                how = "deleted" if actual is None else "overridden"
                problems.append(f"{name} is {how} in {cls.__name__}; list it in xfail_tests with a reason instead")
        assert not problems, "async conformance suite integrity:\n  " + "\n  ".join(problems)

    def test_aio_store_refuses_non_backend(self) -> None:
        with pytest.raises(TypeError):
            AsyncStore(object())  # type: ignore[arg-type]


async def _cancel_mid_write(start: Callable[[AsyncIterator[bytes]], Awaitable[object]]) -> None:
    """Start a write whose content stalls after one chunk, cancel it there, expect CancelledError."""
    started = asyncio.Event()

    async def content() -> AsyncIterator[bytes]:
        yield payload(200_000, seed=9)
        started.set()
        await asyncio.Event().wait()
        yield b"never"  # pragma: no cover

    task = asyncio.ensure_future(start(content()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _assert_no_leftovers(store: AsyncStore) -> None:
    """No temp file of an aborted writer remains (nothing for collect_garbage, nothing listed)."""
    if Capability.DELETE in store.capabilities:
        assert await store.collect_garbage(older_than=0) == 0, "an aborted write left a temp file behind"
    if Capability.LIST in store.capabilities:
        names = sorted([f.path async for f in store.list_files(recursive=True)])
        assert all(n in {"cw.bin", "ca.bin"} for n in names), names


__all__ = ["AsyncBody", "AsyncStoreTests"]
