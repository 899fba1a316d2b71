"""The ``remote-store`` command line: inspect plugins and move files between any two stores.

Addresses name a file or folder in a store:

* ``STORE:path`` — a named store from the configuration (``--config FILE``, else the
  config sources `remote_store.open_store` consults: ``$REMOTE_STORE_CONFIG``,
  ``./remote-store.toml``, ``[tool.remote-store]`` in ``./pyproject.toml``, the user config);
* a URL — ``file:///tmp/x/a.txt``, ``memory://name/a.txt``, ``https://host/data/a.csv``,
  ``s3://bucket/key`` (any scheme an installed plugin opens);
* a local path (like ``aws s3 cp`` and rclone) — anything starting with ``/``, ``./``,
  ``../``, ``~`` (also ``.`` and ``..`` alone), and a bare path without ``:`` that exists
  on disk (``data.csv``, ``out/dir``). A ``:`` means ``STORE:path``; write ``./a:b`` for a
  local name containing one, and ``./new`` for a local target that does not exist yet.

Local file arguments of ``put`` and ``get`` are plain paths. Exit status: 0 success,
1 an operation failed (``remote-store: error: <ErrorClass>: <message>``), 2 bad usage.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, TextIO

from remote_store import _path
from remote_store._capabilities import Capability
from remote_store._models import FileInfo, FolderEntry
from remote_store._store import Store
from remote_store.errors import AlreadyExists, InvalidPath, NotFound, RemoteStoreError

PROG = "remote-store"
CHUNK = 1024 * 1024
#: Transfers shorter than this (bytes) never draw a progress line.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024
#: Clock of the progress display (seconds); a module attribute so tests can drive it.
_clock = time.monotonic


class UsageError(Exception):
    """Bad command-line input (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        raise UsageError(message)


# ---------------------------------------------------------------------- addresses
ADDRESS_HELP = (
    "Addresses: STORE:path (a named store from config), a URL (file:///..., memory://..., s3://...), "
    "or a local path: one starting with /, ./, ../ or ~, or a bare existing path without ':' "
    "(data.csv, out/dir). Write ./new for a local target that does not exist yet, ./a:b for a name with ':'."
)
_LOCAL_PREFIXES = ("/", "./", "../", "~")


def local_path(address: str) -> str | None:
    """The absolute local path ``address`` names, or None if it is a store address or URL.

    Local: it starts with ``/``, ``./``, ``../`` or ``~`` (or is ``.`` / ``..``), or it has no
    ``:`` and exists on disk. ``STORE:path`` and ``scheme://`` URLs are never local. A
    trailing ``/`` is kept (it means "into this folder").
    """
    explicit = address.startswith(_LOCAL_PREFIXES) or address in (".", "..", "~")
    if os.sep != "/" and (address.startswith(("." + os.sep, ".." + os.sep)) or _is_drive_path(address)):
        explicit = True
    if not explicit and (":" in address or not address or not os.path.lexists(address)):
        return None
    full = os.path.abspath(os.path.expanduser(address))
    if address.endswith(("/", os.sep)) and not full.endswith("/"):
        full += "/"
    return full


def _is_drive_path(address: str) -> bool:
    return len(address) >= 3 and address[0].isalpha() and address[1] == ":" and address[2] in "\\/"


@dataclass
class Location:
    """A parsed address: the store and the store-relative path inside it.

    Attributes:
        text: The address as typed (used in messages).
        store: The opened store.
        path: Normalised store-relative path (``""`` = the store root).
    """

    text: str
    store: Store
    path: str


class Session:
    """Opens the stores addresses name; one `Store` per store name or URL root, closed at the end.

    Args:
        config: ``--config`` file, or None to use the default config sources.
    """

    def __init__(self, config: str | None) -> None:
        self._config_path = config
        self._registries: dict[str, Any] = {}
        self._stores: dict[str, Store] = {}
        self._owned: list[Store] = []

    def _registry_for(self, name: str) -> Any:
        from remote_store._open import _as_config, find_store_config
        from remote_store._registry import Registry

        if self._config_path is not None:
            key = "--config"
            if key not in self._registries:
                if not os.path.isfile(self._config_path):
                    raise UsageError(f"--config {self._config_path}: no such file")
                self._registries[key] = Registry(_as_config(self._config_path))
            return self._registries[key]
        cfg = find_store_config(name)
        key = f"{cfg.source or id(cfg)}"
        if key not in self._registries:
            self._registries[key] = Registry(cfg)
        return self._registries[key]

    def _url_store(self, url: str) -> tuple[Store, str]:
        from remote_store._config import BackendConfig
        from remote_store._plugins._host import get_plugin_host
        from remote_store._registry import build_backend

        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        res = get_plugin_host().resolve_url(url)
        if res.type == "local":
            # Root the store at "/" so the path can name a file or a folder that does not exist yet.
            cache, options, path = "file:///", {"root": "/"}, urllib.parse.unquote(parts.path)
        elif res.type == "http":
            base = urllib.parse.urlunsplit((scheme, parts.netloc, "/", "", ""))
            cache, options, path = base, {"base_url": base}, urllib.parse.unquote(parts.path)
        else:
            cache = f"{res.type}:{sorted((k, repr(v)) for k, v in res.options.items())}"
            options, path = dict(res.options), res.root_path
        store = self._stores.get(cache)
        if store is None:
            store = Store(build_backend(BackendConfig(res.type, options)))
            self._stores[cache] = store
            self._owned.append(store)
        return store, path

    def _local_store(self) -> Store:
        from remote_store._config import BackendConfig
        from remote_store._registry import build_backend

        store = self._stores.get("file:///")
        if store is None:
            # Rooted at "/" like file:// URLs, so a path can name a file or folder that does not exist yet.
            store = Store(build_backend(BackendConfig("local", {"root": "/"})))
            self._stores["file:///"] = store
            self._owned.append(store)
        return store

    def locate(self, address: str) -> Location:
        """Parse and open ``address``: a local path (see `local_path`), ``STORE:path`` or a URL.

        Raises:
            UsageError: It is empty or ``:path`` without a store name.
            ConfigError: Unknown store name or URL scheme, invalid config.
            InvalidPath: The path part is malformed.
        """
        local = local_path(address)
        if local is not None:
            store, path = self._local_store(), local
        elif "://" in address:
            store, path = self._url_store(address)
        elif ":" in address and not address.startswith(":"):
            name, _, path = address.partition(":")
            cached = self._stores.get(f"name:{name}")
            if cached is None:
                cached = self._registry_for(name).get_store(name)
                self._stores[f"name:{name}"] = cached
            store = cached
        else:
            raise UsageError(f"{address!r} is not an address. {ADDRESS_HELP}")
        return Location(address, store, _path.normalize_path(path))

    def close(self) -> None:
        """Close every store and registry opened (errors while closing are ignored)."""
        for store in self._owned:
            try:
                store.close()
            except RemoteStoreError:
                pass
        for registry in self._registries.values():
            try:
                registry.close()
            except RemoteStoreError:
                pass


# ---------------------------------------------------------------------- progress
class Progress:
    """A one-line progress display on ``stream`` (stderr), redrawn at most every 0.2 s.

    Shown only when ``stream`` is a TTY and the transfer is at least `PROGRESS_MIN_BYTES`
    (or of unknown size). `finish` clears the line.

    Args:
        label: What is being transferred (an address).
        total: Expected bytes, or None when unknown.
        stream: Where to draw (default ``sys.stderr``).
        enabled: Force on/off; None = on when ``stream.isatty()``.
    """

    def __init__(self, label: str, total: int | None, stream: TextIO | None = None, enabled: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled and (total is None or total >= PROGRESS_MIN_BYTES)
        self.label = label
        self.total = total
        self.done = 0
        self._start = _clock()
        self._last = 0.0
        self._drawn = False

    def update(self, n: int) -> None:
        """Count ``n`` more bytes; redraw if due."""
        self.done += n
        if not self.enabled:
            return
        now = _clock()
        if now - self._last >= 0.2:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self._start, 1e-6)
        if self.total:
            pct = 100.0 * self.done / self.total
            text = f"{_human(self.done)} / {_human(self.total)} {pct:5.1f}%"
        else:
            text = _human(self.done)
        self.stream.write(f"\r{text}  {_human(rate)}/s  {self.label}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """Erase the progress line (if one was drawn)."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


class _CountingReader(io.RawIOBase):
    """Wraps a readable stream and reports the bytes read to a `Progress`."""

    def __init__(self, raw: IO[bytes], progress: Progress) -> None:
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._raw.read(len(b))
        n = len(data)
        b[:n] = data
        self._progress.update(n)
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._progress.update(len(data))
        return data


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


# ---------------------------------------------------------------------- helpers
def _join(base: str, rel: str) -> str:
    return _path.join_key(base, rel)


def _relative(base: str, path: str) -> str:
    return path if not base else path[len(base) + 1 :] if path.startswith(base + "/") else path


def _size_of(loc: Location) -> int | None:
    if Capability.METADATA not in loc.store.capabilities:
        return None
    try:
        return loc.store.get_file_info(loc.path).size
    except RemoteStoreError:
        return None


def _is_folder_target(loc: Location) -> bool:
    """Whether a copy onto ``loc`` should go *into* it (trailing ``/`` or an existing folder)."""
    return loc.text.endswith("/") or not loc.path or loc.store.is_folder(loc.path)


def _write(store: Store, path: str, stream: IO[bytes], *, overwrite: bool) -> None:
    if Capability.ATOMIC_WRITE in store.capabilities:
        store.write_atomic(path, stream, overwrite=overwrite)
    else:
        store.write(path, stream, overwrite=overwrite)


def _tree(loc: Location) -> Iterator[tuple[str, FileInfo]]:
    """(relative path, info) of every file below folder ``loc``."""
    for info in loc.store.list_files(loc.path, recursive=True):
        yield _relative(loc.path, info.path), info


def _require_folder(loc: Location) -> None:
    if loc.path and not loc.store.is_folder(loc.path):
        if loc.store.exists(loc.path):
            raise InvalidPath("not a folder", path=loc.path)
        raise NotFound("folder not found", path=loc.path)


class Cli:
    """Runs one parsed command; output goes to ``out`` (bytes for ``cat``) and ``err``."""

    def __init__(self, args: argparse.Namespace, session: Session) -> None:
        self.args = args
        self.session = session
        self.out: TextIO = sys.stdout
        self.err: TextIO = sys.stderr

    def _progress(self, label: str, total: int | None) -> Progress:
        return Progress(label, total, self.err, False if self.args.quiet else None)

    def _transfer(self, src: Location, dst: Location, *, overwrite: bool, size: int | None = None) -> None:
        """Stream one file from ``src`` to ``dst`` (server-side copy within one store where possible)."""
        if src.store is dst.store and Capability.COPY in src.store.capabilities:
            src.store.copy(src.path, dst.path, overwrite=overwrite)
            return
        if not overwrite and dst.store.exists(dst.path):
            raise AlreadyExists("destination exists (use -f to overwrite)", path=dst.path)
        progress = self._progress(dst.text, size if size is not None else _size_of(src))
        try:
            with src.store.read(src.path) as stream:
                _write(dst.store, dst.path, _CountingReader(stream, progress), overwrite=overwrite)  # type: ignore[arg-type]
        finally:
            progress.finish()

    # ------------------------------------------------------------------ commands
    def plugins(self) -> int:
        from remote_store._plugins._host import get_plugin_host

        host = get_plugin_host()
        w = self.out.write
        w("Backends:\n")
        for name, spec in sorted(host.backend_types().items()):
            schemes = ", ".join(f"{s}://" for s in spec.schemes) or "-"
            try:
                cls = spec.load()
                caps = " ".join(c.name for c in cls.CAPABILITIES)
            except RemoteStoreError as exc:
                caps = f"(cannot import: {exc})"
            w(f"  {name:<10} {spec.package:<20} {schemes:<20} {spec.description}\n")
            w(f"  {'':<10} capabilities: {caps}\n")
        failed = [p for p in host.plugins() if not p.loaded]
        w("Plugins:\n")
        for info in host.plugins():
            state = "loaded" if info.loaded else "FAILED"
            dist = f"{info.distribution} {info.version}".strip() or "(in-process)"
            backends = f" backends: {', '.join(info.backends)}" if info.backends else ""
            w(f"  {info.name:<12} {state:<7} {dist}{backends}\n")
        if failed:
            w("Failed plugins:\n")
            for info in failed:
                w(f"  {info.name} ({info.distribution or '?'} {info.version}): {info.error}\n")
        w("Middleware:\n")
        middleware = host.middleware_specs()
        if not middleware:
            w("  (none)\n")
        for name, mw in sorted(middleware.items()):
            w(f"  {name:<12} priority {mw.priority:<4} {mw.package:<20} {mw.description}\n")
        w("Config sources (consulted in this order):\n")
        for source in host.config_sources():
            w(f"  {source.priority:>3} {source.name:<12} {source.description}\n")
        return 0

    def ls(self) -> int:
        loc = self.session.locate(self.args.address)
        store, w = loc.store, self.out.write
        if loc.path and store.is_file(loc.path):
            info = store.get_file_info(loc.path) if self.args.long else None
            w(self._line(info, loc.path) if info else f"{loc.path}\n")
            return 0
        _require_folder(loc)
        entries: Iterator[FileInfo | FolderEntry]
        entries = (
            iter(store.list_files(loc.path, recursive=True)) if self.args.recursive else store.iter_children(loc.path)
        )
        for entry in entries:
            rel = _relative(loc.path, entry.path)
            if isinstance(entry, FolderEntry):
                w(f"{'-':>12}  {'':<19}  {rel}/\n" if self.args.long else f"{rel}/\n")
            else:
                w(self._line(entry, rel) if self.args.long else f"{rel}\n")
        return 0

    @staticmethod
    def _line(info: FileInfo, name: str) -> str:
        when = info.modified_at.strftime("%Y-%m-%d %H:%M:%S") if info.modified_at else "-"
        return f"{info.size:>12}  {when:<19}  {name}\n"

    def cat(self) -> int:
        out = getattr(self.out, "buffer", None)
        for address in self.args.addresses:
            loc = self.session.locate(address)
            with loc.store.read(loc.path) as stream:
                while chunk := stream.read(CHUNK):
                    if out is not None:
                        out.write(chunk)
                    else:
                        self.out.write(chunk.decode("utf-8", "replace"))
        if out is not None:
            out.flush()
        return 0

    def put(self) -> int:
        local, dst = self.args.local, self.session.locate(self.args.address)
        force = self.args.force
        if os.path.isdir(local):
            if not self.args.recursive:
                raise UsageError(f"{local} is a folder: use put -r")
            base = _join(dst.path, os.path.basename(os.path.abspath(local))) if _is_folder_target(dst) else dst.path
            for dirpath, _dirs, files in os.walk(local):
                for name in sorted(files):
                    full = os.path.join(dirpath, name)
                    rel = os.path.relpath(full, local).replace(os.sep, "/")
                    self._put_file(full, Location(dst.text, dst.store, _join(base, rel)), force)
            return 0
        if not os.path.exists(local):
            raise FileNotFoundError(2, "No such file", local)
        target = dst.path
        if _is_folder_target(dst):
            target = _join(dst.path, os.path.basename(local))
        self._put_file(local, Location(dst.text, dst.store, target), force)
        return 0

    def _put_file(self, local: str, dst: Location, force: bool) -> None:
        if not force and dst.store.exists(dst.path):
            raise AlreadyExists("destination exists (use -f to overwrite)", path=dst.path)
        progress = self._progress(dst.text, os.path.getsize(local))
        try:
            with open(local, "rb") as f:
                _write(dst.store, dst.path, _CountingReader(f, progress), overwrite=force)  # type: ignore[arg-type]
        finally:
            progress.finish()

    def get(self) -> int:
        src, local, force = self.session.locate(self.args.address), self.args.local, self.args.force
        if self.args.recursive and (not src.path or src.store.is_folder(src.path)):
            base = os.path.join(local, _path.basename(src.path)) if os.path.isdir(local) and src.path else local
            for rel, info in _tree(src):
                if _path.normalize_path(rel) != rel:  # e.g. an S3 key "a/../../x": never leave `local`
                    raise InvalidPath("listed key is not a plain relative path; refusing to download it", path=rel)
                target = os.path.join(base, *rel.split("/"))
                self._get_file(Location(src.text, src.store, info.path), target, force, info.size)
            return 0
        if not src.path:
            raise UsageError("get needs a file path (or -r for a folder)")
        target = os.path.join(local, _path.basename(src.path)) if os.path.isdir(local) else local
        self._get_file(src, target, force, None)
        return 0

    def _get_file(self, src: Location, target: str, force: bool, size: int | None) -> None:
        if os.path.exists(target) and not force:
            raise FileExistsError(17, "File exists (use -f to overwrite)", target)
        folder = os.path.dirname(os.path.abspath(target))
        os.makedirs(folder, exist_ok=True)
        progress = self._progress(src.text, size if size is not None else _size_of(src))
        fd, tmp = tempfile.mkstemp(prefix=".remote-store-", suffix=".part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f, src.store.read(src.path) as stream:
                while chunk := stream.read(CHUNK):
                    f.write(chunk)
                    progress.update(len(chunk))
            os.replace(tmp, target)  # the local file appears complete or not at all
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        finally:
            progress.finish()

    def cp(self) -> int:
        src, dst = self.session.locate(self.args.src), self.session.locate(self.args.dst)
        self._copy(src, dst, move=False)
        return 0

    def mv(self) -> int:
        src, dst = self.session.locate(self.args.src), self.session.locate(self.args.dst)
        self._copy(src, dst, move=True)
        return 0

    def _copy(self, src: Location, dst: Location, *, move: bool) -> None:
        force, same = self.args.force, src.store is dst.store
        if not src.path or (self.args.recursive and src.store.is_folder(src.path)):
            if not self.args.recursive:
                raise UsageError(f"{src.text} is a folder: use -r")
            base = _join(dst.path, _path.basename(src.path)) if src.path and _is_folder_target(dst) else dst.path
            for rel, info in list(_tree(src)):
                one = Location(src.text, src.store, info.path)
                self._copy_one(one, Location(dst.text, dst.store, _join(base, rel)), move, force, same, info.size)
            if move and src.path:
                src.store.delete_folder(src.path, recursive=True, missing_ok=True)
            return
        if not src.store.is_file(src.path):
            if src.store.is_folder(src.path):
                raise UsageError(f"{src.text} is a folder: use -r")
            raise NotFound("source not found", path=src.path)
        target = _join(dst.path, _path.basename(src.path)) if _is_folder_target(dst) else dst.path
        self._copy_one(src, Location(dst.text, dst.store, target), move, force, same, None)

    def _copy_one(self, src: Location, dst: Location, move: bool, force: bool, same: bool, size: int | None) -> None:
        if move and same and Capability.MOVE in src.store.capabilities:
            src.store.move(src.path, dst.path, overwrite=force)
            return
        self._transfer(src, dst, overwrite=force, size=size)
        if move:
            src.store.delete(src.path)

    def rm(self) -> int:
        for address in self.args.addresses:
            loc = self.session.locate(address)
            if not loc.path:
                raise UsageError(f"{address}: refusing to remove the store root")
            if loc.store.is_file(loc.path):
                loc.store.delete(loc.path)
            elif loc.store.is_folder(loc.path):
                if not self.args.recursive:
                    raise UsageError(f"{address} is a folder: use rm -r")
                loc.store.delete_folder(loc.path, recursive=True)
            elif not self.args.force:
                raise NotFound("no such file or folder", path=loc.path)
        return 0

    def stat(self) -> int:
        loc = self.session.locate(self.args.address)
        store, w = loc.store, self.out.write
        if loc.path and store.is_file(loc.path):
            info = store.get_file_info(loc.path)
            fields: list[tuple[str, object]] = [
                ("path", info.path),
                ("type", "file"),
                ("size", info.size),
                ("modified", info.modified_at.isoformat() if info.modified_at else None),
                ("etag", info.etag),
                ("version_id", info.version_id),
                ("content_type", info.content_type),
            ]
            fields += [(f"metadata.{k}", v) for k, v in sorted(info.metadata.items())]
        else:
            _require_folder(loc)
            folder = store.get_folder_info(loc.path)
            fields = [
                ("path", folder.path or "/"),
                ("type", "folder"),
                ("files", folder.file_count),
                ("total_size", folder.total_size),
                ("modified", folder.modified_at.isoformat() if folder.modified_at else None),
            ]
        fields += [("backend", store.backend.type_name), ("native", store.native_path(loc.path))]
        for name, value in fields:
            if value is not None:
                w(f"{name}: {value}\n")
        return 0

    def gc(self) -> int:
        loc = self.session.locate(self.args.address)
        if self.args.older_than < 0:
            raise UsageError("--older-than must be >= 0 seconds")
        removed = loc.store.collect_garbage(loc.path, older_than=self.args.older_than)
        self.out.write(f"{removed}\n")
        return 0

    def ping(self) -> int:
        loc = self.session.locate(self.args.address)
        start = time.perf_counter()
        loc.store.ping()
        ms = (time.perf_counter() - start) * 1000
        self.out.write(f"ok: {loc.store.backend.type_name} backend reachable ({ms:.1f} ms)\n")
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``remote-store`` (exposed for docs and tests)."""
    parser = _Parser(
        prog=PROG,
        description="Inspect remote-store plugins and copy files between stores and local disk. " + ADDRESS_HELP,
    )
    parser.add_argument("--config", metavar="FILE", help="config file (TOML, or YAML with remote-store-ext)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    sub.add_parser("plugins", help="installed backend types, plugins, middleware and config sources")

    p = sub.add_parser("ls", help="list a folder (or show one file)")
    p.add_argument("-l", "--long", action="store_true", help="show size and modification time")
    p.add_argument("-r", "--recursive", action="store_true", help="list every file below the folder")
    p.add_argument("address", help="STORE:path, URL or local path")

    p = sub.add_parser("cat", help="write files to stdout")
    p.add_argument("addresses", nargs="+", metavar="address")

    p = sub.add_parser("put", help="upload a local file (or folder with -r)")
    p.add_argument("-r", "--recursive", action="store_true")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing files")
    p.add_argument("local", help="local file or folder")
    p.add_argument("address", help="STORE:path, URL or local path (a trailing / or a folder means 'into')")

    p = sub.add_parser("get", help="download a file (or folder with -r) to a local path")
    p.add_argument("-r", "--recursive", action="store_true")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing local files")
    p.add_argument("address")
    p.add_argument("local", help="local file or folder")

    for name, text in (("cp", "copy between any two stores (streaming)"), ("mv", "move between any two stores")):
        p = sub.add_parser(name, help=text)
        p.add_argument("-r", "--recursive", action="store_true", help="copy folders (trees)")
        p.add_argument("-f", "--force", action="store_true", help="overwrite existing files")
        p.add_argument("src")
        p.add_argument("dst")

    p = sub.add_parser("rm", help="delete files (folders with -r)")
    p.add_argument("-r", "--recursive", action="store_true")
    p.add_argument("-f", "--force", action="store_true", help="ignore missing paths")
    p.add_argument("addresses", nargs="+", metavar="address")

    p = sub.add_parser("stat", help="show a file's or folder's metadata")
    p.add_argument("address")

    p = sub.add_parser("ping", help="check a store's backend is reachable")
    p.add_argument("address")

    p = sub.add_parser(
        "gc",
        help="remove leftover temp files of killed atomic writers below a folder; prints how many",
        description="Remove leftover temp files of killed atomic writers (local, SFTP) below the folder "
        "STORE:[path] and print how many were removed. " + ADDRESS_HELP,
    )
    p.add_argument(
        "--older-than",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="only remove leftovers older than this (default 3600)",
    )
    p.add_argument("address", help="STORE:[path], URL or local folder")
    for name, command in sub.choices.items():
        if name != "plugins" and command.epilog is None:
            command.epilog = ADDRESS_HELP
    return parser


def _error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``remote-store`` command line.

    Args:
        argv: Arguments without the program name (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0 success, 1 operation error, 2 usage error, 130 interrupted.
        `remote_store.errors` are reported as one line on stderr, never as a traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        _error(str(exc))
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    session = Session(args.config)
    cli = Cli(args, session)
    handler: Callable[[], int] = getattr(cli, args.command)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return handler()
            finally:
                seen: set[str] = set()
                for w in caught:
                    text = str(w.message)
                    if text not in seen:
                        seen.add(text)
                        sys.stderr.write(f"{PROG}: warning: {text}\n")
    except UsageError as exc:
        _error(str(exc))
        return 2
    except RemoteStoreError as exc:
        _error(f"{type(exc).__name__}: {exc}")
        return 1
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # `remote-store cat … | head`
            try:
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
            except OSError:
                pass
            return 0
        where = f": {exc.filename}" if exc.filename else ""
        _error(f"{type(exc).__name__}: {exc.strerror or exc}{where}")
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    finally:
        session.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
