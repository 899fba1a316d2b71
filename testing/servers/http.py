"""A threaded, Range-capable static HTTP server on 127.0.0.1 for the HTTP backend's tests.

The stdlib ``http.server`` ignores ``Range``; this handler implements what a real static
server (nginx, a CDN) does for one range: ``206 Partial Content`` with ``Content-Range``,
suffix (``bytes=-N``) and open-ended (``bytes=N-``) ranges, ``416`` for unsatisfiable ranges,
strong ``ETag``, ``Last-Modified``, ``If-Range`` (a stale validator gives the full ``200``
body) and ``HEAD``. Folders answer ``301`` to ``folder/`` and ``200`` with a small HTML index
there, like ``python -m http.server`` and nginx's autoindex.

Test hooks on `HttpTestServer`: ``ignore_ranges`` (answer ``200`` with the whole body to every
``Range`` request, like a server without range support), per-path forced status codes
(`HttpTestServer.force_status`), required request headers (``401`` without them), and counters
of requests and body bytes served per URL path (to prove lazy reads fetch only what is read).

Use `run_http_server` directly (benchmarks) or the session fixtures `http_server` and
`http_server_no_ranges`; `http_site` gives each test its own folder on the shared server.
"""

from __future__ import annotations

import contextlib
import email.utils
import html
import os
import re
import shutil
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass
class RequestRecord:
    """One request the server received.

    Attributes:
        method: ``GET`` or ``HEAD``.
        path: Unquoted URL path (``/site/a b.txt``).
        headers: Request headers (names lower-cased).
        client_port: The client's TCP port (equal ports = one kept-alive connection).
        status: Status code sent.
        body_bytes: Body bytes sent.
    """

    method: str
    path: str
    headers: dict[str, str]
    client_port: int = 0
    status: int = 0
    body_bytes: int = 0


@dataclass
class HttpTestServer:
    """A running server and its test hooks.

    Attributes:
        url: Base URL, ``http://127.0.0.1:<port>/`` (with the trailing slash).
        root: Folder whose files are served.
        ignore_ranges: When True every ``Range`` header is ignored (``200`` + full body).
        weak_etags: When True the server sends weak ``W/"..."`` ETags (which ``If-Range`` may
            not use), so clients must fall back to ``Last-Modified``.
        head_allowed: When False ``HEAD`` answers ``405`` (like URLs signed for ``GET`` only).
        required_headers: Headers a request must carry (exact value), else ``401``.
        requests: Every request received, in order.
    """

    url: str
    root: Path
    ignore_ranges: bool = False
    weak_etags: bool = False
    head_allowed: bool = True
    required_headers: dict[str, str] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    _forced: dict[str, int] = field(default_factory=dict)
    _redirects: dict[str, tuple[int, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def force_status(self, path: str, status: int) -> None:
        """Answer every request for URL path ``path`` (e.g. ``/site/a.txt``) with ``status``."""
        with self._lock:
            self._forced[path] = status

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer requests for URL path ``path`` with ``status`` and ``Location: location``."""
        with self._lock:
            self._redirects[path] = (status, location)

    def clear_forced(self) -> None:
        """Forget every `force_status` and `redirect`."""
        with self._lock:
            self._forced.clear()
            self._redirects.clear()

    def redirected(self, path: str) -> tuple[int, str] | None:
        with self._lock:
            return self._redirects.get(path)

    def forced(self, path: str) -> int | None:
        with self._lock:
            return self._forced.get(path)

    def record(self, rec: RequestRecord) -> None:
        with self._lock:
            self.requests.append(rec)

    def requests_for(self, path: str) -> list[RequestRecord]:
        """Requests whose URL path is ``path``."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def bytes_served(self, path: str) -> int:
        """Body bytes sent for URL path ``path`` so far."""
        return sum(r.body_bytes for r in self.requests_for(path))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HttpTestServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    # -------------------------------------------------------------- helpers
    def _simple(self, rec: RequestRecord, status: int, body: bytes = b"", headers: Mapping[str, str] = {}) -> None:
        rec.status = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
            rec.body_bytes = len(body)

    def _serve(self, *, head: bool) -> None:
        owner = self.server.owner
        url_path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        rec = RequestRecord(
            self.command, url_path, {k.lower(): v for k, v in self.headers.items()}, int(self.client_address[1])
        )
        owner.record(rec)
        if head and not owner.head_allowed:
            self._simple(rec, 405, b"", {"Allow": "GET"})
            return
        moved = owner.redirected(url_path)
        if moved is not None:
            self._simple(rec, moved[0], b"", {"Location": moved[1]})
            return
        forced = owner.forced(url_path)
        if forced is not None:
            self._simple(rec, forced, f"forced status {forced}\n".encode())
            return
        for name, value in owner.required_headers.items():
            if self.headers.get(name) != value:
                self._simple(rec, 401, b"unauthorized\n", {"WWW-Authenticate": 'Bearer realm="test"'})
                return
        parts = [p for p in url_path.split("/") if p]
        if any(p in ("..", ".") or "\x00" in p for p in parts):
            self._simple(rec, 400, b"bad path\n")
            return
        fs_path = owner.root.joinpath(*parts)
        # os.path.isdir, not Path.is_dir: it is False on any OSError (ENAMETOOLONG too), so an
        # over-long name ends in the quiet 404 of the open() below, like ``python -m http.server``.
        if os.path.isdir(fs_path):
            if not url_path.endswith("/"):
                self._simple(rec, 301, b"", {"Location": urllib.parse.quote(url_path) + "/"})
                return
            names = sorted(os.listdir(fs_path))
            listing = "".join(
                f'<li><a href="{html.escape(urllib.parse.quote(n))}">{html.escape(n)}</a></li>' for n in names
            )
            self._simple(
                rec, 200, f"<html><body><ul>{listing}</ul></body></html>".encode(), {"Content-Type": "text/html"}
            )
            return
        if url_path.endswith("/"):
            self._simple(rec, 404, b"not a folder\n")
            return
        try:
            f = open(fs_path, "rb")  # noqa: SIM115 - closed below
        except OSError:
            self._simple(rec, 404, b"not found\n")
            return
        with f:
            self._send_file(rec, f, head=head)

    def _send_file(self, rec: RequestRecord, f: object, *, head: bool) -> None:
        owner = self.server.owner
        assert hasattr(f, "fileno") and hasattr(f, "read") and hasattr(f, "seek")
        st = os.fstat(f.fileno())
        size = st.st_size
        tag = f'"{st.st_mtime_ns:x}-{size:x}"'
        etag = f"W/{tag}" if owner.weak_etags else tag
        last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        if rng and not owner.ignore_ranges and self._if_range_ok(tag, last_modified):
            m = _RANGE.fullmatch(rng.strip())
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:
                    start = max(size - int(m.group(2)), 0)
                if start >= size or start > end or (not m.group(1) and int(m.group(2)) == 0):
                    self._simple(rec, 416, b"", {"Content-Range": f"bytes */{size}"})
                    return
                status = 206
        rec.status = status
        self.send_response(status)
        self.send_header("Content-Type", self._content_type(rec.path))
        if not owner.ignore_ranges:
            self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        length = max(end - start + 1, 0)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if head:
            return
        f.seek(start)
        remaining = length
        while remaining > 0:
            buf = f.read(min(remaining, 1 << 16))
            if not buf:
                break
            try:
                self.wfile.write(buf)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                return
            rec.body_bytes += len(buf)
            remaining -= len(buf)

    def _if_range_ok(self, strong_tag: str, last_modified: str) -> bool:
        """Whether a ``Range`` may be honoured: no ``If-Range``, or one that still matches."""
        cond = self.headers.get("If-Range")
        if cond is None:
            return True
        cond = cond.strip()
        if cond.startswith('"'):
            # Strong comparison only: a weak ETag never matches (RFC 9110 13.1.5).
            return not self.server.owner.weak_etags and cond == strong_tag
        return cond == last_modified

    @staticmethod
    def _content_type(path: str) -> str:
        import mimetypes

        return mimetypes.guess_type(path)[0] or "application/octet-stream"


@contextlib.contextmanager
def run_http_server(
    root: str | os.PathLike[str] | None = None, *, ignore_ranges: bool = False
) -> Iterator[HttpTestServer]:
    """Serve ``root`` (a fresh temp dir when None) on a free 127.0.0.1 port until the block ends.

    Args:
        root: Folder to serve; a temp dir (removed afterwards) when None.
        ignore_ranges: Start in the mode that ignores ``Range`` headers.

    Yields:
        The running `HttpTestServer`.
    """
    tmp = None
    if root is None:
        tmp = tempfile.mkdtemp(prefix="rs-http-")
        root = tmp
    httpd = _Server(("127.0.0.1", 0), _Handler)
    port = httpd.server_address[1]
    owner = HttpTestServer(url=f"http://127.0.0.1:{port}/", root=Path(root), ignore_ranges=ignore_ranges)
    httpd.owner = owner
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield owner
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class HttpSite:
    """One test's own folder on a shared `HttpTestServer`.

    Attributes:
        server: The server.
        name: Folder name below the server root.
        url: Base URL of the folder (ends with ``/``).
        root: Local folder; files written here are served at ``url``.
    """

    server: HttpTestServer
    name: str
    url: str
    root: Path

    def url_path(self, key: str) -> str:
        """The unquoted URL path the server sees for ``key`` (for the request counters)."""
        return f"/{self.name}/{key}"

    def write(self, key: str, data: bytes) -> Path:
        """Create (or replace) the file served at ``key``; returns its local path."""
        path = self.root.joinpath(*key.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


@pytest.fixture(scope="session")
def http_server() -> Iterator[HttpTestServer]:
    """A Range-capable static HTTP server for the whole session (``.url``, ``.root``)."""
    with run_http_server() as server:
        yield server


@pytest.fixture(scope="session")
def http_server_no_ranges() -> Iterator[HttpTestServer]:
    """A static HTTP server that ignores ``Range`` (always ``200`` with the full body)."""
    with run_http_server(ignore_ranges=True) as server:
        yield server


def _site(server: HttpTestServer) -> HttpSite:
    name = f"site-{uuid.uuid4().hex[:12]}"
    root = server.root / name
    root.mkdir()
    return HttpSite(server, name, f"{server.url}{name}/", root)


@pytest.fixture
def http_site(http_server: HttpTestServer) -> Iterator[HttpSite]:
    """A fresh, empty folder of its own on `http_server`; hooks are reset afterwards."""
    site = _site(http_server)
    yield site
    http_server.clear_forced()
    http_server.required_headers.clear()
    http_server.weak_etags = False
    http_server.head_allowed = True
    shutil.rmtree(site.root, ignore_errors=True)


@pytest.fixture
def http_site_no_ranges(http_server_no_ranges: HttpTestServer) -> Iterator[HttpSite]:
    """A fresh, empty folder of its own on `http_server_no_ranges`."""
    site = _site(http_server_no_ranges)
    yield site
    http_server_no_ranges.clear_forced()
    http_server_no_ranges.required_headers.clear()
    shutil.rmtree(site.root, ignore_errors=True)
