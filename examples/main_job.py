"""The main job: copy a real directory tree into a store, list it back, verify every file.

By default the tree is the running interpreter's standard library (thousands of files) and
the store is ``stdlib-copy`` from ``examples/main-job.toml`` — SQLite through
remote-store-sql, the embedded default. Any store name or URL works::

    python examples/main_job.py --config examples/main-job.toml
    python examples/main_job.py --store stdlib-copy-local --config examples/main-job.toml
    python examples/main_job.py --store file:///tmp/copy --source ./some/tree

Prints files, bytes, seconds and MB/s for the copy and the verification, and exits 1 if
any file is missing, has the wrong size or the wrong SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import sysconfig
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import remote_store
from remote_store import Store

SKIP_DIRS = {"__pycache__", "site-packages", "dist-packages"}


def walk(source: Path) -> Iterator[tuple[str, Path]]:
    """Yield (store key, file path) for every regular file below ``source``, skipping caches
    and installed third-party packages."""
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(source).as_posix(), path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_stream(store: Store, key: str) -> str:
    h = hashlib.sha256()
    with store.read(key) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="config file (TOML) defining the store")
    parser.add_argument("--store", default="stdlib-copy", help="store name in the config, or a URL")
    parser.add_argument("--source", default=sysconfig.get_paths()["stdlib"], help="tree to copy (default: the stdlib)")
    parser.add_argument("--workers", type=int, default=4, help="parallel uploads/verifications")
    args = parser.parse_args(argv)

    source = Path(args.source)
    files = list(walk(source))
    expected = {key: path for key, path in files}
    print(f"source: {source} ({len(files)} files)")

    with remote_store.open_store(args.store, config=args.config) as store:
        print(f"store:  {args.store} -> {store.resolve('').native_path} ({store.backend.type_name})")
        if store.is_folder("") and any(True for _ in store.iter_children("")):
            for entry in list(store.iter_children("")):
                if isinstance(entry, remote_store.FileInfo):
                    store.delete(entry.path)
                else:
                    store.delete_folder(entry.path, recursive=True)

        def upload(item: tuple[str, Path]) -> int:
            key, path = item
            with open(path, "rb") as f:
                return store.write(key, f, overwrite=True).size

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            written = sum(pool.map(upload, files))
        t_copy = time.perf_counter() - t0

        t0 = time.perf_counter()
        listed = {info.path: info.size for info in store.list_files("", recursive=True)}
        t_list = time.perf_counter() - t0

        problems: list[str] = []
        missing = sorted(set(expected) - set(listed))
        extra = sorted(set(listed) - set(expected))
        problems += [f"missing: {k}" for k in missing] + [f"unexpected: {k}" for k in extra]
        for key, path in expected.items():
            if key in listed and listed[key] != path.stat().st_size:
                problems.append(f"size mismatch: {key}: {listed[key]} != {path.stat().st_size}")

        def verify(item: tuple[str, Path]) -> str | None:
            key, path = item
            if key not in listed:
                return None
            return None if sha256_stream(store, key) == sha256_file(path) else f"sha256 mismatch: {key}"

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            problems += [p for p in pool.map(verify, files) if p]
        t_verify = time.perf_counter() - t0

    mb = written / 1e6
    print(
        f"copied:   {len(files)} files, {written} bytes in {t_copy:.2f} s ({mb / t_copy:.1f} MB/s, {len(files) / t_copy:.0f} files/s)"
    )
    print(f"listed:   {len(listed)} files in {t_list:.2f} s")
    print(f"verified: {len(files)} files by SHA-256 in {t_verify:.2f} s ({mb / t_verify:.1f} MB/s)")
    if problems:
        for p in problems[:20]:
            print("PROBLEM", p, file=sys.stderr)
        print(f"FAILED: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("OK: every file present with the right size and SHA-256")
    return 0


if __name__ == "__main__":
    sys.exit(main())
