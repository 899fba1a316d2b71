"""Linux system calls the standard library does not wrap: ``openat2`` and ``renameat2``.

Both are reached through ``ctypes`` (``syscall(2)`` for ``openat2``, glibc's ``renameat2``
wrapper). Everything here degrades to "not available" (``None``) on other platforms, old
kernels (``ENOSYS``) and sandboxes that forbid the call (``EPERM`` from seccomp), and the
callers fall back to a portable component walk.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys
import threading
from collections.abc import Callable
from typing import Any

#: ``openat2`` system call number (x86_64 and aarch64 share it; Linux >= 5.6).
_SYS_OPENAT2 = 437
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
_AT_FDCWD = -100

#: ``O_PATH`` where the platform has it (an fd usable only as a ``dir_fd`` / for ``fstat``).
O_PATH: int = getattr(os, "O_PATH", os.O_RDONLY)


class _OpenHow(ctypes.Structure):
    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64))


_libc: Any = None
_syscall: Any = None
_renameat2: Any = None
_openat2_ok: bool | None = None
_hows: dict[tuple[int, int, int], Any] = {}
_NR = ctypes.c_long(_SYS_OPENAT2)
_HOW_SIZE = ctypes.c_size_t(ctypes.sizeof(_OpenHow))
_fd_args: dict[int, ctypes.c_long] = {}
_lock = threading.Lock()


def _load_libc() -> Any:
    global _libc, _syscall, _renameat2
    if _libc is None and sys.platform.startswith("linux"):
        try:
            lib = ctypes.CDLL(None, use_errno=True)
        except OSError:  # pragma: no cover - static interpreters
            return None
        # No argtypes: every argument is passed as a prebuilt ctypes value (c_long, a byref,
        # bytes), which saves the per-call conversion; syscall(2) reads them as longs.
        fn = lib.syscall
        fn.restype = ctypes.c_long
        _syscall = fn
        ren = getattr(lib, "renameat2", None)
        if ren is not None:
            ren.restype = ctypes.c_int
            ren.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
            _renameat2 = ren
        _libc = lib
    return _libc


def _how(flags: int, mode: int, resolve: int) -> Any:
    """A ``byref`` to a cached, never-mutated ``struct open_how``."""
    k = (flags, mode, resolve)
    ref = _hows.get(k)
    if ref is None:
        with _lock:
            if k not in _hows:
                how = _OpenHow(flags, mode, resolve)
                _hows[k] = (how, ctypes.byref(how))  # keep the struct alive with its pointer
            ref = _hows[k]
    return ref[1]


def _fd_arg(fd: int) -> ctypes.c_long:
    arg = _fd_args.get(fd)
    if arg is None:
        if len(_fd_args) > 64:
            _fd_args.clear()
        arg = _fd_args[fd] = ctypes.c_long(fd)
    return arg


def openat2_available() -> bool:
    """Whether ``openat2`` with ``RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`` works here.

    Probed once: Linux on x86_64/aarch64, then one real call on ``"."``; ``ENOSYS`` (kernel
    older than 5.6), ``EPERM`` (seccomp) or ``EINVAL`` (unknown flags) mean no.
    """
    global _openat2_ok
    if _openat2_ok is None:
        ok = False
        if platform.machine().lower() in ("x86_64", "amd64", "aarch64", "arm64") and _load_libc() is not None:
            how = _how(O_PATH | os.O_CLOEXEC | os.O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
            fd = _syscall(_NR, ctypes.c_long(_AT_FDCWD), b".", how, _HOW_SIZE)
            if fd >= 0:
                os.close(fd)
                ok = True
        _openat2_ok = ok
    return _openat2_ok


def openat2(dir_fd: int, path: bytes, flags: int, mode: int, resolve: int) -> int:
    """``openat2(dir_fd, path, {flags, mode, resolve})``; return the fd.

    Call only after `openat2_available` returned True.

    Raises:
        OSError: The call failed (``errno`` set: ``EXDEV`` for an escape, ``ELOOP`` …).
    """
    fd: int = _syscall(_NR, _fd_arg(dir_fd), path, _how(flags, mode, resolve), _HOW_SIZE)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return fd


def openat2_fd(dir_fd: int, path: bytes, flags: int, resolve: int) -> int:
    """Like `openat2` (mode 0) but return ``-errno`` instead of raising (the hot path)."""
    fd: int = _syscall(_NR, _fd_arg(dir_fd), path, _how(flags, 0, resolve), _HOW_SIZE)
    return fd if fd >= 0 else -ctypes.get_errno()


def openat2_opener(resolve: int) -> Callable[[int, bytes, int], int]:
    """Return ``open(dir_fd, path, flags) -> fd or -errno`` for ``resolve``, with per-flags
    ``open_how`` pointers cached in a closure (the hottest path of `LocalBackend`)."""
    refs: dict[int, Any] = {}
    call, nr, size, get_errno, fd_arg = _syscall, _NR, _HOW_SIZE, ctypes.get_errno, _fd_arg

    def opener(dir_fd: int, path: bytes, flags: int) -> int:
        ref = refs.get(flags)
        if ref is None:
            ref = refs[flags] = _how(flags, 0, resolve)
        fd: int = call(nr, fd_arg(dir_fd), path, ref, size)
        return fd if fd >= 0 else -get_errno()

    return opener


def openat2_opener_for(resolve: int, flags: int) -> Callable[[int, bytes], int]:
    """Return ``open(dir_fd, path) -> fd or -errno`` for one fixed ``flags`` and ``resolve``
    (no per-call flag look-up: `LocalBackend`'s stat path)."""
    call, nr, size, get_errno, fd_arg = _syscall, _NR, _HOW_SIZE, ctypes.get_errno, _fd_arg
    ref = _how(flags, 0, resolve)

    def opener(dir_fd: int, path: bytes) -> int:
        fd: int = call(nr, fd_arg(dir_fd), path, ref, size)
        return fd if fd >= 0 else -get_errno()

    return opener


def renameat2(src_dir_fd: int, src: str, dst_dir_fd: int, dst: str, flags: int) -> bool:
    """``renameat2`` with ``flags``; return False when the call or flag is unsupported here.

    Raises:
        OSError: The rename failed for another reason (``EEXIST`` with RENAME_NOREPLACE …).
    """
    if _load_libc() is None or _renameat2 is None:
        return False
    rc = _renameat2(src_dir_fd, os.fsencode(src), dst_dir_fd, os.fsencode(dst), flags)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err))
