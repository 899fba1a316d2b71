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
_hows: dict[tuple[int, int, int], _OpenHow] = {}
_lock = threading.Lock()


def _load_libc() -> Any:
    global _libc, _syscall, _renameat2
    if _libc is None and sys.platform.startswith("linux"):
        try:
            lib = ctypes.CDLL(None, use_errno=True)
        except OSError:  # pragma: no cover - static interpreters
            return None
        fn = lib.syscall
        fn.restype = ctypes.c_long
        fn.argtypes = (ctypes.c_long, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t)
        _syscall = fn
        ren = getattr(lib, "renameat2", None)
        if ren is not None:
            ren.restype = ctypes.c_int
            ren.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
            _renameat2 = ren
        _libc = lib
    return _libc


def _how(flags: int, mode: int, resolve: int) -> _OpenHow:
    k = (flags, mode, resolve)
    how = _hows.get(k)
    if how is None:
        with _lock:
            how = _hows.setdefault(k, _OpenHow(flags, mode, resolve))
    return how


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
            fd = _syscall(_SYS_OPENAT2, _AT_FDCWD, b".", ctypes.byref(how), ctypes.sizeof(how))
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
    how = _how(flags, mode, resolve)
    fd: int = _syscall(_SYS_OPENAT2, dir_fd, path, ctypes.byref(how), 24)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return fd


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
