"""Formatting of ``remote-store`` output: human sizes, ``ls -l`` lines, JSON objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from remote_store._models import FileInfo, FolderEntry


def human(n: float) -> str:
    """``n`` bytes as ``"512 B"``, ``"1.5 KiB"``, ``"3.0 MiB"``, ``"2.0 GiB"``, ``"1.2 TiB"`` (base 1024)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ls_line(entry: FileInfo | FolderEntry, name: str, *, long: bool, human_sizes: bool) -> str:
    """One ``ls`` output line: the name (folders end in ``/``); with ``long``, size and time first."""
    if isinstance(entry, FolderEntry):
        return f"{'-':>12}  {'':<19}  {name}/\n" if long else f"{name}/\n"
    if not long:
        return f"{name}\n"
    size = human(entry.size) if human_sizes else str(entry.size)
    when = entry.modified_at.strftime("%Y-%m-%d %H:%M:%S") if entry.modified_at else "-"
    return f"{size:>12}  {when:<19}  {name}\n"


def entry_json(entry: FileInfo | FolderEntry, name: str) -> dict[str, Any]:
    """A listing entry as JSON-ready data: ``name``, ``path``, ``type``, and for files ``size`` (bytes),
    ``modified`` (ISO 8601 or null) and ``etag``."""
    if isinstance(entry, FolderEntry):
        return {"name": name, "path": entry.path, "type": "folder"}
    return {
        "name": name,
        "path": entry.path,
        "type": "file",
        "size": entry.size,
        "modified": _when(entry.modified_at),
        "etag": entry.etag,
    }


def file_fields(info: FileInfo) -> dict[str, Any]:
    """Every field of a file's `FileInfo` for ``stat`` (None where the backend does not know it)."""
    return {
        "path": info.path,
        "type": "file",
        "size": info.size,
        "modified": _when(info.modified_at),
        "etag": info.etag,
        "version_id": info.version_id,
        "content_type": info.content_type,
        "metadata": dict(sorted(info.metadata.items())),
    }
