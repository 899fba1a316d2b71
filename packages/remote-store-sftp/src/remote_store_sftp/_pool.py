"""One SSH transport per backend and process, a bounded pool of SFTP channels over it.

paramiko's ``SFTPClient`` is not safe for concurrent requests, so every call checks one
channel out (`Pool.checkout`) and returns it (`Pool.release`). The transport is opened lazily,
checked before every call, rebuilt when it died, and never reused across ``fork``.

**Retries.** `Pool.run` is the one retry loop: it runs a call through the backend's
`remote_store.kit.RetryPolicy`; a failure the policy retries (a dropped connection, a timeout)
drops the session and runs the call again on a new connection. Callers say whether a call is
idempotent; a non-idempotent one is never repeated (its caller checks the outcome).

**Temp files of lost connections.** A write registers its temp path on its `Session` before
creating it and forgets it once the temp is published or removed. When a session is dropped
because the connection died, its registered temp paths become orphans, and the next
connection removes them first (pipelined ``REMOVE``s, one round trip) — the writer itself
could not, its connection was gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import paramiko

from remote_store.errors import BackendUnavailable, RemoteStoreError
from remote_store.kit import RetryPolicy
from remote_store_sftp import _errors, _retry, _wire

T = TypeVar("T")
log = logging.getLogger("remote_store.sftp")

#: SSH channel receive window (bytes) and largest channel packet we ask the server to send.
#: Larger than paramiko's defaults (2 MiB / 32 KiB): fewer window adjustments and packets on fast links.
WINDOW_SIZE = 16 * 1024 * 1024
MAX_PACKET = 256 * 1024


class Session:
    """One authenticated transport, the resolved base folder, idle channels, temps in flight."""

    def __init__(self, transport: paramiko.Transport, base: str, extensions: dict[str, bytes]) -> None:
        self.transport = transport
        self.base = base
        self.extensions = extensions
        self.idle: list[_wire.Client] = []
        self.temps: set[str] = set()
        self.pid = os.getpid()

    def alive(self) -> bool:
        return bool(self.transport.active) and self.pid == os.getpid()

    def close(self) -> None:
        idle, self.idle = self.idle, []
        for client in idle:
            with contextlib.suppress(Exception):
                client.close()
        with contextlib.suppress(Exception):
            self.transport.close()


#: Sessions inherited across fork: kept referenced (never closed, never collected) in the child,
#: because closing or collecting them would write to the parent's socket.
_FORK_GRAVEYARD: list[Any] = []
_POOLS: weakref.WeakSet[Pool] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for pool in list(_POOLS):
        pool.reset_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def open_channel(t: paramiko.Transport, timeout: float | None, connect_timeout: float) -> _wire.Client:
    """Open an SFTP subsystem channel on ``t`` (request timeout ``timeout`` seconds)."""
    chan = t.open_session(window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET, timeout=connect_timeout)
    try:
        chan.invoke_subsystem("sftp")
        chan.settimeout(timeout)
        return _wire.open_client(chan)
    except BaseException:
        chan.close()
        raise


class Pool:
    """The lazily opened `Session` and up to ``max_channels`` channels over it.

    Args:
        connect: Opens a new `Session` holding one idle channel.
        host: Shown in log messages.
        max_channels: Channels out at once.
        operation_timeout: Seconds a request may wait for its reply, and a checkout for a free
            channel (None: forever).
        connect_timeout: Seconds to open a channel.
        policy: How often and how long `run` retries (default: the shared defaults).
    """

    def __init__(
        self,
        connect: Callable[[], Session],
        *,
        host: str,
        max_channels: int,
        operation_timeout: float | None,
        connect_timeout: float,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._connect = connect
        self.policy = policy if policy is not None else RetryPolicy()
        self._host = host
        self.max_channels = max_channels
        self.operation_timeout = operation_timeout
        self.connect_timeout = connect_timeout
        self._init_runtime()
        _POOLS.add(self)

    def _init_runtime(self) -> None:
        self.lock = threading.Lock()
        self._free = threading.Condition(self.lock)
        self._busy = 0
        self._waiting = 0
        self.session: Session | None = None
        #: temp paths registered by writes whose connection died (removed by the next connection)
        self.orphans: set[str] = set()

    def reset_after_fork(self) -> None:
        if self.session is not None:
            _FORK_GRAVEYARD.append(self.session)
        self._init_runtime()

    # ------------------------------------------------------------------ sessions
    def live(self) -> Session:
        """The current session, connecting (and removing orphaned temps) if it is missing or dead."""
        s = self.session
        if s is not None and s.alive():
            return s
        with self.lock:
            s = self.session
            if s is not None and s.pid != os.getpid():
                _FORK_GRAVEYARD.append(s)
                self.session = s = None
            if s is not None and not s.transport.is_active():
                log.info("SFTP connection to %s died; reconnecting", self._host)
                self._forget(s)
                s.close()
                s = None
            if s is None:
                s = self._connect()
                self._sweep_orphans(s)
                self.session = s
            return s

    def _forget(self, session: Session) -> None:
        """Drop ``session`` (lock held); its registered temps become orphans."""
        if self.session is session:
            self.session = None
        self.orphans |= session.temps
        session.temps = set()

    def _sweep_orphans(self, s: Session) -> None:
        """Remove temp files of writes that died with an earlier connection (lock held)."""
        if not self.orphans or not s.idle:
            return
        paths = sorted(self.orphans)
        try:
            replies = _wire.pipelined(s.idle[0], [("remove", p) for p in paths])
        except Exception as exc:  # the new connection failed too: keep them for the next one
            log.debug("could not remove orphaned temp files: %s", type(exc).__name__)
            return
        self.orphans.clear()
        removed = sum(1 for r in replies if r is None)
        if removed:
            log.info("removed %d temp file(s) left by writes on a lost SFTP connection", removed)

    def drop(self, session: Session) -> None:
        """Forget ``session`` (its connection died) and close it."""
        with self.lock:
            self._forget(session)
        if session.pid == os.getpid():
            session.close()

    def close(self) -> None:
        with self.lock:
            session, self.session = self.session, None
            if session is not None:
                self.orphans |= session.temps
        if session is not None and session.pid == os.getpid():
            session.close()

    # ------------------------------------------------------------------ channels
    def checkout(self) -> tuple[Session, _wire.Client]:
        """Take an idle channel, or open one while fewer than ``max_channels`` are out; else wait.

        A channel that cannot be opened because the connection died drops the session (the
        caller's retry runs on a new connection).

        Raises:
            BackendUnavailable: No channel became free within ``operation_timeout``.
        """
        timeout = self.operation_timeout
        session = self.live()
        with self.lock:
            deadline: float | None = None
            while True:
                idle = session.idle
                while idle:
                    client = idle.pop()
                    if not client.sock.closed:
                        self._busy += 1
                        return session, client
                if self._busy < self.max_channels:
                    self._busy += 1
                    break
                self._waiting += 1
                try:
                    if timeout is not None:
                        now = time.monotonic()
                        deadline = deadline or now + timeout
                        if now >= deadline or not self._free.wait(deadline - now):
                            raise BackendUnavailable(
                                f"no free SFTP channel after {timeout}s (max_channels={self.max_channels})"
                            )
                    else:
                        self._free.wait()
                finally:
                    self._waiting -= 1
        try:
            return session, open_channel(session.transport, self.operation_timeout, self.connect_timeout)
        except BaseException as exc:
            with self.lock:
                self._busy -= 1
                self._free.notify()
            if _errors.is_connection_error(exc):
                self.drop(session)
            raise

    def release(self, session: Session, client: _wire.Client, *, discard: bool = False) -> None:
        """Return a channel (closing it instead when ``discard`` or its session is gone)."""
        keep = not discard and session is self.session and session.transport.active and not client.sock.closed
        with self.lock:
            self._busy -= 1
            if keep:
                session.idle.append(client)
            if self._waiting:
                self._free.notify()
        if not keep and session.pid == os.getpid():
            with contextlib.suppress(Exception):
                client.close()

    def run(
        self,
        fn: Callable[[_wire.Client, Session], T],
        *,
        idempotent: bool = True,
        may_retry: Callable[[], bool] | None = None,
    ) -> T:
        """Run ``fn(client, session)`` on a pooled channel, retried by `policy` on a new connection.

        Args:
            fn: The call; it may run more than once when ``idempotent``.
            idempotent: False: never run ``fn`` a second time (the first failure is raised).
            may_retry: Asked after a failure whether running ``fn`` again is still safe (a
                write whose source stream cannot be rewound says no).

        Raises:
            Exception: The last failure once the policy gives up (the backend maps it).
        """

        def attempt() -> T:
            session, client = self.checkout()
            try:
                result = fn(client, session)
            except BaseException as exc:
                dead = connection_lost(exc, session)
                clean = not _errors.is_connection_error(exc) and isinstance(
                    exc, (RemoteStoreError, OSError, paramiko.SFTPError)
                )
                self.release(session, client, discard=not clean)
                if dead:
                    self.drop(session)
                raise
            self.release(session, client)
            return result

        def classify(exc: BaseException) -> str | None:
            if may_retry is not None and not may_retry():
                return None
            return _retry.classify(exc)

        return self.policy.call(attempt, classify=classify, idempotent=idempotent, on_retry=self.on_retry)

    def on_retry(self, number: int, exc: BaseException) -> None:
        """Before retry ``number``: a timed-out connection is suspect too — drop it, connect anew."""
        log.info("SFTP call failed (%s); retry %d on a new connection", type(exc).__name__, number)
        session = self.session
        if session is not None and isinstance(exc, (socket.timeout, TimeoutError)):
            self.drop(session)


def connection_lost(exc: BaseException, session: Session) -> bool:
    """Whether the whole SSH connection is gone (drop it; a safe call may retry on a new one).

    A request timeout only discards its channel: the transport may be fine and the server slow.
    """
    if not session.transport.is_active():
        return True
    return _errors.is_connection_error(exc) and not isinstance(exc, (socket.timeout, TimeoutError))
