"""No extension closes a store it did not open (only an explicit close() by the caller does)."""

from __future__ import annotations

from pathlib import Path

from remote_store import Store
from remote_store.backends import MemoryBackend
from remote_store.ext.batch import batch_copy, batch_delete, batch_exists
from remote_store.ext.cache import cache
from remote_store.ext.glob import glob_files
from remote_store.ext.integrity import checksum, verify_hex
from remote_store.ext.observe import BufferedObserver, observe
from remote_store.ext.streams import read_with_progress
from remote_store.ext.transfer import download, transfer, upload
from remote_store.ext.write import open_atomic_with_hash, write_with_hash


class Tracking(MemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_no_extension_closes_the_store(tmp_path: Path) -> None:
    backend, other_backend = Tracking(), Tracking()
    store, other = Store(backend), Store(other_backend)
    store.write("a/x.txt", b"x")
    batch_exists(store, ["a/x.txt"])
    batch_copy(store, {"a/x.txt": "a/y.txt"})
    batch_delete(store, ["a/y.txt"])
    list(glob_files(store, "**/*.txt"))
    verify_hex(store, "a/x.txt", checksum(store, "a/x.txt").value)
    with read_with_progress(store, "a/x.txt", lambda n: None) as f:
        f.read()
    write_with_hash(store, "a/h.txt", b"h")
    with open_atomic_with_hash(store, "a/o.txt") as w:
        w.write(b"o")
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "u.txt").write_bytes(b"u")
    upload(tmp_path / "up", store, "up")
    download(store, "a", tmp_path / "down")
    transfer(store, "a", other, "copy")
    c = cache(store)
    c.read_bytes("a/x.txt")
    c.write("a/x.txt", b"y", overwrite=True)
    o = observe(store, BufferedObserver())
    o.read_bytes("a/x.txt")
    with o.read("a/x.txt") as f:
        f.read()
    del c, o
    assert (backend.closed, other_backend.closed) == (0, 0)
    observe(store, BufferedObserver()).close()  # the caller asked: passed through once
    assert backend.closed == 1
