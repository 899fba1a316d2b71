"""The ``remote-store`` commands: one method of `Cli` per command."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

from remote_store import _path
from remote_store._capabilities import Capability
from remote_store._cli import _copy as engine
from remote_store._cli._output import entry_json, file_fields, human, ls_line
from remote_store._cli._parser import PROG, UsageError
from remote_store._cli._progress import make_bar
from remote_store._cli._session import Location, Session
from remote_store._models import FileInfo, FolderEntry
from remote_store._store import Store
from remote_store.errors import AlreadyExists, InvalidPath, NotFound, RemoteStoreError

CHUNK = 1024 * 1024
log = logging.getLogger("remote_store.cli")


def _is_folder_target(loc: Location) -> bool:
    """Whether a copy onto ``loc`` should go *into* it (trailing ``/`` or an existing folder)."""
    return loc.text.endswith("/") or not loc.path or loc.store.is_folder(loc.path)


def _require_folder(loc: Location) -> None:
    if loc.path and not loc.store.is_folder(loc.path):
        if loc.store.exists(loc.path):
            raise InvalidPath("not a folder", path=loc.path, backend=loc.store.backend.type_name)
        raise NotFound("folder not found", path=loc.path, backend=loc.store.backend.type_name)


def _dump(obj: Any, out: TextIO) -> None:
    import json  # lazily: only --json pays for it

    json.dump(obj, out, indent=None, sort_keys=False)
    out.write("\n")


class Cli:
    """Runs one parsed command; output goes to ``out`` (bytes for ``cat``) and ``err``.

    Args:
        args: The parsed arguments (`build_parser`).
        session: Opens the stores the addresses name.
    """

    def __init__(self, args: argparse.Namespace, session: Session) -> None:
        self.args = args
        self.session = session
        self.out: TextIO = sys.stdout
        self.err: TextIO = sys.stderr

    def _say(self, text: str) -> None:
        """A ``remote-store: …`` line on stderr unless ``-q``."""
        if not self.args.quiet:
            self.err.write(f"{PROG}: {text}\n")

    # ------------------------------------------------------------------ plugins
    def plugins(self) -> int:
        """``plugins [--json]``: backend types (with capabilities), plugins, middleware, config sources."""
        from remote_store._plugins._host import get_plugin_host

        host = get_plugin_host()
        backends = []
        for name, spec in sorted(host.backend_types().items()):
            entry: dict[str, Any] = {
                "name": name,
                "package": spec.package,
                "schemes": list(spec.schemes),
                "description": spec.description,
            }
            try:
                entry["capabilities"] = [c.name for c in spec.load().CAPABILITIES]
            except RemoteStoreError as exc:
                entry["error"] = str(exc)
            backends.append(entry)
        plugins: list[dict[str, Any]] = [
            {
                "name": i.name,
                "loaded": i.loaded,
                "distribution": i.distribution,
                "version": i.version,
                "backends": list(i.backends),
                "error": i.error,
            }
            for i in host.plugins()
        ]
        middleware = [
            {"name": n, "priority": m.priority, "package": m.package, "description": m.description}
            for n, m in sorted(host.middleware_specs().items())
        ]
        sources = [
            {"name": s.name, "priority": s.priority, "description": s.description} for s in host.config_sources()
        ]
        if self.args.json:
            _dump(
                {"backends": backends, "plugins": plugins, "middleware": middleware, "config_sources": sources},
                self.out,
            )
            return 0
        w = self.out.write
        w("Backends:\n")
        for b in backends:
            schemes = ", ".join(f"{s}://" for s in b["schemes"]) or "-"
            caps = " ".join(b["capabilities"]) if "capabilities" in b else f"(cannot import: {b['error']})"
            w(f"  {b['name']:<10} {b['package']:<20} {schemes:<20} {b['description']}\n")
            w(f"  {'':<10} capabilities: {caps}\n")
        w("Plugins:\n")
        for p in plugins:
            dist = f"{p['distribution']} {p['version']}".strip() or "(in-process)"
            owned = f" backends: {', '.join(p['backends'])}" if p["backends"] else ""
            w(f"  {p['name']:<12} {'loaded' if p['loaded'] else 'FAILED':<7} {dist}{owned}\n")
        failed = [p for p in plugins if not p["loaded"]]
        if failed:
            w("Failed plugins:\n")
            for p in failed:
                w(f"  {p['name']} ({p['distribution'] or '?'} {p['version']}): {p['error']}\n")
        w("Middleware:\n")
        if not middleware:
            w("  (none)\n")
        for m in middleware:
            w(f"  {m['name']:<12} priority {m['priority']:<4} {m['package']:<20} {m['description']}\n")
        w("Config sources (consulted in this order):\n")
        for s in sources:
            w(f"  {s['priority']:>3} {s['name']:<12} {s['description']}\n")
        return 0

    # ------------------------------------------------------------------ ls / cat / stat
    def ls(self) -> int:
        """``ls [-l] [-h] [-r] [--json] ADDRESS``."""
        loc = self.session.locate(self.args.address)
        store, args = loc.store, self.args
        long = args.long or args.human
        entries: Iterator[FileInfo | FolderEntry]
        if loc.path and store.is_file(loc.path):
            one: FileInfo | FolderEntry = store.get_file_info(loc.path)
            entries, base = iter([one]), ""  # one file: shown by its full path
        else:
            _require_folder(loc)
            base = loc.path
            entries = iter(store.list_files(base, recursive=True)) if args.recursive else store.iter_children(base)
        if args.json:
            import json  # lazily: only --json pays for it

            w = self.out.write
            w("[")  # streamed: a long listing is never held in memory
            for n, entry in enumerate(entries):
                w(("," if n else "") + json.dumps(entry_json(entry, engine.relative(base, entry.path))))
            w("]\n")
            return 0
        for entry in entries:
            self.out.write(ls_line(entry, engine.relative(base, entry.path), long=long, human_sizes=args.human))
        return 0

    def cat(self) -> int:
        """``cat ADDRESS...``: the bytes, unchanged, on stdout."""
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

    def stat(self) -> int:
        """``stat [--json] ADDRESS``: a file's or folder's metadata."""
        loc = self.session.locate(self.args.address)
        store = loc.store
        fields: dict[str, Any]
        if loc.path and store.is_file(loc.path):
            fields = file_fields(store.get_file_info(loc.path))
        else:
            _require_folder(loc)
            folder = store.get_folder_info(loc.path)
            fields = {
                "path": folder.path or "/",
                "type": "folder",
                "files": folder.file_count,
                "total_size": folder.total_size,
                "modified": folder.modified_at.isoformat() if folder.modified_at else None,
            }
        fields["backend"] = store.backend.type_name
        fields["native"] = store.native_path(loc.path)
        if self.args.json:
            _dump(fields, self.out)
            return 0
        metadata = fields.pop("metadata", {})
        fields.update({f"metadata.{k}": v for k, v in metadata.items()})
        for name, value in fields.items():
            if value is not None:
                self.out.write(f"{name}: {value}\n")
        return 0

    # ------------------------------------------------------------------ transfers
    def _mode(self) -> engine.Mode:
        if self.args.force:
            return "overwrite"
        return "skip" if self.args.skip_existing else "refuse"

    def put(self) -> int:
        """``put [-r] [-f|-n] [-j N] LOCAL ADDRESS``."""
        return self._copy(self.session.local(self.args.local), self.session.locate(self.args.address), move=False)

    def get(self) -> int:
        """``get [-r] [-f|-n] [-j N] ADDRESS LOCAL``."""
        local = self.args.local
        dst = self.session.local(local)
        if local.endswith(("/", "\\")):
            dst.text = local
        return self._copy(self.session.locate(self.args.address), dst, move=False)

    def cp(self) -> int:
        """``cp [-r] [-f|-n] [-j N] SRC DST``."""
        return self._copy(self.session.locate(self.args.src), self.session.locate(self.args.dst), move=False)

    def mv(self) -> int:
        """``mv [-r] [-f|-n] SRC DST``."""
        return self._copy(self.session.locate(self.args.src), self.session.locate(self.args.dst), move=True)

    def _copy(self, src: Location, dst: Location, *, move: bool) -> int:
        tree = not src.path or (self.args.recursive and src.store.is_folder(src.path))
        if tree:
            if not self.args.recursive:
                raise UsageError(f"{src.text} is a folder: use -r to copy it and every file below it")
            base = (
                _path.join_key(dst.path, _path.basename(src.path)) if src.path and _is_folder_target(dst) else dst.path
            )
            items = engine.plan_tree(src, base)
        else:
            if not src.store.is_file(src.path):
                if src.store.is_folder(src.path):
                    raise UsageError(f"{src.text} is a folder: use -r to copy it and every file below it")
                raise NotFound("source not found", path=src.path, backend=src.store.backend.type_name)
            base = _path.join_key(dst.path, _path.basename(src.path)) if _is_folder_target(dst) else dst.path
            items = [engine.Item(src.path, base, _copy_size(src))]
        mode = self._mode()
        conflicts = engine.existing(dst.store, base, items) if mode != "overwrite" else set()
        if conflicts and mode == "refuse":
            if not tree:
                raise AlreadyExists(
                    "destination exists (use -f to overwrite, -n to skip)",
                    path=items[0].dst,
                    backend=dst.store.backend.type_name,
                )
            for item in items:
                if item.dst in conflicts:
                    self.err.write(f"{PROG}: exists: {self._show(dst, item.dst)}\n")
            raise AlreadyExists(
                f"{len(conflicts)} of {len(items)} destination files already exist; nothing was copied "
                "(use -f/--overwrite to replace them or -n/--no-clobber to skip them)"
            )
        if conflicts and not tree:
            self._say(f"skipped (exists): {self._show(dst, items[0].dst)}")
            return 0
        log.info(
            "%s %d file(s), %d bytes, from %s to %s (%s; %d conflict(s), mode %s)",
            "moving" if move else "copying",
            len(items),
            sum(i.size for i in items),
            src.text,
            dst.text,
            engine.engine_name(self.args.jobs),
            len(conflicts),
            mode,
        )
        start = time.perf_counter()
        if move and src.store is dst.store and Capability.MOVE in src.store.capabilities:
            report = self._rename(src.store, items, mode, tree)
        else:
            bar = make_bar(
                dst.text, self.err, quiet=self.args.quiet, files=len(items), nbytes=sum(i.size for i in items)
            )
            try:
                report = engine.run(src, src.path, dst, base, items, tree=tree, mode=mode, jobs=self.args.jobs, bar=bar)
            finally:
                bar.finish()
            if move:
                for item in report.succeeded(items):
                    src.store.delete(item.src, missing_ok=True)
        if move and tree and src.path and not report.failed and not report.skipped:
            src.store.delete_folder(src.path, recursive=True, missing_ok=True)
        return self._report(report, items, src, dst, tree, move, time.perf_counter() - start)

    @staticmethod
    def _rename(store: Store, items: list[engine.Item], mode: engine.Mode, tree: bool) -> engine.Report:
        report = engine.Report(len(items))
        for item in items:
            try:
                store.move(item.src, item.dst, overwrite=mode == "overwrite")
                report.copied += 1
                report.nbytes += item.size
            except AlreadyExists as exc:
                if not tree and mode != "skip":
                    raise
                if mode == "skip":
                    report.skipped.append(item.src)
                else:
                    report.failed.append((item.src, exc))
            except RemoteStoreError as exc:
                if not tree:
                    raise
                report.failed.append((item.src, exc))
        return report

    def _show(self, loc: Location, path: str) -> str:
        """A path for messages: absolute for local files (``/tmp/x``), else store-relative."""
        return "/" + path if self.session.is_local_root(loc.store) else path

    def _report(
        self,
        report: engine.Report,
        items: list[engine.Item],
        src_loc: Location,
        dst: Location,
        tree: bool,
        move: bool,
        seconds: float,
    ) -> int:
        target = {i.src: i.dst for i in items}
        for src in report.skipped:
            self._say(f"skipped (exists): {self._show(dst, target.get(src, src))}")
        for src, exc in report.failed:
            self.session.show_local_paths(exc)
            shown = self._show(src_loc, src)
            self.err.write(f"{PROG}: failed: {shown}: {type(exc).__name__}: {_one_line(str(exc))}\n")
        if tree:
            verb = "moved" if move else "copied"
            self._say(
                f"{verb} {report.copied} of {report.total} files ({human(report.nbytes)}) in {seconds:.1f} s; "
                f"{len(report.skipped)} skipped, {len(report.failed)} failed"
            )
        if report.failed:
            first = report.failed[0][1]
            self.err.write(
                f"{PROG}: error: {type(first).__name__}: {len(report.failed)} of {report.total} files failed"
                f" (first: {self._show(src_loc, report.failed[0][0])})\n"
            )
            return 1
        return 0

    # ------------------------------------------------------------------ rm / gc / ping
    def rm(self) -> int:
        """``rm [-r] [-f] ADDRESS...``."""
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
                raise NotFound("no such file or folder", path=loc.path, backend=loc.store.backend.type_name)
        return 0

    def gc(self) -> int:
        """``gc [--older-than SECONDS] ADDRESS``: prints how many leftovers were removed."""
        loc = self.session.locate(self.args.address)
        if self.args.older_than < 0:
            raise UsageError("--older-than must be >= 0 seconds")
        removed = loc.store.collect_garbage(loc.path, older_than=self.args.older_than)
        self.out.write(f"{removed}\n")
        return 0

    def ping(self) -> int:
        """``ping STORE|STORE:|URL``: a bare word is a store name."""
        address = self.args.address
        if address and ":" not in address and "/" not in address and address not in (".", "..", "~"):
            address += ":"
        loc = self.session.locate(address)
        start = time.perf_counter()
        loc.store.ping()
        ms = (time.perf_counter() - start) * 1000
        self.out.write(f"ok: {loc.store.backend.type_name} backend reachable ({ms:.1f} ms)\n")
        return 0


def _copy_size(loc: Location) -> int:
    if Capability.METADATA not in loc.store.capabilities:
        return 0
    try:
        return loc.store.get_file_info(loc.path).size
    except RemoteStoreError:
        return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())
