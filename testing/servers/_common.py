"""Helpers for server fixtures: free ports, readiness waits, and the skip-or-fail rule."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence

import pytest

REQUIRE_ENV = "REMOTE_STORE_TEST_REQUIRE_SERVERS"


def servers_required() -> bool:
    """Whether a missing server must fail the run (set to 1 by ``.ci/run``)."""
    return os.environ.get(REQUIRE_ENV, "").lower() in ("1", "true", "yes")


def server_missing(reason: str) -> None:
    """Skip (printing ``reason``) or, under REMOTE_STORE_TEST_REQUIRE_SERVERS=1, fail."""
    if servers_required():
        pytest.fail(f"required test server unavailable: {reason} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(f"test server unavailable: {reason}")


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``check`` every 0.1 s until it is true.

    Raises:
        RuntimeError: ``timeout`` seconds passed, or ``proc`` exited first.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before it was ready")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout}s")


def which(name: str, extra: Sequence[str] = ()) -> str | None:
    """Find an executable on PATH or at one of ``extra`` absolute paths."""
    found = shutil.which(name)
    if found:
        return found
    for path in extra:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate a server started by a fixture, then kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
