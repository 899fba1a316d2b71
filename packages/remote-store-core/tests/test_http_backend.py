"""HttpBackend against a real Range-capable server on 127.0.0.1 (``testing/servers/http.py``).

These tests cover what the conformance suite cannot: Range behaviour and laziness measured
in bytes served, ``If-Range`` change detection, servers that ignore ``Range``, status-code
mapping, credentials in headers, keep-alive, and the two transports.
"""

from __future__ import annotations

import io
import os
import pickle
import socket
import time
from collections.abc import Iterator

import pytest

import remote_store
from remote_store import Capability, Secret, Store
from remote_store.backends import HttpBackend
from remote_store.errors import (
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)
from testing.servers.http import HttpSite

TRANSPORTS = ["stdlib", "requests"]


def _served(site: HttpSite, key: str) -> int:
    """Body bytes served for ``key`` once the server thread has finished counting."""
    last = -1
    for _ in range(50):
        now = site.server.bytes_served(site.url_path(key))
        if now == last:
            return now
        last = now
        time.sleep(0.02)
    return last


def _blob(size: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(size))


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(http_site: HttpSite, transport: str) -> Iterator[object]:
    made: list[HttpBackend] = []

    def make(**options: object) -> Store:
        options = {"retry_backoff": 0, **options}  # retried 5xx answers stay fast
        backend = HttpBackend(http_site.url, use_requests=transport == "requests", **options)  # type: ignore[arg-type]
        made.append(backend)
        return Store(backend)

    yield make
    for b in made:
        b.close()


@pytest.fixture
def store(make_store: object) -> Store:
    return make_store()  # type: ignore[operator,no-any-return]


# ---------------------------------------------------------------------- reads and metadata
def test_read_bytes_text_and_stream(http_site: HttpSite, store: Store) -> None:
    data = _blob(300_000)
    http_site.write("dir/blob.bin", data)
    http_site.write("hello.txt", "héllo".encode())
    assert store.read_bytes("dir/blob.bin") == data
    assert store.read_text("hello.txt") == "héllo"
    with store.read("dir/blob.bin") as f:
        assert f.read(10) == data[:10]
        assert f.read() == data[10:]


def test_stat_from_head(http_site: HttpSite, store: Store) -> None:
    path = http_site.write("a/data.json", b'{"x": 1}')
    os.utime(path, (1_700_000_000, 1_700_000_000))
    info = store.get_file_info("a/data.json")
    assert info.path == "a/data.json"
    assert info.name == "data.json"
    assert info.size == 8
    assert info.content_type == "application/json"
    assert info.modified_at is not None and int(info.modified_at.timestamp()) == 1_700_000_000
    assert info.modified_at.utcoffset() is not None
    assert info.etag and '"' not in info.etag
    head = store.head("a/data.json")
    assert head.size == 8 and head.etag == info.etag
    # Metadata comes from one HEAD, no body transferred.
    reqs = http_site.server.requests_for(http_site.url_path("a/data.json"))
    assert {r.method for r in reqs} == {"HEAD"}
    assert sum(r.body_bytes for r in reqs) == 0


def test_exists_is_file_is_folder(http_site: HttpSite, store: Store) -> None:
    http_site.write("folder/inner/f.txt", b"x")
    assert store.exists("folder/inner/f.txt")
    assert store.is_file("folder/inner/f.txt")
    assert not store.exists("folder/missing.txt")
    assert not store.is_file("nope")
    # A folder is not a file; the server redirects "folder" to "folder/".
    assert not store.exists("folder")
    assert not store.is_file("folder/inner")
    assert store.is_folder("folder")
    assert store.is_folder("folder/inner")
    assert store.is_folder("")
    assert not store.is_folder("missing-folder")
    assert not store.is_folder("folder/inner/f.txt")


def test_folder_is_not_a_file(http_site: HttpSite, store: Store) -> None:
    http_site.write("d/f.txt", b"x")
    with pytest.raises(InvalidPath):
        store.read("d")
    with pytest.raises(InvalidPath):
        store.read_bytes("d")
    with pytest.raises(InvalidPath):
        store.get_file_info("d")


def test_empty_file(http_site: HttpSite, store: Store) -> None:
    http_site.write("empty.bin", b"")
    assert store.read_bytes("empty.bin") == b""
    with store.read("empty.bin") as f:
        assert f.read() == b""
    assert store.get_file_info("empty.bin").size == 0


def test_quoted_keys_stay_below_base_url(http_site: HttpSite, store: Store) -> None:
    names = ["with space.txt", "hash#frag.txt", "q?x=1.txt", "pct%2e%2e.txt", "ünïcode.txt", "semi;colon.txt"]
    for i, name in enumerate(names):
        http_site.write(f"odd/{name}", f"content {i}".encode())
    for i, name in enumerate(names):
        assert store.read_bytes(f"odd/{name}") == f"content {i}".encode(), name
    assert store.native_path("odd/with space.txt").endswith("/odd/with%20space.txt")
    # "%2e%2e" is quoted as a literal name, never decoded into "..".
    assert not store.exists("%2e%2e/%2e%2e/etc/passwd")
    with pytest.raises(InvalidPath):
        store.read_bytes("../outside.txt")


def test_to_key_round_trip(http_site: HttpSite, store: Store) -> None:
    native = store.native_path("x/y z.txt")
    assert store.to_key(native) == "x/y z.txt"
    with pytest.raises(InvalidPath):
        store.to_key("http://elsewhere.invalid/x")


# ---------------------------------------------------------------------- Range behaviour
def test_lazy_read_fetches_only_what_is_read(http_site: HttpSite, make_store: object) -> None:
    size = 4 * 1024 * 1024
    data = _blob(size)
    http_site.write("big.bin", data)
    block = 64 * 1024
    store: Store = make_store(block_size=block)  # type: ignore[operator]
    url_path = http_site.url_path("big.bin")
    with store.read("big.bin") as f:
        assert f.read(10) == data[:10]
        assert _served(http_site, "big.bin") == block
        f.seek(3 * 1024 * 1024)
        assert f.read(100) == data[3 * 1024 * 1024 : 3 * 1024 * 1024 + 100]
        f.seek(-5, io.SEEK_END)
        assert f.read() == data[-5:]
        assert f.tell() == size
    served = _served(http_site, "big.bin")
    assert served <= 3 * block, served
    ranges = [r.headers.get("range") for r in http_site.server.requests_for(url_path)]
    assert ranges[0] == f"bytes=0-{block - 1}"
    assert all(r is not None and r.startswith("bytes=") for r in ranges)


def test_read_seekable_is_native_and_lazy(http_site: HttpSite, make_store: object) -> None:
    data = _blob(1024 * 1024)
    http_site.write("s.bin", data)
    store: Store = make_store(block_size=4096)  # type: ignore[operator]
    assert store.supports(Capability.SEEKABLE_READ) and store.supports(Capability.LAZY_READ)
    with store.read_seekable("s.bin") as f:
        assert f.seekable()
        f.seek(500_000)
        assert f.read(3) == data[500_000:500_003]
    assert _served(http_site, "s.bin") <= 3 * 4096


def test_large_read_in_one_request(http_site: HttpSite, make_store: object) -> None:
    data = _blob(2 * 1024 * 1024 + 17)
    http_site.write("l.bin", data)
    store: Store = make_store(block_size=256 * 1024)  # type: ignore[operator]
    with store.read("l.bin") as f:
        got = f.read()
    assert got == data
    # First block at open, then the rest in one ranged GET (not one request per block).
    assert len(http_site.server.requests_for(http_site.url_path("l.bin"))) == 2


def test_if_range_detects_a_replaced_file(http_site: HttpSite, make_store: object) -> None:
    data = _blob(200_000)
    path = http_site.write("v.bin", data)
    store: Store = make_store(block_size=1024)  # type: ignore[operator]
    with store.read("v.bin") as f:
        assert f.read(1024) == data[:1024]
        path.write_bytes(_blob(200_001)[::-1])
        os.utime(path, ns=(time.time_ns() + 5_000_000_000,) * 2)
        with pytest.raises(RemoteStoreError, match="changed") as info:
            f.read(1024)
    assert info.value.path == "v.bin"
    assert info.value.backend == "http"
    reqs = http_site.server.requests_for(http_site.url_path("v.bin"))
    assert reqs[-1].headers.get("if-range", "").startswith('"')


def test_if_range_falls_back_to_last_modified_for_weak_etags(http_site: HttpSite, make_store: object) -> None:
    http_site.server.weak_etags = True
    data = _blob(10_000)
    path = http_site.write("w.bin", data)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    store: Store = make_store(block_size=1000)  # type: ignore[operator]
    with store.read("w.bin") as f:
        f.seek(5000)
        assert f.read(10) == data[5000:5010]
        path.write_bytes(data[::-1])
        os.utime(path, (1_600_000_100, 1_600_000_100))
        f.seek(8000)
        with pytest.raises(RemoteStoreError, match="changed"):
            f.read(10)
    last = http_site.server.requests_for(http_site.url_path("w.bin"))[-1]
    assert last.headers["if-range"].endswith("GMT")


def test_file_deleted_mid_read_is_not_found(http_site: HttpSite, make_store: object) -> None:
    path = http_site.write("gone.bin", _blob(10_000))
    store: Store = make_store(block_size=1000)  # type: ignore[operator]
    with store.read("gone.bin") as f:
        f.read(10)
        path.unlink()
        f.seek(5000)
        with pytest.raises(NotFound):
            f.read(10)


# ---------------------------------------------------------------------- servers without Range
def test_server_ignoring_range_falls_back_to_streaming(http_site_no_ranges: HttpSite, transport: str) -> None:
    data = _blob(500_000)
    http_site_no_ranges.write("n.bin", data)
    backend = HttpBackend(http_site_no_ranges.url, block_size=4096, use_requests=transport == "requests")
    store = Store(backend)
    assert store.supports(Capability.SEEKABLE_READ)  # assumed until the server shows otherwise
    with store.read("n.bin") as f:
        assert f.read(5) == data[:5]
        assert f.read() == data[5:]
    assert not store.supports(Capability.SEEKABLE_READ)
    assert store.supports(Capability.LAZY_READ) and store.supports(Capability.READ)
    # Later reads stream with a plain GET: no Range header at all.
    with store.read("n.bin") as f:
        assert f.read() == data
    last = http_site_no_ranges.server.requests_for(http_site_no_ranges.url_path("n.bin"))[-1]
    assert "range" not in last.headers
    # read_seekable still works (portable spooled copy).
    with store.read_seekable("n.bin") as f:
        f.seek(400_000)
        assert f.read(4) == data[400_000:400_004]
    backend.close()


def test_ranges_false_never_sends_range(http_site: HttpSite) -> None:
    data = _blob(50_000)
    http_site.write("r.bin", data)
    backend = HttpBackend(http_site.url, ranges=False)
    store = Store(backend)
    assert not store.supports(Capability.SEEKABLE_READ)
    with store.read("r.bin") as f:
        assert f.read() == data
    assert all("range" not in r.headers for r in http_site.server.requests_for(http_site.url_path("r.bin")))
    backend.close()


def test_streaming_read_closed_early_stops_download(http_site_no_ranges: HttpSite) -> None:
    data = _blob(16 * 1024 * 1024)
    http_site_no_ranges.write("huge.bin", data)
    backend = HttpBackend(http_site_no_ranges.url, ranges=False, block_size=64 * 1024)
    store = Store(backend)
    with store.read("huge.bin") as f:
        assert f.read(100) == data[:100]
    time.sleep(0.3)
    served = _served(http_site_no_ranges, "huge.bin")
    assert served < len(data) // 2, served
    backend.close()


# ---------------------------------------------------------------------- status mapping
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, NotFound),
        (410, NotFound),
        (401, PermissionDenied),
        (403, PermissionDenied),
        (500, BackendUnavailable),
        (502, BackendUnavailable),
        (503, BackendUnavailable),
        (429, BackendUnavailable),
    ],
)
def test_status_mapping_for_reads_and_metadata(
    http_site: HttpSite, store: Store, status: int, error: type[RemoteStoreError]
) -> None:
    http_site.write("s.txt", b"data")
    http_site.server.force_status(http_site.url_path("s.txt"), status)
    for call in (store.read_bytes, store.read, store.get_file_info):
        with pytest.raises(error) as info:
            call("s.txt")
        assert info.value.path == "s.txt"
        assert info.value.backend == "http"
        assert str(status) in str(info.value)
    if error is NotFound:
        assert not store.exists("s.txt")
    else:
        with pytest.raises(error):
            store.exists("s.txt")


def test_missing_file_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as info:
        store.read_bytes("nope/missing.txt")
    assert info.value.path == "nope/missing.txt"
    with pytest.raises(NotFound):
        store.get_file_info("nope/missing.txt")


def test_child_store_paths_are_relative(http_site: HttpSite, store: Store) -> None:
    http_site.write("sub/dir/x.txt", b"x")
    child = store.child("sub")
    assert child.get_file_info("dir/x.txt").path == "dir/x.txt"
    with pytest.raises(NotFound) as info:
        child.read_bytes("dir/missing.txt")
    assert info.value.path == "dir/missing.txt"


def test_connection_refused_is_backend_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = Store(HttpBackend(f"http://127.0.0.1:{port}/", retry_backoff=0))
    with pytest.raises(BackendUnavailable):
        store.ping()
    with pytest.raises(BackendUnavailable):
        store.read_bytes("a.txt")
    with pytest.raises(BackendUnavailable):
        store.exists("a.txt")


def test_timeout_is_backend_unavailable() -> None:
    # A listening socket that never answers: connect succeeds, the response never comes.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(5)
        port = s.getsockname()[1]
        store = Store(HttpBackend(f"http://127.0.0.1:{port}/", timeout=0.3, retry_backoff=0))
        start = time.monotonic()
        with pytest.raises(BackendUnavailable):
            store.get_file_info("a.txt")
        assert time.monotonic() - start < 5


def test_ping(http_site: HttpSite, store: Store) -> None:
    store.ping()  # the folder index answers 200
    http_site.server.force_status(f"/{http_site.name}/", 503)
    with pytest.raises(BackendUnavailable):
        store.ping()
    http_site.server.force_status(f"/{http_site.name}/", 403)
    with pytest.raises(PermissionDenied):
        store.ping()


# ---------------------------------------------------------------------- read-only: gates
def test_write_list_and_friends_are_refused_before_io(http_site: HttpSite, store: Store) -> None:
    http_site.write("a.txt", b"a")
    before = len(http_site.server.requests)
    refused = [
        ("WRITE", lambda: store.write("b.txt", b"b")),
        ("DELETE", lambda: store.delete("a.txt")),
        ("LIST", lambda: list(store.list_files(""))),
        ("LIST", lambda: list(store.list_folders(""))),
        ("LIST", lambda: list(store.iter_children(""))),
        ("GLOB", lambda: list(store.glob("*.txt"))),
        ("MOVE", lambda: store.move("a.txt", "c.txt")),
        ("COPY", lambda: store.copy("a.txt", "c.txt")),
        ("ATOMIC_WRITE", lambda: store.write_atomic("b.txt", b"b")),
    ]
    for capability, call in refused:
        with pytest.raises(CapabilityNotSupported) as info:
            call()
        assert info.value.capability == capability
    assert len(http_site.server.requests) == before
    assert store.read_bytes("a.txt") == b"a"


def test_backend_listing_methods_raise_capability_not_supported(http_site: HttpSite) -> None:
    backend = HttpBackend(http_site.url)
    with pytest.raises(CapabilityNotSupported):
        list(backend.iter_files("", recursive=True))
    with pytest.raises(CapabilityNotSupported):
        list(backend.iter_folders(""))


# ---------------------------------------------------------------------- credentials
TOKEN = "Bearer s3cr3t-t0ken-value"


def test_authorization_header_is_sent_and_never_shown(http_site: HttpSite, transport: str) -> None:
    http_site.write("private.txt", b"private")
    http_site.server.required_headers["Authorization"] = TOKEN
    anonymous = Store(HttpBackend(http_site.url, use_requests=transport == "requests"))
    with pytest.raises(PermissionDenied) as denied:
        anonymous.read_bytes("private.txt")
    assert "401" in str(denied.value)

    backend = HttpBackend(
        http_site.url, headers={"Authorization": TOKEN, "X-Trace": "t-1"}, use_requests=transport == "requests"
    )
    store = Store(backend)
    assert store.read_bytes("private.txt") == b"private"
    sent = http_site.server.requests_for(http_site.url_path("private.txt"))[-1]
    assert sent.headers["authorization"] == TOKEN
    assert sent.headers["x-trace"] == "t-1"
    assert isinstance(backend.options["headers"]["Authorization"], Secret)
    assert backend.options["headers"]["X-Trace"] == "t-1"
    for text in (repr(backend), repr(store), str(store.resolve("private.txt")), repr(store.resolve("x").options)):
        assert "s3cr3t" not in text, text
    http_site.server.force_status(http_site.url_path("private.txt"), 500)
    with pytest.raises(BackendUnavailable) as err:
        store.read_bytes("private.txt")
    assert "s3cr3t" not in str(err.value) and "s3cr3t" not in repr(err.value)
    # Pickling keeps the credential (as a Secret) so worker processes can read.
    clone = pickle.loads(pickle.dumps(store))
    http_site.server.clear_forced()
    assert clone.read_bytes("private.txt") == b"private"
    assert "s3cr3t" not in repr(clone)
    backend.close()


def test_userinfo_in_base_url_becomes_basic_auth(http_site: HttpSite) -> None:
    http_site.write("b.txt", b"basic")
    http_site.server.required_headers["Authorization"] = "Basic dXNlcjpwQHNz"  # user:p@ss
    url = http_site.url.replace("http://", "http://user:p%40ss@")
    backend = HttpBackend(url)
    assert "p%40ss" not in backend.base_url and "user" not in backend.base_url
    assert Store(backend).read_bytes("b.txt") == b"basic"
    assert "p%40ss" not in repr(backend) and "dXNlcjpwQHNz" not in repr(backend)
    backend.close()


# ---------------------------------------------------------------------- transport details
def test_keep_alive_reuses_connections(http_site: HttpSite) -> None:
    for i in range(5):
        http_site.write(f"k{i}.txt", b"k")
    backend = HttpBackend(http_site.url)
    store = Store(backend)
    for i in range(5):
        assert store.read_bytes(f"k{i}.txt") == b"k"
        assert store.exists(f"k{i}.txt")
    ports = {r.client_port for r in http_site.server.requests if r.path.startswith(f"/{http_site.name}/k")}
    assert len(ports) == 1, ports
    backend.close()


def test_concurrent_reads_from_threads(http_site: HttpSite, store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    blobs = {f"t/{i}.bin": _blob(10_000 + i) for i in range(16)}
    for key, data in blobs.items():
        http_site.write(key, data)

    def check(key: str) -> bool:
        with store.read(key) as f:
            f.seek(100)
            return f.read() == blobs[key][100:] and store.read_bytes(key) == blobs[key]

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(check, blobs))


def test_open_url_and_registry(http_site: HttpSite) -> None:
    http_site.write("u/x.txt", b"via url")
    store = remote_store.open_store(http_site.url)
    assert store.backend.type_name == "http"
    assert store.read_bytes("u/x.txt") == b"via url"
    store.close()
    cfg = remote_store.RegistryConfig.from_dict(
        {
            "backends": {"web": {"type": "http", "options": {"base_url": http_site.url, "timeout": 5}}},
            "stores": {"site": {"backend": "web", "root": "u"}},
        }
    )
    with remote_store.Registry(cfg) as registry:
        assert registry.get_store("site").read_bytes("x.txt") == b"via url"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_url": "ftp://host/x"}, "http"),
        ({"base_url": "not a url"}, "http"),
        ({"base_url": "http://h/", "block_size": 0}, "block_size"),
        ({"base_url": "http://h/", "timeout": 0}, "timeout"),
    ],
)
def test_bad_options_are_config_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        HttpBackend(**kwargs)  # type: ignore[arg-type]


def test_capabilities_are_read_only() -> None:
    caps = HttpBackend("http://127.0.0.1:1/").capabilities
    assert set(caps) == {Capability.READ, Capability.METADATA, Capability.LAZY_READ, Capability.SEEKABLE_READ}


def test_redirects_are_followed_and_credentials_stay_on_their_origin(
    http_site: HttpSite, http_site_no_ranges: HttpSite, transport: str
) -> None:
    other = http_site_no_ranges  # another port: another origin
    other.write("moved.txt", b"moved here")
    http_site.write("same.txt", b"same origin")
    http_site.server.redirect(http_site.url_path("old.txt"), other.url + "moved.txt", 301)
    http_site.server.redirect(http_site.url_path("here.txt"), f"/{http_site.name}/same.txt", 307)
    backend = HttpBackend(http_site.url, headers={"Authorization": TOKEN}, use_requests=transport == "requests")
    store = Store(backend)
    assert store.read_bytes("here.txt") == b"same origin"
    assert http_site.server.requests_for(http_site.url_path("same.txt"))[-1].headers["authorization"] == TOKEN
    assert store.read_bytes("old.txt") == b"moved here"
    assert store.get_file_info("old.txt").size == 10
    seen = other.server.requests_for(other.url_path("moved.txt"))
    assert seen and all("authorization" not in r.headers for r in seen)
    backend.close()


def test_redirect_loop_is_an_error(http_site: HttpSite, store: Store) -> None:
    http_site.server.redirect(http_site.url_path("loop.txt"), f"/{http_site.name}/loop.txt")
    with pytest.raises(RemoteStoreError, match="redirect"):
        store.read_bytes("loop.txt")


def test_metadata_without_head(http_site: HttpSite, store: Store) -> None:
    http_site.server.head_allowed = False
    http_site.write("g.bin", _blob(12345))
    http_site.write("empty.bin", b"")
    info = store.get_file_info("g.bin")
    assert info.size == 12345 and info.etag
    assert store.get_file_info("empty.bin").size == 0
    assert store.exists("g.bin") and not store.exists("missing.bin")
    reqs = http_site.server.requests_for(http_site.url_path("g.bin"))
    assert [r.method for r in reqs[:2]] == ["HEAD", "GET"]
    assert reqs[1].headers["range"] == "bytes=0-0" and reqs[1].body_bytes == 1
