"""Fuzz targets: for each backend kind, a store on the real test server whose root has canary
neighbours outside it, and a *native* view (the filesystem, the raw SDK client, a raw SQL
query, the HTTP server's request log) to check, without the library's help, what exists
inside the root and that nothing outside it changed.

Layout per kind (``R`` = the fuzz store's root):

- local / sftp: ``<tmp>/R`` with sibling folders ``<tmp>/canary``, ``<tmp>/R-sibling`` and
  a file ``<tmp>/Rfile``; symlinks inside ``R`` point at the canary folder and file (relative
  and absolute). The native view walks ``<tmp>``.
- s3 / azure / gcs: backend prefix ``R`` in a fresh bucket/container; canary objects under
  ``canary/``, ``R-sibling/``, ``Rx`` and ``R`` itself... (a blob named exactly like the
  prefix). The native view lists the whole bucket with the raw client.
- sqlite / postgres / mysql / memory / fsspec-memory: the store is ``Store(backend,
  root_path=R)``; canary rows/files live at other keys of the same tables/filesystem. The
  native view is a raw ``SELECT`` of the files table (SQL), the fsspec filesystem's ``find``,
  or, for memory, an unscoped store.
- http: read-only; a site folder is the root, a canary file sits next to it on the server.
  The native view is the server's request log: every request must stay inside the site.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from remote_store import Secret, Store
from remote_store.backends import HttpBackend
from testing.backends import open_backend

ROOT = "fuzzroot"
CANARY = b"canary: must never be read, changed or deleted through the fuzz store"
#: Names of symlinks planted inside local/SFTP roots (they point outside).
LINK_NAMES = ["link-dir", "link-file", "link-abs", "link-loop", "link-dangling"]


def _encodable(key: str) -> bool:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass
class Target:
    """One backend kind ready to fuzz.

    Attributes:
        kind: Backend id (``"s3"`` …).
        store: The store under test (its root is the area files may appear in).
        inside: Native listing of the files under the root, store-relative keys.
        native_has: Whether one store-relative key is natively a file under the root.
        outside: Native snapshot of everything outside the root (name → fingerprint).
        writable: False for read-only backends (http).
        exclude: Characters replaced by ``_`` in this kind's paths (an emulator limitation).
        known: Entries planted inside the root that listings may show (symlinks).
        request_paths: For http: URL paths the server received (else None).
        site_path: For http: the site's URL path prefix.
    """

    kind: str
    store: Store
    inside: Callable[[], set[str]]
    outside: Callable[[], dict[str, str]]
    native_has: Callable[[str], bool]
    writable: bool = True
    exclude: str = ""
    known: frozenset[str] = frozenset()
    request_paths: Callable[[], list[str]] | None = None
    site_path: str = ""


# ---------------------------------------------------------------- filesystem kinds
#: The sqlite target's database files share the test's tmp_path (``testing.backends``).
SQLITE_FILES = "store-"


def _plant_fs(base: Path, root: Path, owner: tuple[int, int] | None = None) -> None:
    """Create ``root`` (a folder in ``base``), canary neighbours in ``base``, and symlinks in
    ``root`` that point at them."""
    name = root.name
    made = [root, base / "canary", base / "canary" / "sub", base / f"{name}-sibling"]
    for d in made:
        d.mkdir(parents=True, exist_ok=True)
    files = [base / "canary" / "secret.txt", base / "canary" / "sub" / "x", base / f"{name}-sibling" / "x"]
    files += [base / f"{name}file", base / "secret.txt"]
    for f in files:
        f.write_bytes(CANARY)
    os.symlink("../canary", root / "link-dir")
    os.symlink("../canary/secret.txt", root / "link-file")
    os.symlink(str(base / "canary"), root / "link-abs")
    os.symlink("link-loop", root / "link-loop")
    os.symlink("../canary/missing-target", root / "link-dangling")
    if owner is not None:
        for p in [*made, *files]:
            os.chown(p, *owner)
        for link in LINK_NAMES:
            os.lchown(root / link, *owner)


def _walk(base: Path, skip: Path | None, ignore: str = "") -> dict[str, str]:
    """Native snapshot of ``base`` without ``skip``; top-level names starting with ``ignore``
    (another target's files sharing the folder) are left out."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        d = Path(dirpath)
        if skip is not None and (d == skip or skip in d.parents):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = d / name
            rel = str(p.relative_to(base))
            if (skip is not None and p == skip) or (ignore and d == base and name.startswith(ignore)):
                continue
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = digest(p.read_bytes())
            else:
                out[rel] = "dir"
    return out


def _has_fs(root: Path) -> Callable[[str], bool]:
    real_root = os.path.realpath(root)

    def has(key: str) -> bool:
        p = root.joinpath(*key.split("/"))
        if not os.path.lexists(p) or (os.path.isdir(p) and not os.path.islink(p)):
            return False
        real_parent = os.path.realpath(p.parent)
        return real_parent == real_root or real_parent.startswith(real_root + os.sep)

    return has


def _inside_fs(root: Path) -> set[str]:
    keys = set()
    for dirpath, _dirnames, filenames in os.walk(root, followlinks=False):
        for name in filenames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                keys.add(str(p.relative_to(root)))
    return keys


@contextmanager
def _local(request: pytest.FixtureRequest) -> Iterator[Target]:
    backend = open_backend("local", request)
    root = Path(backend.options["root"])
    base = root.parent  # the test's tmp_path: canary neighbours of the backend root go here
    _plant_fs(base, root)
    yield Target(
        "local",
        Store(backend),
        lambda: _inside_fs(root),
        lambda: _walk(base, root, ignore=SQLITE_FILES),
        _has_fs(root),
        known=frozenset(LINK_NAMES),
    )


@contextmanager
def _sftp(request: pytest.FixtureRequest) -> Iterator[Target]:
    import pwd

    srv = request.getfixturevalue("sftp_server_session")
    backend = open_backend("sftp", request, operation_timeout=30.0)
    base = Path(srv.local_path(backend.options["base_path"]))
    owner = None
    if srv.kind == "openssh":
        pw = pwd.getpwnam(srv.username)
        owner = (pw.pw_uid, pw.pw_gid)
    root = base / ROOT
    _plant_fs(base, root, owner)
    yield Target(
        "sftp",
        Store(backend, root_path=ROOT),
        lambda: _inside_fs(root),
        lambda: _walk(base, root),
        _has_fs(root),
        known=frozenset(LINK_NAMES),
    )


# ---------------------------------------------------------------- object stores
#: Azurite answers 500 to every listing that would contain a blob whose name has a character
#: XML 1.0 cannot carry (C0 controls but tab/CR/LF, U+FFFE/U+FFFF); the service itself returns
#: such names percent-encoded (``Encoded="true"``). Writes and reads of them work, so the fuzz
#: keeps them out of Azure paths only to keep the emulator listable.
AZURITE_UNLISTABLE = "".join(chr(c) for c in range(0x20) if c not in (9, 10, 13)) + "\ufffe\uffff"

_OBJECT_CANARIES = ["canary/secret.txt", f"{ROOT}-sibling/x", f"{ROOT}x", ROOT, f"{ROOT}.", "secret.txt"]


def _split(listing: dict[str, str]) -> tuple[set[str], dict[str, str]]:
    inside = {k[len(ROOT) + 1 :] for k in listing if k.startswith(ROOT + "/")}
    outside = {k: v for k, v in listing.items() if not k.startswith(ROOT + "/")}
    return inside, outside


@contextmanager
def _s3(request: pytest.FixtureRequest) -> Iterator[Target]:
    server = request.getfixturevalue("s3_server")
    backend = open_backend("s3", request, prefix=ROOT)
    bucket = backend.options["bucket"]
    client = server.client()
    for key in _OBJECT_CANARIES:
        client.put_object(Bucket=bucket, Key=key, Body=CANARY)

    def listing() -> dict[str, str]:
        out = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", ()):
                out[obj["Key"]] = obj["ETag"]
        return out

    def has(key: str) -> bool:
        if not _encodable(key):
            return False
        try:
            client.head_object(Bucket=bucket, Key=f"{ROOT}/{key}")
        except client.exceptions.ClientError:
            return False
        return True

    yield Target("s3", Store(backend), lambda: _split(listing())[0], lambda: _split(listing())[1], has)


@contextmanager
def _azure(request: pytest.FixtureRequest) -> Iterator[Target]:
    from azure.storage.blob import BlobServiceClient

    azurite = request.getfixturevalue("azurite")
    backend = open_backend("azure", request, prefix=ROOT, retries=1)
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    cc = service.get_container_client(backend.options["container"])
    for key in _OBJECT_CANARIES:
        cc.upload_blob(key, CANARY)

    def listing() -> dict[str, str]:
        return {b.name: str(b.etag) for b in cc.list_blobs()}

    def has(key: str) -> bool:
        if not _encodable(key):
            return False
        return bool(cc.get_blob_client(f"{ROOT}/{key}").exists())

    try:
        yield Target(
            "azure",
            Store(backend),
            lambda: _split(listing())[0],
            lambda: _split(listing())[1],
            has,
            exclude=AZURITE_UNLISTABLE,
        )
    finally:
        service.close()


@contextmanager
def _gcs(request: pytest.FixtureRequest) -> Iterator[Target]:
    server = request.getfixturevalue("gcs_server")
    backend = open_backend("gcs", request, prefix=ROOT)
    bucket_name = backend.options["bucket"]
    client = server.client()
    bucket = client.bucket(bucket_name)
    for key in _OBJECT_CANARIES:
        bucket.blob(key).upload_from_string(CANARY)

    def listing() -> dict[str, str]:
        return {b.name: f"{b.generation}:{b.md5_hash}" for b in client.list_blobs(bucket_name)}

    def has(key: str) -> bool:
        if not _encodable(key):
            return False
        return bool(bucket.blob(f"{ROOT}/{key}").exists())

    yield Target("gcs", Store(backend), lambda: _split(listing())[0], lambda: _split(listing())[1], has)


# ---------------------------------------------------------------- keyed stores
_KEY_CANARIES = ["canary/secret.txt", f"{ROOT}-sibling/x", f"{ROOT}x", f"{ROOT}.txt", "secret.txt"]


def _plant_keys(backend: Any) -> None:
    outer = Store(backend)
    for key in _KEY_CANARIES:
        outer.write(key, CANARY)


@contextmanager
def _sql(request: pytest.FixtureRequest, kind: str) -> Iterator[Target]:
    import sqlalchemy as sa

    backend = open_backend(kind, request)
    _plant_keys(backend)
    url = backend.options["url"]
    engine = sa.create_engine(url.reveal() if isinstance(url, Secret) else url, poolclass=sa.pool.NullPool)
    files = backend.tables.files

    def listing() -> dict[str, str]:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(files.c.key, files.c.etag)).all()
        return {str(k): str(e) for k, e in rows}

    def has(key: str) -> bool:
        if not _encodable(key):
            return False
        with engine.connect() as conn:
            return conn.execute(sa.select(files.c.key).where(files.c.key == f"{ROOT}/{key}")).first() is not None

    try:
        yield Target(
            kind, Store(backend, root_path=ROOT), lambda: _split(listing())[0], lambda: _split(listing())[1], has
        )
    finally:
        engine.dispose()


@contextmanager
def _memory(request: pytest.FixtureRequest) -> Iterator[Target]:
    backend = open_backend("memory", request)
    _plant_keys(backend)
    outer = Store(backend)

    def listing() -> dict[str, str]:
        return {i.path: digest(outer.read_bytes(i.path)) for i in outer.list_files("", recursive=True)}

    yield Target(
        "memory",
        Store(backend, root_path=ROOT),
        lambda: _split(listing())[0],
        lambda: _split(listing())[1],
        lambda key: outer.is_file(f"{ROOT}/{key}"),
    )


@contextmanager
def _fsspec_memory(request: pytest.FixtureRequest) -> Iterator[Target]:
    backend = open_backend("fsspec-memory", request)
    _plant_keys(backend)
    fs, area = backend.fs, backend.options["root"].rstrip("/")

    def listing() -> dict[str, str]:
        out = {}
        for path in fs.find(area):
            rel = posixpath.relpath("/" + path.lstrip("/"), "/" + area.lstrip("/"))
            out[rel] = digest(fs.cat_file(path))
        return out

    yield Target(
        "fsspec-memory",
        Store(backend, root_path=ROOT),
        lambda: _split(listing())[0],
        lambda: _split(listing())[1],
        lambda key: _encodable(key) and bool(fs.isfile(f"{area}/{ROOT}/{key}")),
    )


# ---------------------------------------------------------------- read-only
@contextmanager
def _http(request: pytest.FixtureRequest) -> Iterator[Target]:
    site = request.getfixturevalue("http_site")
    server = site.server
    canary_dir = server.root / f"canary-{uuid.uuid4().hex[:8]}"
    canary_dir.mkdir()
    (canary_dir / "secret.txt").write_bytes(CANARY)
    (server.root / f"{site.name}x").write_bytes(CANARY)
    site.write("inside.txt", b"inside")
    site.write("sub/inside.txt", b"inside")
    start = len(server.requests)
    backend = HttpBackend(site.url)

    def outside() -> dict[str, str]:
        return _walk(server.root, site.root)

    try:
        yield Target(
            "http",
            Store(backend),
            lambda: _inside_fs(site.root),
            outside,
            lambda key: False,
            writable=False,
            request_paths=lambda: [r.path for r in server.requests[start:]],
            site_path=f"/{site.name}/",
        )
    finally:
        backend.close()
        for p in sorted(canary_dir.rglob("*"), reverse=True):
            p.unlink()
        canary_dir.rmdir()
        (server.root / f"{site.name}x").unlink()


KINDS: dict[str, Callable[[pytest.FixtureRequest], Any]] = {
    "memory": _memory,
    "local": _local,
    "s3": _s3,
    "sftp": _sftp,
    "azure": _azure,
    "gcs": _gcs,
    "sqlite": lambda r: _sql(r, "sqlite"),
    "postgres": lambda r: _sql(r, "postgres"),
    "mysql": lambda r: _sql(r, "mysql"),
    "fsspec-memory": _fsspec_memory,
    "http": _http,
}


@contextmanager
def open_target(kind: str, request: pytest.FixtureRequest) -> Iterator[Target]:
    """Build the `Target` for ``kind`` on the session's test servers."""
    with ExitStack() as stack:
        yield stack.enter_context(KINDS[kind](request))
