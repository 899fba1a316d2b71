"""The one module that touches paramiko's private API (pipelined requests, raw replies).

paramiko's public ``SFTPClient`` sends one request and waits for its reply; it drops the
server's protocol extensions from the ``VERSION`` reply and has no pipelined ``READ`` window
with a bounded depth. The helpers here use these private members of paramiko (checked by
`missing_private_api` and by a test against the installed paramiko):

- ``SFTPClient._send_packet``, ``_read_packet`` (the ``INIT``/``VERSION`` exchange, to keep
  the extension list), ``_async_request``, ``_read_response``, ``_convert_status``;
- ``SFTPAttributes._from_msg`` (decode an ``ATTRS`` reply);
- the instance attributes ``SFTPFile._reqs`` (pipelined ``WRITE`` ids) and ``SFTPFile._closed``.

When any of them is missing (a future paramiko), `PRIVATE_OK` is False and every helper uses
public API instead: extensions are unknown (so ``posix-rename``/``hardlink``/``copy-data`` are
not used), requests are sent one at a time, reads go through ``SFTPFile.seek``/``read``, and
a finished upload is checked by comparing ``SFTPFile.stat()`` with the bytes sent. Slower,
same guarantees (except ATOMIC_MOVE, which needs ``posix-rename``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, TypeAlias

import paramiko
from paramiko import sftp as _sftp

#: ``(class, attribute)`` pairs of paramiko private API this module uses.
PRIVATE_API: tuple[tuple[type, str], ...] = (
    (paramiko.SFTPClient, "_send_packet"),
    (paramiko.SFTPClient, "_read_packet"),
    (paramiko.SFTPClient, "_async_request"),
    (paramiko.SFTPClient, "_read_response"),
    (paramiko.SFTPClient, "_convert_status"),
    (paramiko.SFTPAttributes, "_from_msg"),
)
#: Instance attributes of ``SFTPFile`` used (set in its ``__init__``); checked on a live file.
PRIVATE_FILE_ATTRS = ("_reqs", "_closed")
#: SFTP request size every server accepts (SFTP v3 drafts; paramiko's ``MAX_REQUEST_SIZE``).
SAFE_REQUEST = 32768


def missing_private_api() -> list[str]:
    """Names of the private paramiko members above that the installed paramiko lacks."""
    missing = [f"{cls.__name__}.{name}" for cls, name in PRIVATE_API if not hasattr(cls, name)]
    for name in ("CMD_EXTENDED", "CMD_EXTENDED_REPLY", "CMD_READ", "CMD_FSTAT", "int64"):
        if not hasattr(_sftp, name):
            missing.append(f"paramiko.sftp.{name}")
    return missing


#: True when the private API is present; False selects the public-API fallbacks.
PRIVATE_OK = not missing_private_api()


class Client(paramiko.SFTPClient):  # type: ignore[misc]
    """``SFTPClient`` that keeps the server's extensions and ``limits@openssh.com`` values."""

    extensions: dict[str, bytes]
    max_read: int
    max_write: int

    def _send_version(self) -> int:
        if not PRIVATE_OK:
            self.extensions = {}
            return int(super()._send_version())
        msg = paramiko.Message()
        msg.add_int(3)
        self._send_packet(_sftp.CMD_INIT, msg)
        t, data = self._read_packet()
        if t != _sftp.CMD_VERSION:
            raise paramiko.SFTPError("Incompatible sftp protocol")
        reply = paramiko.Message(data)
        version = reply.get_int()
        exts: dict[str, bytes] = {}
        with contextlib.suppress(Exception):
            while reply.get_remainder():
                name = reply.get_text()
                exts[name] = reply.get_binary()
        self.extensions = exts
        return int(version)


def open_client(chan: paramiko.Channel) -> Client:
    """Start the SFTP subsystem on ``chan``; learn the server's read/write limits (one round trip).

    ``limits@openssh.com`` (OpenSSH >= 8.6) reports the largest ``READ``/``WRITE`` the server
    accepts; without it requests stay at `SAFE_REQUEST` bytes.
    """
    client = Client(chan)
    client.max_read = client.max_write = SAFE_REQUEST
    if PRIVATE_OK and "limits@openssh.com" in client.extensions:
        with contextlib.suppress(Exception):
            t, msg = client._request(_sftp.CMD_EXTENDED, "limits@openssh.com")
            if t == _sftp.CMD_EXTENDED_REPLY:
                _packet, read, write = msg.get_int64(), msg.get_int64(), msg.get_int64()
                # stay well below the server's limits (the reply header takes a few bytes)
                client.max_read = max(SAFE_REQUEST, min(read, 256 * 1024) // SAFE_REQUEST * SAFE_REQUEST)
                client.max_write = max(SAFE_REQUEST, min(write, 256 * 1024) // SAFE_REQUEST * SAFE_REQUEST)
    return client


# ---------------------------------------------------------------------- pipelined path queries
#: Query kinds accepted by `pipelined`.
_QUERIES = {"lstat": "CMD_LSTAT", "stat": "CMD_STAT", "realpath": "CMD_REALPATH", "remove": "CMD_REMOVE"}
#: One reply of `pipelined`: attributes, a resolved path, None (removed) or the error.
Reply: TypeAlias = "paramiko.SFTPAttributes | str | BaseException | None"


def pipelined(c: Client, queries: Sequence[tuple[str, str]]) -> list[Reply]:
    """Send ``(kind, path)`` queries at once (one round trip) and return each reply or its error.

    ``kind`` is ``"lstat"``/``"stat"`` (→ ``SFTPAttributes``), ``"realpath"`` (→ ``str``) or
    ``"remove"`` (→ None). SFTP status errors are returned in place (``IOError``); a connection
    error is raised. The fallback sends them one at a time through public methods.
    """
    from remote_store_sftp._errors import is_connection_error

    if not PRIVATE_OK:
        out: list[Reply] = []
        for kind, path in queries:
            try:
                fn = {"lstat": c.lstat, "stat": c.stat, "realpath": c.normalize, "remove": c.remove}[kind]
                out.append(fn(path))  # type: ignore[operator]
            except (OSError, paramiko.SFTPError) as exc:
                if is_connection_error(exc):
                    raise
                out.append(exc)
        return out
    nums = [c._async_request(type(None), getattr(_sftp, _QUERIES[kind]), path) for kind, path in queries]
    replies: list[Reply] = []
    for (kind, _path), num in zip(queries, nums, strict=True):
        try:
            t, msg = c._read_response(num)
        except (OSError, EOFError, paramiko.SFTPError) as exc:
            if is_connection_error(exc):
                raise
            replies.append(exc)
            continue
        replies.append(_decode(kind, t, msg))
    return replies


def _decode(kind: str, t: int, msg: paramiko.Message) -> Reply:
    if kind in ("lstat", "stat"):
        if t != _sftp.CMD_ATTRS:
            return paramiko.SFTPError("Expected attributes")
        return paramiko.SFTPAttributes._from_msg(msg)
    if kind == "realpath":
        if t != _sftp.CMD_NAME or msg.get_int() != 1:
            return paramiko.SFTPError("Expected name response")
        return str(msg.get_text())
    return None


# ---------------------------------------------------------------------- files
def close_async(c: Client, f: paramiko.SFTPFile) -> None:
    """Send ``CLOSE`` for ``f`` without waiting (the reply is skipped by a later request)."""
    if PRIVATE_OK and hasattr(f, "_closed"):
        if f._closed:
            return
        f._closed = True  # keep paramiko's finalizer from closing the handle a second time
        c._async_request(type(None), _sftp.CMD_CLOSE, f.handle)
        return
    f.close()


def extended(c: Client, name: str, *args: Any) -> None:
    """Send an ``SSH_FXP_EXTENDED`` request and wait for its status (raises on error).

    Raises:
        IOError: The server refused it (``"Operation unsupported"`` in the fallback).
    """
    if not PRIVATE_OK:
        raise OSError("Operation unsupported")
    c._request(_sftp.CMD_EXTENDED, name, *args)


def copy_data(c: Client, src: paramiko.SFTPFile, dst: paramiko.SFTPFile) -> None:
    """Server-side copy of the whole of ``src`` into ``dst`` (``copy-data`` extension)."""
    extended(c, "copy-data", src.handle, _sftp.int64(0), _sftp.int64(0), dst.handle, _sftp.int64(0))


def finish_write(c: Client, f: paramiko.SFTPFile, *, sent: int, fsync: bool, mode: int | None) -> None:
    """Set ``mode`` (``FSETSTAT``), flush ``f``, send ``CLOSE``, then check every pipelined reply.

    paramiko's pipelined close may skip the status of writes still in flight, so a failed
    write (disk full, quota) could pass unnoticed; here each reply is read and raised. The
    fallback compares ``FSTAT``'s size with ``sent`` before closing.

    Raises:
        IOError: A ``WRITE``, the ``FSETSTAT`` or the ``CLOSE`` failed.
    """
    f.flush()
    if not PRIVATE_OK or not hasattr(f, "_reqs"):
        try:
            if mode is not None:
                f.chmod(mode)
            size = f.stat().st_size
            if size != sent:
                raise OSError(f"upload incomplete: {size} of {sent} bytes stored")
        finally:
            f.close()
        return
    reqs = f._reqs
    if mode is not None:
        reqs.append(c._async_request(type(None), _sftp.CMD_FSETSTAT, f.handle, _mode_attrs(mode)))
    if fsync:
        while reqs:
            c._read_response(reqs.popleft())
        extended(c, "fsync@openssh.com", f.handle)
    f._closed = True  # closed here; keep paramiko's finalizer from closing the handle again
    close_num = c._async_request(type(None), _sftp.CMD_CLOSE, f.handle)
    try:
        while reqs:
            c._read_response(reqs.popleft())
    except BaseException:
        with contextlib.suppress(Exception):
            c._read_response(close_num)
        raise
    c._read_response(close_num)


def _mode_attrs(mode: int) -> paramiko.SFTPAttributes:
    attrs = paramiko.SFTPAttributes()
    attrs.st_mode = mode
    return attrs


def tune_file(c: Client, f: paramiko.SFTPFile) -> None:
    """Pipeline ``f``'s writes and send them in requests of the server's maximum write size."""
    f.set_pipelined(True)
    if PRIVATE_OK:
        f.MAX_REQUEST_SIZE = getattr(c, "max_write", SAFE_REQUEST)


# ---------------------------------------------------------------------- pipelined reads
class ReadWindow:
    """Pipelined ``READ`` requests on one open handle; replies are matched by request id.

    `request` sends a ``READ`` without waiting; `result` waits for one reply and returns its
    bytes (``b""`` at end of file) or raises its error. `cancel` forgets every pending
    request (late replies are skipped by paramiko). The fallback reads synchronously.
    """

    def __init__(self, c: Client, f: paramiko.SFTPFile) -> None:
        self._c = c
        self._f = f
        self._wanted: set[int] = set()
        self._ready: dict[int, bytes | BaseException] = {}
        self._sync: dict[int, tuple[int, int]] = {}
        self._next_sync = 0

    def request(self, offset: int, n: int) -> int:
        """Send ``READ(offset, n)``; return its ticket."""
        if not PRIVATE_OK:
            self._next_sync += 1
            self._sync[self._next_sync] = (offset, n)
            return self._next_sync
        num = int(self._c._async_request(self, _sftp.CMD_READ, self._f.handle, _sftp.int64(offset), int(n)))
        self._wanted.add(num)
        return num

    def result(self, ticket: int) -> bytes:
        """Wait for the reply to ``ticket``: its bytes (``b""`` at end of file).

        Raises:
            IOError: The server answered with an error status.
        """
        if not PRIVATE_OK:
            offset, n = self._sync.pop(ticket)
            self._f.seek(offset)
            return bytes(self._f.read(n))
        while ticket not in self._ready:
            self._c._read_response()
        data = self._ready.pop(ticket)
        if isinstance(data, BaseException):
            raise data
        return data

    def cancel(self) -> None:
        """Forget every pending request."""
        self._wanted.clear()
        self._ready.clear()
        self._sync.clear()

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        # called by paramiko's _read_response for replies addressed to this window
        if num not in self._wanted:
            return
        self._wanted.discard(num)
        if t == _sftp.CMD_DATA:
            self._ready[num] = msg.get_string()
            return
        if t == _sftp.CMD_STATUS:
            try:
                self._c._convert_status(msg)
                self._ready[num] = b""
            except EOFError:
                self._ready[num] = b""
            except Exception as exc:
                self._ready[num] = exc
            return
        self._ready[num] = paramiko.SFTPError(f"unexpected SFTP reply type {t} to READ")


# ---------------------------------------------------------------------- listings
def listdir(
    c: Client, path: str | bytes
) -> tuple[list[paramiko.SFTPAttributes], list[tuple[bytes, paramiko.SFTPAttributes]]]:
    """``OPENDIR`` + ``READDIR`` pages + ``CLOSE`` of ``path``: ``(entries, undecodable)``.

    Entry names that are not valid UTF-8 are returned apart as ``(raw bytes, attributes)`` (paramiko's own
    ``listdir_attr`` fails the whole listing on them). ``.`` and ``..`` are left out. The
    fallback (``listdir_attr``) cannot separate such names and raises ``UnicodeDecodeError``.

    Raises:
        IOError: The folder cannot be opened (``ENOENT`` when missing).
    """
    if not PRIVATE_OK:
        return list(c.listdir_attr(path)), []
    t, msg = c._request(_sftp.CMD_OPENDIR, path)
    if t != _sftp.CMD_HANDLE:
        raise paramiko.SFTPError("Expected handle")
    handle = msg.get_binary()
    entries: list[paramiko.SFTPAttributes] = []
    skipped: list[tuple[bytes, paramiko.SFTPAttributes]] = []
    try:
        while True:
            try:
                t, msg = c._request(_sftp.CMD_READDIR, handle)
            except EOFError:
                break
            if t != _sftp.CMD_NAME:
                raise paramiko.SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                raw = msg.get_string()
                msg.get_string()  # longname
                attr = paramiko.SFTPAttributes._from_msg(msg)
                if raw in (b".", b".."):
                    continue
                try:
                    attr.filename = raw.decode("utf-8")
                except UnicodeDecodeError:
                    skipped.append((raw, attr))
                    continue
                entries.append(attr)
    finally:
        with contextlib.suppress(Exception):
            c._async_request(type(None), _sftp.CMD_CLOSE, handle)
    return entries, skipped


def link_then_remove(c: Client, tmp: str, path: str) -> None:
    """``hardlink@openssh.com`` ``tmp`` → ``path`` and ``REMOVE tmp``, pipelined (one round trip).

    The temp file is removed whether or not the link succeeded (a failed exclusive publish
    must leave nothing behind).

    Raises:
        IOError: The link failed (``path`` exists, or its folder is gone).
    """
    if not PRIVATE_OK:
        raise OSError("Operation unsupported")
    link = c._async_request(type(None), _sftp.CMD_EXTENDED, "hardlink@openssh.com", tmp, path)
    remove = c._async_request(type(None), _sftp.CMD_REMOVE, tmp)
    error: BaseException | None = None
    for num in (link, remove):
        try:
            c._read_response(num)
        except (OSError, paramiko.SFTPError) as exc:
            from remote_store_sftp._errors import is_connection_error

            if is_connection_error(exc):
                raise
            if num == link:
                error = exc
    if error is not None:
        raise error


def lstat_and_create(c: Client, path: str, tmp: str) -> tuple[Reply, paramiko.SFTPFile | BaseException]:
    """``LSTAT path`` and ``OPEN tmp`` (``CREAT|EXCL``, write) pipelined: one round trip.

    Returns the ``LSTAT`` reply (or its error) and the created file (or the ``OPEN`` error).
    The fallback sends them one after the other.
    """
    from remote_store_sftp._errors import is_connection_error

    if not PRIVATE_OK:
        st = pipelined(c, [("lstat", path)])[0]
        try:
            return st, c.open(tmp, "wbx")
        except (OSError, paramiko.SFTPError) as exc:
            if is_connection_error(exc):
                raise
            return st, exc
    flags = _sftp.SFTP_FLAG_WRITE | _sftp.SFTP_FLAG_CREATE | _sftp.SFTP_FLAG_TRUNC | _sftp.SFTP_FLAG_EXCL
    lnum = c._async_request(type(None), _sftp.CMD_LSTAT, path)
    onum = c._async_request(type(None), _sftp.CMD_OPEN, tmp, flags, paramiko.SFTPAttributes())
    out: list[Any] = []
    for kind, num in (("lstat", lnum), ("open", onum)):
        try:
            t, msg = c._read_response(num)
        except (OSError, EOFError, paramiko.SFTPError) as exc:
            if is_connection_error(exc):
                raise
            out.append(exc)
            continue
        if kind == "lstat":
            out.append(_decode("lstat", t, msg))
        elif t != _sftp.CMD_HANDLE:
            out.append(paramiko.SFTPError("Expected handle"))
        else:
            out.append(paramiko.SFTPFile(c, msg.get_binary(), "wb"))
    return out[0], out[1]


def fstat_and_read(c: Client, f: paramiko.SFTPFile, n: int) -> tuple[paramiko.SFTPAttributes, bytes | None]:
    """``FSTAT`` the handle and ``READ`` its first ``n`` bytes, pipelined (one round trip).

    Returns the attributes and the first bytes (None in the fallback, or when the read failed:
    the caller reads again through its window).

    Raises:
        IOError: The ``FSTAT`` failed.
    """
    if not PRIVATE_OK or n <= 0:
        return f.stat(), None
    snum = c._async_request(type(None), _sftp.CMD_FSTAT, f.handle)
    rnum = c._async_request(type(None), _sftp.CMD_READ, f.handle, _sftp.int64(0), int(n))
    first: bytes | None = None
    error: BaseException | None = None
    attrs: paramiko.SFTPAttributes | None = None
    for num in (snum, rnum):
        try:
            t, msg = c._read_response(num)
        except EOFError:
            if num == rnum:
                first = b""
            continue
        except (OSError, paramiko.SFTPError) as exc:
            from remote_store_sftp._errors import is_connection_error

            if is_connection_error(exc):
                raise
            if num == snum:
                error = exc
            continue
        if num == snum:
            if t != _sftp.CMD_ATTRS:
                error = paramiko.SFTPError("Expected attributes")
            else:
                attrs = paramiko.SFTPAttributes._from_msg(msg)
        elif t == _sftp.CMD_DATA:
            first = msg.get_string()
    if error is not None or attrs is None:
        raise error or paramiko.SFTPError("Expected attributes")
    return attrs, first
