"""The copy engine of ``cp``/``put``/``get``/``mv``: plan, conflict check, transfer, report.

With remote-store-ext installed, files go through `remote_store_ext.transfer.transfer`
(parallel, ``-j N`` files at once, streamed in 1 MiB chunks: bounded memory). Without it a
stdlib fallback copies them one at a time, also streaming. Both report to one progress bar.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from remote_store import _path
from remote_store._capabilities import Capability
from remote_store._cli._progress import Bar
from remote_store._cli._session import Location
from remote_store._store import Store
from remote_store.errors import AlreadyExists, InvalidPath, RemoteStoreError

#: ``refuse``: existing destination files stop the command before anything is copied;
#: ``skip``: they are skipped (and listed); ``overwrite``: they are replaced.
Mode = Literal["refuse", "skip", "overwrite"]
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Item:
    """One file to copy: store-relative source and destination paths and the listed size (bytes)."""

    src: str
    dst: str
    size: int


@dataclass
class Report:
    """What a copy did: files copied, bytes, skipped items and failures (source path, error)."""

    total: int
    copied: int = 0
    nbytes: int = 0
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, RemoteStoreError]] = field(default_factory=list)

    def succeeded(self, items: list[Item]) -> list[Item]:
        """The items neither skipped nor failed."""
        bad = {src for src, _ in self.failed} | set(self.skipped)
        return [i for i in items if i.src not in bad]


def relative(base: str, path: str) -> str:
    """``path`` relative to folder ``base`` (both store-relative)."""
    return path if not base else path[len(base) + 1 :] if path.startswith(base + "/") else path


def plan_tree(src: Location, dst_base: str) -> list[Item]:
    """Every file below folder ``src``, mapped below ``dst_base``.

    Raises:
        InvalidPath: A listed key is not a plain relative path (an object key such as
            ``a/../../x``): it could land outside the destination, so nothing is copied.
    """
    items = []
    for info in src.store.list_files(src.path, recursive=True):
        rel = relative(src.path, info.path)
        if _path.normalize_path(rel) != rel:
            raise InvalidPath("listed key is not a plain relative path; refusing to copy it", path=rel)
        items.append(Item(info.path, _path.join_key(dst_base, rel), info.size))
    return items


def existing(store: Store, base: str, items: list[Item]) -> set[str]:
    """The destination paths of ``items`` that exist in ``store`` (one listing of ``base`` for trees)."""
    if len(items) == 1:
        return {items[0].dst} if store.exists(items[0].dst) else set()
    if base and not store.is_folder(base):
        return set()
    wanted = {i.dst for i in items}
    return {info.path for info in store.list_files(base, recursive=True) if info.path in wanted}


def _ext_transfer() -> Callable[..., Any] | None:
    try:
        from remote_store_ext.transfer import transfer
    except ImportError:
        return None
    return transfer  # type: ignore[no-any-return]


def engine_name(jobs: int) -> str:
    """Which engine copies (for ``-v`` logs): ``"remote-store-ext transfer, 8 workers"`` or the fallback."""
    if _ext_transfer() is not None:
        return f"remote-store-ext transfer, {jobs} worker(s)"
    return "stdlib fallback, one file at a time (pip install remote-store-ext for -j)"


def run(
    src: Location,
    src_path: str,
    dst: Location,
    dst_path: str,
    items: list[Item],
    *,
    tree: bool,
    mode: Mode,
    jobs: int,
    bar: Bar,
) -> Report:
    """Copy ``items`` (all files below ``src_path``, or the one file ``src_path``) to ``dst_path``.

    A single file raises its error; for a folder every file is attempted and failures are
    collected. With ``mode="skip"`` an existing destination file is a skipped item.

    Raises:
        RemoteStoreError: For a single file, as the copy raised it.
    """
    transfer = _ext_transfer()
    if transfer is not None:
        return _run_ext(transfer, src, src_path, dst, dst_path, items, tree=tree, mode=mode, jobs=jobs, bar=bar)
    return _run_stdlib(src.store, dst.store, items, tree=tree, mode=mode, bar=bar)


def _run_ext(
    transfer: Callable[..., Any],
    src: Location,
    src_path: str,
    dst: Location,
    dst_path: str,
    items: list[Item],
    *,
    tree: bool,
    mode: Mode,
    jobs: int,
    bar: Bar,
) -> Report:
    totals = [len(items), sum(i.size for i in items)]

    def progress(p: Any) -> None:
        if [p.files_total, p.bytes_total] != totals:
            totals[:] = [p.files_total, p.bytes_total]
            bar.set_total(p.files_total, p.bytes_total)
        bar.set_done(p.files_done, p.bytes_done)

    result = transfer(
        src.store, src_path, dst.store, dst_path, overwrite=mode == "overwrite", max_workers=jobs, progress=progress
    )
    report = Report(len(items) if tree else 1, len(result.files), result.bytes)
    for path, exc in result.failed.items():
        if mode == "skip" and isinstance(exc, AlreadyExists):
            report.skipped.append(path)
        else:
            report.failed.append((path, exc))
    return report


class _Counting(io.RawIOBase):
    """A readable stream counting the bytes read into the progress bar."""

    def __init__(self, raw: IO[bytes], bar: Bar) -> None:
        self._raw = raw
        self._bar = bar
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._raw.read(len(b))
        b[: len(data)] = data
        self.count += len(data)
        self._bar.update(len(data))
        return len(data)


def _copy_one(src: Store, dst: Store, item: Item, *, overwrite: bool, bar: Bar) -> int:
    if src is dst and Capability.COPY in src.capabilities:
        src.copy(item.src, item.dst, overwrite=overwrite)
        bar.update(item.size)
        return item.size
    if not overwrite and dst.exists(item.dst):
        raise AlreadyExists("destination exists (use -f to overwrite)", path=item.dst)
    with src.read(item.src) as stream:
        reader = _Counting(stream, bar)
        data: Any = io.BufferedReader(reader, CHUNK)
        if Capability.ATOMIC_WRITE in dst.capabilities:
            dst.write_atomic(item.dst, data, overwrite=overwrite)
        else:
            dst.write(item.dst, data, overwrite=overwrite)
        return reader.count


def _run_stdlib(src: Store, dst: Store, items: list[Item], *, tree: bool, mode: Mode, bar: Bar) -> Report:
    report = Report(len(items))
    done_bytes = 0
    for n, item in enumerate(items, 1):
        try:
            copied = _copy_one(src, dst, item, overwrite=mode == "overwrite", bar=bar)
            report.copied += 1
            report.nbytes += copied
            done_bytes += copied
        except AlreadyExists:
            if mode != "skip":
                if not tree:
                    raise
                report.failed.append((item.src, AlreadyExists("destination exists", path=item.dst)))
            else:
                report.skipped.append(item.src)
        except RemoteStoreError as exc:
            if not tree:
                raise
            report.failed.append((item.src, exc))
        bar.set_done(n, done_bytes)
    return report
