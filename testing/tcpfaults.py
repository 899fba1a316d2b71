"""A raw TCP fault-injecting proxy on 127.0.0.1, for tests of connection loss and stalls.

`FaultProxy` sits between a client and one server (sshd, PostgreSQL, MariaDB …) and forwards
bytes both ways without looking at them. On demand it breaks the link the way networks do:

- `FaultProxy.reset_all` — reset (TCP RST) every open connection;
- `FaultProxy.reset_new` — reset the next ``n`` new connections right after accepting them;
- `FaultProxy.refuse` — reset every new connection until turned off;
- `FaultProxy.cut_after` — forward exactly ``n`` more bytes in one direction of an open
  connection, then forward nothing more and reset it ``hold`` seconds later (a request that
  reaches the server whose answer never comes back);
- `FaultProxy.lose_answers` — from now on, drop every byte the server sends on the open
  connections and reset them ``hold`` seconds later (the request is delivered, the answer lost);
- `FaultProxy.stall` — forward nothing for ``seconds`` (sockets stay open; new connections
  are accepted and starved too), then resume.

Every fault is logged (`FaultProxy.log`, `FaultProxy.counts`). One thread runs the whole
proxy with ``select``; the public methods hand their work to it and return once it is done,
so a reset has happened when `reset_all` returns.

`FaultTally` counts faults injected and survived per backend and prints one summary line.

Example::

    with FaultProxy(("127.0.0.1", sshd_port)) as proxy:
        backend = SFTPBackend("127.0.0.1", proxy.port, ...)
        backend.write("a", io.BytesIO(b"x"), overwrite=True, metadata={})
        proxy.reset_all()
        assert backend.exists("a")  # reconnects
"""

from __future__ import annotations

import collections
import contextlib
import queue
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FaultEvent", "FaultProxy", "FaultTally"]

_CHUNK = 65536
#: Bytes buffered towards one side before the proxy stops reading from the other.
_HIGH_WATER = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """One fault the proxy injected.

    Attributes:
        at: ``time.monotonic()`` when it happened.
        kind: ``"reset"``, ``"reset_new"``, ``"refuse"``, ``"cut"``, ``"lose_answers"``, ``"stall"``.
        link: Connection number (1 = the first accepted), 0 for proxy-wide faults.
        detail: Human-readable details (bytes forwarded, seconds).
    """

    at: float
    kind: str
    link: int
    detail: str = ""


def _rst(sock: socket.socket) -> None:
    """Close ``sock`` with an RST instead of a FIN (SO_LINGER 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


@dataclass(eq=False)
class _Link:
    number: int
    client: socket.socket
    server: socket.socket
    #: bytes waiting to be sent to the server / to the client
    to_server: bytearray = field(default_factory=bytearray)
    to_client: bytearray = field(default_factory=bytearray)
    up: int = 0  # bytes forwarded client -> server
    down: int = 0  # bytes forwarded server -> client
    #: ("up"|"down", bytes still to forward before the cut, hold seconds)
    cut: tuple[str, int, float] | None = None
    #: monotonic time at which a cut or lost-answer link is reset; set once it stops forwarding
    doomed_at: float | None = None
    drop_up: bool = False  # forward nothing more to the server
    drop_down: bool = False  # forward nothing more to the client
    eof_client: bool = False
    eof_server: bool = False

    def sockets(self) -> tuple[socket.socket, socket.socket]:
        return self.client, self.server


class FaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream`` and injects faults on demand.

    Args:
        upstream: ``(host, port)`` of the real server.
        name: Shown in the log and in `FaultTally` lines.

    Attributes:
        port: The proxy's listening port on 127.0.0.1.
        log: Every injected fault, in order (`FaultEvent`).
    """

    def __init__(self, upstream: tuple[str, int], name: str = "") -> None:
        self.upstream = upstream
        self.name = name or f"{upstream[0]}:{upstream[1]}"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self.log: list[FaultEvent] = []
        self._links: list[_Link] = []
        self._accepted = 0
        self._refusing = False
        self._reset_next = 0
        self._next_cut: tuple[str, int, float] | None = None
        self._stalled_until = 0.0
        self._commands: queue.SimpleQueue[tuple[Callable[[], Any], threading.Event, list[Any]]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name=f"fault-proxy-{self.port}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public API
    @property
    def address(self) -> tuple[str, int]:
        """``("127.0.0.1", port)``."""
        return ("127.0.0.1", self.port)

    @property
    def counts(self) -> collections.Counter[str]:
        """Injected faults by kind."""
        return collections.Counter(e.kind for e in self.log)

    @property
    def open_connections(self) -> int:
        """Connections currently forwarded."""
        return self._call(lambda: len(self._links))  # type: ignore[no-any-return]

    @property
    def accepted(self) -> int:
        """Connections accepted so far (reset or not)."""
        return self._accepted

    def bytes_up(self) -> int:
        """Bytes forwarded client → server on the open connections, summed."""
        return self._call(lambda: sum(link.up for link in self._links))  # type: ignore[no-any-return]

    def bytes_down(self) -> int:
        """Bytes forwarded server → client on the open connections, summed."""
        return self._call(lambda: sum(link.down for link in self._links))  # type: ignore[no-any-return]

    def reset_all(self) -> int:
        """Reset every open connection (RST to both ends); return how many were reset."""

        def do() -> int:
            links = list(self._links)
            for link in links:
                self._kill(link, "reset", f"after {link.up} B up / {link.down} B down")
            return len(links)

        return self._call(do)  # type: ignore[no-any-return]

    def reset_new(self, count: int = 1) -> None:
        """Reset the next ``count`` new connections right after accepting them."""

        def do() -> None:
            self._reset_next += count

        self._call(do)

    def refuse(self, on: bool = True) -> None:
        """Reset every new connection right after accepting it (``on``), or stop doing so."""

        def do() -> None:
            self._refusing = on

        self._call(do)

    def cut_after(self, nbytes: int, direction: str = "up", *, hold: float = 0.0, scope: str = "open") -> None:
        """Forward exactly ``nbytes`` more bytes in ``direction``, then nothing more; reset after ``hold`` s.

        Args:
            nbytes: Bytes still forwarded in ``direction`` (counted from now on each open
                connection, or from the first byte of the next new one).
            direction: ``"up"`` (client → server) or ``"down"`` (server → client).
            hold: Seconds between the cut (no byte forwarded either way) and the reset.
            scope: ``"open"`` — every open connection (the first to reach it is cut, the
                others are disarmed); ``"next"`` — the next new connection.
        """
        if direction not in ("up", "down") or scope not in ("open", "next") or nbytes < 0:
            raise ValueError("cut_after(nbytes >= 0, direction 'up'|'down', scope 'open'|'next')")

        def do() -> None:
            if scope == "next":
                self._next_cut = (direction, nbytes, hold)
                return
            for link in self._links:
                link.cut = (direction, nbytes, hold)
                self._check_cut(link)

        self._call(do)

    def lose_answers(self, hold: float = 0.3) -> int:
        """Drop everything the server sends on the open connections from now; reset them after ``hold`` s.

        What the client sends is still delivered, so the server acts on a request whose
        answer the client never sees. Returns how many connections were affected.
        """

        def do() -> int:
            now = time.monotonic()
            for link in self._links:
                link.drop_down = True
                link.to_client.clear()
                link.doomed_at = now + hold
                self._event("lose_answers", link.number, f"after {link.up} B up / {link.down} B down")
            return len(self._links)

        return self._call(do)  # type: ignore[no-any-return]

    def stall(self, seconds: float) -> None:
        """Forward no byte on any connection for ``seconds`` (new connections are starved too)."""

        def do() -> None:
            self._stalled_until = max(self._stalled_until, time.monotonic() + seconds)
            self._event("stall", 0, f"{seconds:g} s")

        self._call(do)

    def resume(self) -> None:
        """End a stall now."""

        def do() -> None:
            self._stalled_until = 0.0

        self._call(do)

    def close(self) -> None:
        """Stop the proxy and close every socket (connections are reset)."""
        if self._closing:
            return

        def do() -> None:
            for link in list(self._links):
                self._drop(link)
            self._closing = True

        with contextlib.suppress(RuntimeError):
            self._call(do)
        self._thread.join(timeout=5)
        for s in (self._listener, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                s.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ loop thread
    def _call(self, fn: Callable[[], Any]) -> Any:
        if self._closing or not self._thread.is_alive():
            raise RuntimeError("the fault proxy is closed")
        done = threading.Event()
        out: list[Any] = []
        self._commands.put((fn, done, out))
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if not done.wait(10):
            raise RuntimeError("the fault proxy loop did not answer")
        if out and isinstance(out[0], BaseException):
            raise out[0]
        return out[0] if out else None

    def _event(self, kind: str, link: int, detail: str = "") -> None:
        self.log.append(FaultEvent(time.monotonic(), kind, link, detail))

    def _drop(self, link: _Link) -> None:
        for s in link.sockets():
            _rst(s)
        with contextlib.suppress(ValueError):
            self._links.remove(link)

    def _kill(self, link: _Link, kind: str, detail: str) -> None:
        self._event(kind, link.number, detail)
        self._drop(link)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        self._accepted += 1
        number = self._accepted
        if self._refusing:
            self._event("refuse", number)
            _rst(client)
            return
        if self._reset_next > 0:
            self._reset_next -= 1
            self._event("reset_new", number)
            _rst(client)
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _rst(client)
            return
        for s in (client, server):
            s.setblocking(False)
            with contextlib.suppress(OSError):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(number, client, server)
        if self._next_cut is not None:
            link.cut, self._next_cut = self._next_cut, None
        self._links.append(link)

    def _check_cut(self, link: _Link) -> None:
        if link.cut is not None and link.cut[1] == 0 and link.doomed_at is None:
            direction, _, hold = link.cut
            link.drop_up = link.drop_down = True  # bytes already queued are still delivered
            link.doomed_at = time.monotonic() + hold
            self._event("cut", link.number, f"{direction} after {link.up} B up / {link.down} B down")
            for other in self._links:  # one cut per arming
                if other is not link and other.cut == link.cut:
                    other.cut = None

    def _forward(self, link: _Link, data: bytes, direction: str) -> None:
        """Queue ``data`` read from one side for the other, honouring drops and an armed cut."""
        if (direction == "up" and link.drop_up) or (direction == "down" and link.drop_down):
            return
        if link.cut is not None and link.cut[0] == direction:
            remaining = link.cut[1]
            data = data[:remaining]
            link.cut = (direction, remaining - len(data), link.cut[2])
        if direction == "up":
            link.to_server += data
            link.up += len(data)
        else:
            link.to_client += data
            link.down += len(data)
        self._check_cut(link)

    def _pump_read(self, link: _Link, sock: socket.socket) -> None:
        direction = "up" if sock is link.client else "down"
        try:
            data = sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            if direction == "up":
                link.eof_client = True
            else:
                link.eof_server = True
            return
        self._forward(link, data, direction)

    def _pump_write(self, link: _Link, sock: socket.socket) -> None:
        buf = link.to_server if sock is link.server else link.to_client
        try:
            sent = sock.send(buf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(link)
            return
        del buf[:sent]

    def _loop(self) -> None:
        while not self._closing:
            now = time.monotonic()
            stalled = now < self._stalled_until
            for link in list(self._links):
                if link.doomed_at is not None and now >= link.doomed_at:
                    self._drop(link)
                elif (link.eof_client and not link.to_server) or (link.eof_server and not link.to_client):
                    # one side closed and everything it sent is delivered: close both (FIN)
                    for s in link.sockets():
                        with contextlib.suppress(OSError):
                            s.close()
                    self._links.remove(link)
            readers: list[Any] = [self._wake_r, self._listener]
            writers: list[socket.socket] = []
            owner: dict[socket.socket, _Link] = {}
            for link in self._links:
                owner[link.client] = owner[link.server] = link
                if stalled:
                    continue
                if not link.eof_client and len(link.to_server) < _HIGH_WATER:
                    readers.append(link.client)
                if not link.eof_server and len(link.to_client) < _HIGH_WATER:
                    readers.append(link.server)
                if link.to_server:
                    writers.append(link.server)
                if link.to_client:
                    writers.append(link.client)
            try:
                readable, writable, _ = select.select(readers, writers, [], 0.02)
            except (OSError, ValueError):  # a socket closed under us: rebuild the sets
                self._links = [lk for lk in self._links if lk.client.fileno() >= 0 and lk.server.fileno() >= 0]
                continue
            for sock in readable:
                if sock is self._wake_r:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                elif sock is self._listener:
                    self._accept()
                else:
                    link = owner[sock]
                    if link in self._links:
                        self._pump_read(link, sock)
            for sock in writable:
                link = owner[sock]
                if link in self._links:
                    self._pump_write(link, sock)
            while True:
                try:
                    fn, done, out = self._commands.get_nowait()
                except queue.Empty:
                    break
                try:
                    out.append(fn())
                except BaseException as exc:  # handed back to the caller
                    out.append(exc)
                done.set()
        for link in list(self._links):
            self._drop(link)


@dataclass
class FaultTally:
    """Faults injected and survived per backend, printed as one summary line per backend.

    ``injected`` counts faults the proxy put on the wire while an operation ran; ``survived``
    those after which the operation still returned the right result; ``failed_typed`` those
    after which it failed with the expected typed error in bounded time (persistent faults).
    """

    injected: collections.Counter[str] = field(default_factory=collections.Counter)
    survived: collections.Counter[str] = field(default_factory=collections.Counter)
    failed_typed: collections.Counter[str] = field(default_factory=collections.Counter)

    def record(self, backend: str, faults: int, *, survived: bool) -> None:
        """Count ``faults`` injected on ``backend``; ``survived``: the call succeeded, else it failed typed."""
        self.injected[backend] += faults
        if survived:
            self.survived[backend] += faults
        else:
            self.failed_typed[backend] += faults

    def lines(self) -> list[str]:
        """One ``faults <backend>: injected N, survived S, failed typed F`` line per backend."""
        return [
            f"faults {name}: injected {self.injected[name]}, survived {self.survived[name]}, "
            f"failed typed (BackendUnavailable / outcome checked) {self.failed_typed[name]}"
            for name in sorted(self.injected)
        ]

    def print_summary(self, write: Callable[[str], Any] | None = None) -> None:
        """Write `lines` with ``write`` (default: the real stderr, past pytest's capture)."""
        out = write or (lambda text: sys.__stderr__.write(text + "\n") if sys.__stderr__ else None)
        for line in self.lines():
            out(line)
