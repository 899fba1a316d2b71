"""Upload, download and store-to-store copy of files and folders, streaming, in parallel, with progress.

- `upload` (local → store), `download` (store → local), `transfer` (store → store).
- A file is streamed in ``chunk_size`` pieces (default 1 MiB): memory per transfer is about
  ``max_workers * chunk_size`` plus what the backend buffers, whatever the file sizes.
  Files listed at no more than ``chunk_size`` bytes are copied with one ``read_bytes`` /
  ``write`` call each (fewer requests and less overhead for many small files).
- A folder is copied recursively, its files on up to ``max_workers`` threads; every file is
  attempted and failures are collected in `TransferResult.failed` (call `raise_first`).
  A single-file transfer raises its error directly.
- Destinations: a failed file transfer leaves the previous destination intact (local files
  are written to a temp file and renamed; stores use `Store.write`).
- Progress: ``progress=callback`` gets a `TransferProgress` snapshot after every chunk and
  every finished file (calls are serialised, from worker threads); ``progress=True`` shows a
  ``tqdm`` bar (``pip install "remote-store-ext[tqdm]"``).

- ``skip_existing=True`` leaves destination files alone that already hold the source's
  content — same size, and the same MD5 where both sides know one (an etag that is a bare
  MD5, as S3 single-part objects, memory and sql-blob have; a local file is hashed when the
  other side knows its MD5). Destination stores are listed once per folder transfer.

Folder listings are collected before copying (paths and sizes, for the progress totals).
These functions never close the stores they are given.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import IO, Any

from remote_store import Store
from remote_store.errors import ConfigError, InvalidPath, NotFound, RemoteStoreError
from remote_store_ext._localfs import local_errors, walk_files, write_local_atomic
from remote_store_ext._pool import check_workers, run_bounded
from remote_store_ext._skip import local_md5, md5_etag, same_content, store_files

DEFAULT_WORKERS = 8
DEFAULT_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """A snapshot of a running transfer, passed to the ``progress`` callback.

    Attributes:
        files_done: Files finished (succeeded or failed).
        files_total: Files in the transfer.
        bytes_done: Bytes copied so far (all files).
        bytes_total: Bytes expected (sizes from the listing / local stat).
        path: Source path of the file this update is about.
        finished: True when this update reports that ``path`` has finished.
    """

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    path: str
    finished: bool = False


@dataclass(frozen=True, slots=True)
class TransferResult:
    """What a transfer did.

    Attributes:
        files: Destination paths written, in source order.
        bytes: Bytes copied.
        failed: Source path → the `RemoteStoreError` its copy raised (read-only mapping).
        skipped: Destination paths left alone by ``skip_existing=True`` because they already
            held the source's content (same size, same MD5 where both sides know one), in
            source order; not in ``files`` and not counted in ``bytes``.
    """

    files: tuple[str, ...] = ()
    bytes: int = 0
    failed: Mapping[str, RemoteStoreError] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "failed", MappingProxyType(dict(self.failed)))

    @property
    def ok(self) -> bool:
        """True when every file was copied."""
        return not self.failed

    def raise_first(self) -> None:
        """Raise the first failure, if any.

        Raises:
            RemoteStoreError: The first recorded failure.
        """
        for exc in self.failed.values():
            raise exc


ProgressCallback = Callable[[TransferProgress], None]
#: ``unchanged(src, dst, size)``: True when ``dst`` already holds the source's content.
_Unchanged = Callable[[str, str, int], bool]
_SKIPPED = -1


class _Tracker:
    def __init__(self, files_total: int, bytes_total: int, callback: ProgressCallback | None) -> None:
        self._lock = threading.Lock()
        self.files_total = files_total
        self.bytes_total = bytes_total
        self.files_done = 0
        self.bytes_done = 0
        self._callback = callback

    def add(self, path: str, n: int) -> None:
        with self._lock:
            self.bytes_done += n
            if self._callback is not None:
                self._callback(self._snapshot(path, False))

    def finish(self, path: str) -> None:
        with self._lock:
            self.files_done += 1
            if self._callback is not None:
                self._callback(self._snapshot(path, True))

    def _snapshot(self, path: str, finished: bool) -> TransferProgress:
        return TransferProgress(self.files_done, self.files_total, self.bytes_done, self.bytes_total, path, finished)


class _TqdmBar:
    """A progress callback drawing one ``tqdm`` bar (bytes) with a files counter."""

    def __init__(self, desc: str) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise ModuleNotFoundError(
                'progress=True needs tqdm: pip install "remote-store-ext[tqdm]"', name="tqdm"
            ) from exc
        self.bar: Any = tqdm(total=0, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, leave=False)
        self._last = 0

    def __call__(self, p: TransferProgress) -> None:
        if self.bar.total != p.bytes_total:
            self.bar.total = p.bytes_total
        self.bar.update(p.bytes_done - self._last)
        self._last = p.bytes_done
        if p.finished:
            self.bar.set_postfix_str(f"{p.files_done}/{p.files_total} files", refresh=False)

    def close(self) -> None:
        self.bar.close()


def _callback(progress: ProgressCallback | bool | None, desc: str) -> tuple[ProgressCallback | None, _TqdmBar | None]:
    if progress is True:
        bar = _TqdmBar(desc)
        return bar, bar
    if progress is None or progress is False:
        return None, None
    if not callable(progress):
        raise ConfigError(f"progress must be a callable, True or None, got {type(progress).__name__}")
    return progress, None


def _copy_stream(
    src: IO[bytes], write: Callable[[bytes], Any], chunk_size: int, on_chunk: Callable[[int], None]
) -> int:
    total = 0
    while True:
        chunk = src.read(chunk_size)
        if not chunk:
            return total
        write(chunk)
        total += len(chunk)
        on_chunk(len(chunk))


class _CountingReader:
    """A minimal read-only stream reporting each read to ``on_chunk`` (non-seekable)."""

    def __init__(self, inner: IO[bytes], on_chunk: Callable[[int], None]) -> None:
        self._inner = inner
        self._on_chunk = on_chunk
        self.count = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        if data:
            self.count += len(data)
            self._on_chunk(len(data))
        return data


def _check(max_workers: int, chunk_size: int) -> None:
    check_workers(max_workers)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be an int >= 1, got {chunk_size!r}")


def _join(folder: str, rel: str) -> str:
    return f"{folder.strip('/')}/{rel}" if folder.strip("/") else rel


def _rel_to(base: str, path: str) -> str:
    base = base.strip("/")
    return path[len(base) + 1 :] if base else path


def _run(
    items: list[tuple[str, str, int]],
    one: Callable[[str, str, Callable[[int], None]], int],
    *,
    single: bool,
    max_workers: int,
    progress: ProgressCallback | bool | None,
    desc: str,
    unchanged: _Unchanged | None = None,
) -> TransferResult:
    callback, bar = _callback(progress, desc)
    tracker = _Tracker(len(items), sum(size for _, _, size in items), callback)
    try:

        def job(item: tuple[str, str, int]) -> int:
            src, dst, size = item
            try:
                if unchanged is not None and unchanged(src, dst, size):
                    tracker.add(src, size)  # a skipped file counts as done: bars reach 100 %
                    return _SKIPPED
                return one(src, dst, lambda n: tracker.add(src, n))
            finally:
                tracker.finish(src)

        done: dict[str, tuple[int, BaseException | None]] = {}
        for item, n, exc in run_bounded(items, job, 1 if single else max_workers):
            done[item[0]] = (n or 0, exc)
    finally:
        if bar is not None:
            bar.close()
    files: list[str] = []
    skipped: list[str] = []
    failed: dict[str, RemoteStoreError] = {}
    copied = 0
    for src, dst, _ in items:
        n, exc = done[src]
        if exc is None and n == _SKIPPED:
            skipped.append(dst)
        elif exc is None:
            files.append(dst)
            copied += n
        elif isinstance(exc, RemoteStoreError) and not single:
            failed[src] = exc
        else:
            raise exc
    return TransferResult(tuple(files), copied, failed, tuple(skipped))


def upload(
    local_path: str | os.PathLike[str],
    store: Store,
    path: str,
    *,
    overwrite: bool = False,
    skip_existing: bool = False,
    max_workers: int = DEFAULT_WORKERS,
    chunk_size: int = DEFAULT_CHUNK,
    progress: ProgressCallback | bool | None = None,
) -> TransferResult:
    """Copy a local file, or a local folder recursively, to ``path`` in ``store`` (`Store.write`).

    Args:
        local_path: A local file (copied to file ``path``) or folder (its files go below
            folder ``path``, keeping their relative paths).
        store: Destination store.
        path: Destination file or folder path (store-relative; ``""`` = the root, folders only).
        overwrite: Replace existing destination files (else each is an `AlreadyExists` failure).
        skip_existing: Leave a destination file alone when it already holds the source's
            content: same size and, where both sides know a content MD5, the same MD5
            (see `TransferResult.skipped`). Other existing files follow ``overwrite``.
        max_workers: Files copied at once (≥ 1).
        chunk_size: Bytes per read (≥ 1).
        progress: ``callback(TransferProgress)``, True for a tqdm bar, or None.

    Returns:
        A `TransferResult` (destination paths are store-relative).

    Raises:
        NotFound: ``local_path`` does not exist.
        ConfigError: Bad ``max_workers`` / ``chunk_size`` / ``progress``.
        ModuleNotFoundError: ``progress=True`` without tqdm installed.
        CapabilityNotSupported: ``skip_existing`` with a destination store that cannot
            list (folders) or report file metadata (a single file).
        AlreadyExists, InvalidPath, PermissionDenied, BackendUnavailable: For a single file,
            as `Store.write` (folders record them in ``failed``).
    """
    _check(max_workers, chunk_size)
    src = os.fspath(local_path)
    with local_errors(src):
        is_dir = os.path.isdir(src)
        if not is_dir:
            os.stat(src)  # FileNotFoundError → NotFound
    if is_dir:
        items = [(full, _join(path, rel), size) for full, rel, size in walk_files(src)]
    else:
        items = [(src, path, os.path.getsize(src))]

    sizes = {p: size for p, _, size in items}

    def one(local: str, dst: str, on_chunk: Callable[[int], None]) -> int:
        with local_errors(local), open(local, "rb") as f:
            if sizes[local] <= chunk_size:  # small file: one read, one write from bytes
                data = f.read(chunk_size + 1)
                if len(data) <= chunk_size:
                    store.write(dst, data, overwrite=overwrite)
                    on_chunk(len(data))
                    return len(data)
                f.seek(0)  # it grew since it was listed: stream it
            reader = _CountingReader(f, on_chunk)  # type: ignore[arg-type]
            store.write(dst, reader, overwrite=overwrite)  # type: ignore[arg-type]
            return reader.count

    unchanged: _Unchanged | None = None
    if skip_existing:
        existing = store_files(store, path, folder=is_dir)

        def unchanged(local: str, dst: str, size: int) -> bool:
            info = existing.get(dst)
            if info is None:
                return False
            try:
                return same_content(size, None, info.size, md5_etag(info.etag), local=lambda: local_md5(local))
            except OSError:
                return False  # unreadable here: the copy reports it

    return _run(
        items, one, single=not is_dir, max_workers=max_workers, progress=progress, desc="upload", unchanged=unchanged
    )


def _listing(store: Store, path: str) -> tuple[bool, list[tuple[str, int]], dict[str, str | None]]:
    """``(is_folder, [(path, size), …], {path: content MD5 or None})`` for a file or a folder
    in ``store``; a file's size is 0 when the store cannot tell (no METADATA)."""
    if path.strip("/") and store.is_file(path):
        from remote_store import Capability

        if not store.supports(Capability.METADATA):
            return False, [(path, 0)], {path: None}
        info = store.get_file_info(path)
        return False, [(path, info.size)], {path: md5_etag(info.etag)}
    if not store.is_folder(path):
        raise NotFound("no such file or folder", path=path)
    infos = list(store.list_files(path, recursive=True))
    return True, [(info.path, info.size) for info in infos], {info.path: md5_etag(info.etag) for info in infos}


def download(
    store: Store,
    path: str,
    local_path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    skip_existing: bool = False,
    max_workers: int = DEFAULT_WORKERS,
    chunk_size: int = DEFAULT_CHUNK,
    progress: ProgressCallback | bool | None = None,
) -> TransferResult:
    """Copy file ``path`` of ``store`` to the local file ``local_path``, or folder ``path``
    recursively below the local folder ``local_path`` (`Store.read`, streamed).

    Each local file is written to a temp file in its folder and renamed into place, so a
    failed download leaves any previous file intact.

    Args:
        store: Source store.
        path: Source file or folder (``""`` = the whole store).
        local_path: Destination file (for a file) or folder (created if needed).
        overwrite: Replace existing local files (else each is an `AlreadyExists` failure).
        skip_existing: Leave a destination file alone when it already holds the source's
            content: same size and, where both sides know a content MD5, the same MD5
            (see `TransferResult.skipped`). Other existing files follow ``overwrite``.
        max_workers: Files copied at once (≥ 1).
        chunk_size: Bytes per read (≥ 1).
        progress: ``callback(TransferProgress)``, True for a tqdm bar, or None.

    Returns:
        A `TransferResult` whose ``files`` are local paths.

    Raises:
        NotFound: ``path`` is neither a file nor a folder.
        ConfigError: Bad ``max_workers`` / ``chunk_size`` / ``progress``.
        AlreadyExists, InvalidPath, PermissionDenied, BackendUnavailable: For a single file
            (folders record them in ``failed``).
    """
    _check(max_workers, chunk_size)
    target = os.fspath(local_path)
    is_dir, listing, md5s = _listing(store, path)
    if is_dir:
        items = [(p, os.path.join(target, *_rel_to(path, p).split("/")), size) for p, size in listing]
    else:
        items = [(p, target, size) for p, size in listing]

    sizes = {p: size for p, _, size in items}

    def one(src: str, dst: str, on_chunk: Callable[[int], None]) -> int:
        copied = [0]

        def fill(f: IO[bytes]) -> None:
            if sizes[src] <= chunk_size:  # small file: one call (GetObject read to the end)
                data = store.read_bytes(src)
                f.write(data)
                copied[0] = len(data)
                on_chunk(len(data))
                return
            with store.read(src) as stream:
                copied[0] = _copy_stream(stream, f.write, chunk_size, on_chunk)

        write_local_atomic(dst, fill, overwrite=overwrite)
        return copied[0]

    unchanged: _Unchanged | None = None
    if skip_existing:
        from remote_store import Capability

        sized = is_dir or store.supports(Capability.METADATA)

        def unchanged(src: str, dst: str, size: int) -> bool:
            try:
                st = os.stat(dst)
                return (
                    sized
                    and stat.S_ISREG(st.st_mode)
                    and same_content(size, md5s[src], st.st_size, None, local=lambda: local_md5(dst))
                )
            except OSError:
                return False  # absent or unreadable: copy it (the copy reports real errors)

    return _run(
        items, one, single=not is_dir, max_workers=max_workers, progress=progress, desc="download", unchanged=unchanged
    )


def transfer(
    src_store: Store,
    src_path: str,
    dst_store: Store,
    dst_path: str,
    *,
    overwrite: bool = False,
    skip_existing: bool = False,
    max_workers: int = DEFAULT_WORKERS,
    chunk_size: int = DEFAULT_CHUNK,
    progress: ProgressCallback | bool | None = None,
) -> TransferResult:
    """Copy a file, or a folder recursively, from one store to another (any two backends).

    Content streams from `Store.read` into `Store.write`; when both are the same store
    (same backend and root) `Store.copy` is used instead (server-side where the backend can).

    Args:
        src_store: Source store.
        src_path: Source file or folder (``""`` = the whole store).
        dst_store: Destination store (may be the source store).
        dst_path: Destination file (for a file) or folder path.
        overwrite: Replace existing destination files (else each is an `AlreadyExists` failure).
        skip_existing: Leave a destination file alone when it already holds the source's
            content: same size and, where both sides know a content MD5, the same MD5
            (see `TransferResult.skipped`). Other existing files follow ``overwrite``.
        max_workers: Files copied at once (≥ 1).
        chunk_size: Bytes per read (≥ 1).
        progress: ``callback(TransferProgress)``, True for a tqdm bar, or None.

    Returns:
        A `TransferResult` with destination paths.

    Raises:
        NotFound: ``src_path`` is neither a file nor a folder.
        InvalidPath: A folder would be copied into itself.
        CapabilityNotSupported: ``skip_existing`` with a destination store that cannot
            list (folders) or report file metadata (a single file).
        ConfigError: Bad ``max_workers`` / ``chunk_size`` / ``progress``.
        AlreadyExists, PermissionDenied, BackendUnavailable: For a single file (folders
            record them in ``failed``).
    """
    _check(max_workers, chunk_size)
    is_dir, listing, md5s = _listing(src_store, src_path)
    same = src_store == dst_store
    if is_dir:
        s, d = src_path.strip("/"), dst_path.strip("/")
        if same and (s == d or not s or d.startswith(s + "/")):
            raise InvalidPath("cannot copy a folder into itself", path=dst_path)
        items = [(p, _join(dst_path, _rel_to(src_path, p)), size) for p, size in listing]
    else:
        items = [(p, dst_path, size) for p, size in listing]
    sizes = {p: size for p, _, size in items}

    def one(src: str, dst: str, on_chunk: Callable[[int], None]) -> int:
        if same:
            src_store.copy(src, dst, overwrite=overwrite)
            on_chunk(sizes[src])
            return sizes[src]
        if sizes[src] <= chunk_size:  # small file: read whole, write from bytes
            data = src_store.read_bytes(src)
            dst_store.write(dst, data, overwrite=overwrite)
            on_chunk(len(data))
            return len(data)
        with src_store.read(src) as stream:
            reader = _CountingReader(stream, on_chunk)
            dst_store.write(dst, reader, overwrite=overwrite)  # type: ignore[arg-type]
            return reader.count

    unchanged: _Unchanged | None = None
    if skip_existing:
        from remote_store import Capability

        existing = store_files(dst_store, dst_path, folder=is_dir)
        sized = is_dir or src_store.supports(Capability.METADATA)

        def unchanged(src: str, dst: str, size: int) -> bool:
            info = existing.get(dst)
            return sized and info is not None and same_content(size, md5s[src], info.size, md5_etag(info.etag))

    return _run(
        items, one, single=not is_dir, max_workers=max_workers, progress=progress, desc="transfer", unchanged=unchanged
    )


__all__ = ["TransferProgress", "TransferResult", "download", "transfer", "upload"]
