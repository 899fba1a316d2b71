"""`StorePath`: the same operations as `pathlib.Path` give the same results on local disk;
the main operations on every store kind; config-name and URL construction; codecs."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from remote_store import Store
from remote_store.backends import LocalBackend, MemoryBackend
from remote_store.errors import AlreadyExists, DirectoryNotEmpty, InvalidPath, NotFound
from remote_store_ext.path import StorePath

FILES = {
    "a.txt": "hello\nworld\n",
    "b.csv": "x,y\n1,2\n",
    ".hidden": "h",
    "x.tar.gz": "gz",
    "noext": "n",
    "sub/c.txt": "c",
    "sub/deep/d.json": '{"d": 1}',
    "sub/deep/e.txt": "e" * 1000,
}
PROBES = ["a.txt", "sub", "sub/deep", "emptydir", "missing", "sub/missing.txt", "sub/deep/d.json", "noext"]
PATTERNS = ["*", "*.txt", "sub/*", "**/*.txt", "sub/**/*.json", "*/deep", "**", "sub/**", "?.txt", "[ab].*", "*/*/*"]


def _rel(p: Path, ref: Path) -> str:
    rel = p.relative_to(ref).as_posix()
    return "" if rel == "." else rel


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, StorePath]:
    """The same tree written through pathlib (``ref``) and through StorePath on a local store."""
    ref = tmp_path / "ref"
    ref.mkdir()
    root = StorePath(Store(LocalBackend(tmp_path / "store")))
    for name, text in FILES.items():
        (ref / name).parent.mkdir(parents=True, exist_ok=True)
        assert (ref / name).write_text(text) == (root / name).write_text(text)
    (ref / "emptydir").mkdir()
    (tmp_path / "store" / "emptydir").mkdir()
    return ref, root


def test_pure_properties_match_pathlib() -> None:
    store = Store(MemoryBackend())
    for rel in [*FILES, "sub", "sub/deep", "a.b.c", "trail.", ".a.b"]:
        sp, pp = StorePath(store, rel), PurePosixPath(rel)
        assert (sp.name, sp.stem, sp.suffix, sp.suffixes) == (pp.name, pp.stem, pp.suffix, pp.suffixes), rel
        assert sp.parent.path == ("" if str(pp.parent) == "." else str(pp.parent))
        assert [p.path for p in sp.parents] == [("" if str(p) == "." else str(p)) for p in pp.parents]
        assert sp.parts == pp.parts
        assert sp.with_name("z.q").path == str(pp.with_name("z.q"))
        assert sp.with_stem("k").path == str(pp.with_stem("k"))
        if pp.suffix or "." not in pp.name:
            assert sp.with_suffix(".bak").path == str(pp.with_suffix(".bak"))
            assert sp.with_suffix("").path == str(pp.with_suffix(""))
        assert (sp / "x" / "y.z").path == str(pp / "x" / "y.z")
    for bad in ("bak", ".", "./x"):
        with pytest.raises(ValueError):
            PurePosixPath("a.txt").with_suffix(bad)
        with pytest.raises(InvalidPath):  # also a ValueError
            StorePath(store, "a.txt").with_suffix(bad)
    assert StorePath(store, "a/b/c.txt").relative_to(StorePath(store, "a")) == "b/c.txt"
    with pytest.raises(InvalidPath):
        StorePath(store, "a/b").relative_to("x")


def test_queries_match_pathlib(pair: tuple[Path, StorePath]) -> None:
    ref, root = pair
    for rel in PROBES:
        p, s = ref / rel, root / rel
        assert (p.exists(), p.is_file(), p.is_dir()) == (s.exists(), s.is_file(), s.is_dir()), rel
    assert root.exists() and root.is_dir()
    for rel in ["", "sub", "sub/deep", "emptydir"]:
        assert sorted(_rel(c, ref) for c in (ref / rel).iterdir()) == sorted(c.path for c in (root / rel).iterdir())
    for rel, text in FILES.items():
        assert (root / rel).read_text() == (ref / rel).read_text() == text
        assert (root / rel).read_bytes() == (ref / rel).read_bytes()
        assert (root / rel).stat().st_size == (ref / rel).stat().st_size
        with (root / rel).open() as f1, (ref / rel).open() as f2:
            assert f1.readlines() == f2.readlines()
        with (root / rel).open("rb") as b1, (ref / rel).open("rb") as b2:
            assert b1.read() == b2.read()
    assert root.joinpath("sub").stat().is_dir


@pytest.mark.parametrize("pattern", PATTERNS)
def test_glob_matches_pathlib(pair: tuple[Path, StorePath], pattern: str) -> None:
    ref, root = pair
    expected = sorted(_rel(p, ref) for p in ref.glob(pattern))
    assert sorted(p.path for p in root.glob(pattern)) == expected
    sub_expected = sorted(_rel(p, ref) for p in (ref / "sub").glob(pattern))
    assert sorted(p.path for p in (root / "sub").glob(pattern)) == sub_expected


@pytest.mark.parametrize("pattern", ["*.txt", "*", "d.*", "deep"])
def test_rglob_matches_pathlib(pair: tuple[Path, StorePath], pattern: str) -> None:
    ref, root = pair
    assert sorted(p.path for p in root.rglob(pattern)) == sorted(_rel(p, ref) for p in ref.rglob(pattern))


def test_mutations_match_pathlib(pair: tuple[Path, StorePath]) -> None:
    ref, root = pair
    assert (ref / "new.bin").write_bytes(b"\x00\x01") == (root / "new.bin").write_bytes(b"\x00\x01")
    moved_p = (ref / "a.txt").rename(ref / "sub" / "moved.txt")
    moved_s = (root / "a.txt").rename("sub/moved.txt")
    assert _rel(moved_p, ref) == moved_s.path
    assert (moved_s.read_text(), (root / "a.txt").exists()) == (moved_p.read_text(), (ref / "a.txt").exists())
    # rename onto an existing file replaces it, as POSIX rename does
    (ref / "b.csv").rename(ref / "noext")
    (root / "b.csv").rename(root / "noext")
    assert (root / "noext").read_text() == (ref / "noext").read_text() == FILES["b.csv"]
    (ref / "noext").unlink()
    (root / "noext").unlink()
    assert (ref / "noext").exists() is (root / "noext").exists() is False
    with pytest.raises(FileNotFoundError):
        (ref / "noext").unlink()
    with pytest.raises(NotFound):
        (root / "noext").unlink()
    (ref / "noext").unlink(missing_ok=True)
    (root / "noext").unlink(missing_ok=True)
    with (ref / "w.txt").open("w") as f1, (root / "w.txt").open("w") as f2:
        assert f1.write("line1\nline2\n") == f2.write("line1\nline2\n")
    assert (root / "w.txt").read_text() == (ref / "w.txt").read_text()
    with (ref / "w.bin").open("wb") as b1, (root / "w.bin").open("wb") as b2:
        assert b1.write(b"abc") == b2.write(b"abc")
    assert (root / "w.bin").read_bytes() == (ref / "w.bin").read_bytes()
    assert sorted(_rel(p, ref) for p in ref.rglob("*")) == sorted(p.path for p in root.rglob("*"))


def test_errors_where_pathlib_raises(pair: tuple[Path, StorePath]) -> None:
    ref, root = pair
    with pytest.raises(FileNotFoundError):
        list((ref / "missing").iterdir())
    with pytest.raises(NotFound):
        list((root / "missing").iterdir())
    with pytest.raises(NotADirectoryError):
        list((ref / "a.txt").iterdir())
    with pytest.raises(InvalidPath):
        list((root / "a.txt").iterdir())
    with pytest.raises(FileNotFoundError):
        (ref / "missing").read_text()
    with pytest.raises(NotFound):
        (root / "missing").read_text()
    with pytest.raises(NotFound):
        (root / "missing").stat()
    with pytest.raises(InvalidPath):
        root / ".." / "escape"
    with pytest.raises(InvalidPath):
        root.open("a")
    with pytest.raises(InvalidPath):
        list(root.glob(""))


#: pathlib's exception for each typed error StorePath.mkdir / rmdir raise instead.
PATHLIB_ERROR = {
    AlreadyExists: FileExistsError,
    NotFound: FileNotFoundError,
    InvalidPath: NotADirectoryError,
    DirectoryNotEmpty: OSError,
}
# (path, mkdir keyword arguments or None for rmdir) → the typed error, or None for success; run in order.
FOLDER_CASES: list[tuple[str, dict[str, bool] | None, type[Exception] | None]] = [
    ("a.txt", {}, AlreadyExists),
    ("a.txt", {"exist_ok": True}, AlreadyExists),
    ("a.txt/x", {}, InvalidPath),
    ("a.txt/x/y", {"parents": True}, InvalidPath),
    ("missing/x", {}, NotFound),
    ("sub", {}, AlreadyExists),
    ("sub", {"exist_ok": True}, None),
    ("new", {}, None),
    ("new", {}, AlreadyExists),
    ("new/a/b", {}, NotFound),
    ("new/a/b", {"parents": True}, None),
    ("new/a/b", {"parents": True}, AlreadyExists),
    ("new/a/b", {"parents": True, "exist_ok": True}, None),
    ("new/a", None, DirectoryNotEmpty),
    ("a.txt", None, InvalidPath),
    ("zz", None, NotFound),
    ("new/a/b", None, None),
    ("new/a/b", None, NotFound),
    ("new/a", None, None),
    ("emptydir", None, None),
]


def test_mkdir_and_rmdir_match_pathlib(pair: tuple[Path, StorePath]) -> None:
    ref, root = pair
    for rel, kwargs, error in FOLDER_CASES:
        p, s = ref / rel, root / rel
        if error is None:
            p.mkdir(**kwargs) if kwargs is not None else p.rmdir()
            s.mkdir(**kwargs) if kwargs is not None else s.rmdir()
        else:
            with pytest.raises(PATHLIB_ERROR[error]):
                p.mkdir(**kwargs) if kwargs is not None else p.rmdir()
            with pytest.raises(error):
                s.mkdir(**kwargs) if kwargs is not None else s.rmdir()
        state = (p.exists(), p.is_dir(), p.is_file())
        assert state == (s.exists(), s.is_dir(), s.is_file()), (rel, kwargs)
    assert sorted(_rel(x, ref) for x in ref.rglob("*")) == sorted(x.path for x in root.rglob("*"))
    assert not [x for x in root.rglob("*") if x.name.startswith(".rs-mkdir-")]
    with pytest.raises(FileExistsError):
        ref.mkdir()
    with pytest.raises(AlreadyExists):
        root.mkdir()
    root.mkdir(exist_ok=True)
    with pytest.raises(InvalidPath):
        root.rmdir()


def test_mkdir_and_rmdir_on_every_store(store: Store) -> None:

    root = StorePath(store)
    (root / "d" / "x.txt").write_text("x")
    with pytest.raises(AlreadyExists):
        (root / "d" / "x.txt").mkdir(exist_ok=True)
    with pytest.raises(AlreadyExists):
        (root / "d").mkdir()
    with pytest.raises(DirectoryNotEmpty):
        (root / "d").rmdir()
    with pytest.raises(InvalidPath):
        (root / "d" / "x.txt").rmdir()
    with pytest.raises(NotFound):
        (root / "e" / "f").mkdir()
    (root / "e" / "f").mkdir(parents=True)
    (root / "e" / "f").mkdir(parents=True, exist_ok=True)
    keeps_empty_folders = store.backend.type_name in ("memory", "local")
    assert (root / "e" / "f").is_dir() is (root / "e" / "f").exists() is keeps_empty_folders
    assert not [p for p in root.rglob("*") if p.name.startswith(".rs-mkdir-")]
    if keeps_empty_folders:
        (root / "e" / "f").rmdir()
        (root / "e").rmdir()
    else:
        with pytest.raises(NotFound):
            (root / "e" / "f").rmdir()
    assert sorted(p.path for p in root.rglob("*")) == ["d", "d/x.txt"]
    assert (root / "d" / "x.txt").read_text() == "x"


def test_failed_open_write_keeps_the_old_file(store: Store) -> None:
    p = StorePath(store, "keep.txt")
    p.write_text("old")
    with pytest.raises(RuntimeError), p.open("w") as f:
        f.write("partial")
        raise RuntimeError("boom")
    assert p.read_text() == "old"
    with pytest.raises(RuntimeError), p.open("wb") as b:
        b.write(b"partial")
        raise RuntimeError("boom")
    assert p.read_text() == "old"


def test_main_operations_on_every_store(store: Store) -> None:
    root = StorePath(store)
    (root / "d" / "x.txt").write_text("x")
    (root / "d" / "deep" / "y.json").save({"y": 1})
    assert (root / "d").is_dir() and (root / "d" / "x.txt").is_file() and not (root / "nope").exists()
    assert sorted(c.name for c in (root / "d").iterdir()) == ["deep", "x.txt"]
    assert sorted(p.path for p in root.rglob("*.json")) == ["d/deep/y.json"]
    assert sorted(p.path for p in root.glob("d/*")) == ["d/deep", "d/x.txt"]
    assert (root / "d" / "deep" / "y.json").load() == {"y": 1}
    written = (root / "frame").save([{"a": 1}])
    assert written.path == "frame.jsonl" and written.load() == [{"a": 1}]
    moved = (root / "d" / "x.txt").rename(root / "e" / "x.txt")
    assert moved.read_text() == "x" and not (root / "d" / "x.txt").exists()
    assert moved.stat().st_size == 1
    moved.unlink()
    assert not moved.exists()
    with pytest.raises(InvalidPath):
        root.save({"a": 1})


def test_from_config_name_and_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = tmp_path / "disk"
    (disk / "r" / "2026").mkdir(parents=True)
    (disk / "r" / "2026" / "x.csv").write_text("a\n1\n")
    cfg = tmp_path / "rs.toml"
    cfg.write_text(
        f'[backends.disk]\ntype = "local"\noptions.root = "{disk.as_posix()}"\n\n'
        '[stores.reports]\nbackend = "disk"\nroot = "r"\n'
    )
    monkeypatch.setenv("REMOTE_STORE_CONFIG", str(cfg))
    p = StorePath("reports:2026/x.csv")
    assert p.path == "2026/x.csv" and str(p) == "reports:2026/x.csv"
    assert p.read_text() == "a\n1\n"
    assert p.load()["a"].tolist() == [1]
    (p.parent / "y.txt").write_text("y")
    assert (disk / "r" / "2026" / "y.txt").read_text() == "y"
    u = StorePath(f"file://{disk.as_posix()}/r/2026/x.csv")
    assert u.name == "x.csv" and u.read_text() == "a\n1\n"
    assert sorted(c.name for c in u.parent.iterdir()) == ["x.csv", "y.txt"]
    with pytest.raises(KeyError):
        StorePath("no-such-store:x")


def test_open_write_without_atomic_write_spools_and_aborts() -> None:
    from remote_store import Capability, CapabilitySet

    class NoAtomic(MemoryBackend):
        @property
        def capabilities(self) -> CapabilitySet:
            return super().capabilities - {Capability.ATOMIC_WRITE}

    store = Store(NoAtomic())
    p = StorePath(store, "f.txt")
    with p.open("w") as f:
        f.write("one")
        assert not p.exists()  # published only on close
    assert p.read_text() == "one"
    with pytest.raises(RuntimeError), p.open("wb") as b:
        b.write(b"two")
        raise RuntimeError("boom")
    assert p.read_text() == "one"
    assert p.write_text("three") == 5 and p.read_text() == "three"
