"""The ``remote-store`` CLI, run in-process through ``main([...])`` and once as the installed script."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import ClassVar

import pytest

from remote_store import Store
from remote_store._cli import PROGRESS_MIN_BYTES, Progress, main
from remote_store.backends import MemoryBackend
from testing.servers.http import HttpSite


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def url(path: Path) -> str:
    return path.as_uri()


@pytest.fixture
def mem() -> tuple[str, Store]:
    """A named memory store shared with ``memory://<name>/`` URLs in this process."""
    name = f"cli-{uuid.uuid4().hex[:8]}"
    return name, Store(MemoryBackend(name=name))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    data = tmp_path / "disk"
    data.mkdir()
    cfg = tmp_path / "remote-store.toml"
    cfg.write_text(
        f"""
[backends.disk]
type = "local"
options.root = "{data}"

[stores.data]
backend = "disk"
root = "data"

[stores.other]
backend = "disk"
root = "other"
"""
    )
    return cfg


# ---------------------------------------------------------------------- plugins
def test_plugins_lists_backends_capabilities_and_sources(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    for needle in ("local", "memory", "http", "file://", "memory://", "https://", "Config sources", "Middleware"):
        assert needle in out
    http_line = out[out.index("  http ") :].splitlines()[1]
    assert "READ" in http_line and "METADATA" in http_line and "WRITE" not in http_line
    assert "REMOTE_STORE_CONFIG" in out and "remote-store.toml" in out
    assert "builtin" in out and "loaded" in out


# ---------------------------------------------------------------------- file:// round trip
def test_put_ls_cat_stat_get_rm_with_file_urls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src.txt"
    src.write_bytes(b"hello cli\n")
    dest = tmp_path / "store"
    assert run(capsys, "put", str(src), url(dest) + "/docs/")[0] == 0
    assert (dest / "docs" / "src.txt").read_bytes() == b"hello cli\n"

    code, out, _ = run(capsys, "ls", url(dest))
    assert (code, out) == (0, "docs/\n")
    code, out, _ = run(capsys, "ls", "-l", "-r", url(dest))
    assert code == 0 and out.rstrip().endswith("docs/src.txt") and "          10  " in out

    code, out, _ = run(capsys, "cat", url(dest / "docs" / "src.txt"))
    assert (code, out) == (0, "hello cli\n")

    code, out, _ = run(capsys, "stat", url(dest / "docs" / "src.txt"))
    assert code == 0
    assert "type: file" in out and "size: 10" in out and f"native: {dest / 'docs' / 'src.txt'}" in out
    code, out, _ = run(capsys, "stat", url(dest / "docs"))
    assert code == 0 and "type: folder" in out and "files: 1" in out

    back = tmp_path / "back.txt"
    assert run(capsys, "get", url(dest / "docs" / "src.txt"), str(back))[0] == 0
    assert back.read_bytes() == b"hello cli\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]

    assert run(capsys, "rm", url(dest / "docs" / "src.txt"))[0] == 0
    assert not (dest / "docs" / "src.txt").exists()


def test_put_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.txt"
    src.write_bytes(b"new")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.txt").write_bytes(b"old")
    code, _, err = run(capsys, "put", str(src), url(tmp_path / "s" / "a.txt"))
    assert code == 1
    assert err.startswith("remote-store: error: AlreadyExists:") and "-f" in err and "a.txt" in err
    assert (tmp_path / "s" / "a.txt").read_bytes() == b"old"
    assert run(capsys, "put", "-f", str(src), url(tmp_path / "s" / "a.txt"))[0] == 0
    assert (tmp_path / "s" / "a.txt").read_bytes() == b"new"


def test_get_refuses_to_overwrite_local_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.txt").write_bytes(b"remote")
    local = tmp_path / "local.txt"
    local.write_bytes(b"keep")
    code, _, err = run(capsys, "get", url(tmp_path / "s" / "a.txt"), str(local))
    assert code == 1 and "AlreadyExists" in err and str(local) in err
    assert local.read_bytes() == b"keep"
    assert run(capsys, "get", "-f", url(tmp_path / "s" / "a.txt"), str(local))[0] == 0
    assert local.read_bytes() == b"remote"


# ---------------------------------------------------------------------- trees and cross-store copies
def _make_tree(root: Path) -> dict[str, bytes]:
    files = {"a.txt": b"A", "sub/b.bin": os.urandom(3000), "sub/deep/c.txt": b"C" * 10}
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def test_put_get_trees(tmp_path: Path, capsys: pytest.CaptureFixture[str], mem: tuple[str, Store]) -> None:
    name, store = mem
    files = _make_tree(tmp_path / "tree")
    code, _, err = run(capsys, "put", str(tmp_path / "tree"), f"memory://{name}/up")
    assert code == 2 and "-r" in err
    assert run(capsys, "put", "-r", str(tmp_path / "tree"), f"memory://{name}/up")[0] == 0
    assert {i.path: store.read_bytes(i.path) for i in store.list_files("up", recursive=True)} == {
        f"up/{k}": v for k, v in files.items()
    }
    out_dir = tmp_path / "down"
    assert run(capsys, "get", "-r", f"memory://{name}/up", str(out_dir))[0] == 0
    assert {str(p.relative_to(out_dir)): p.read_bytes() for p in out_dir.rglob("*") if p.is_file()} == files


def test_cp_between_stores_and_recursive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mem: tuple[str, Store]
) -> None:
    name, store = mem
    files = _make_tree(tmp_path / "tree")
    code, _, err = run(capsys, "cp", url(tmp_path / "tree"), f"memory://{name}/copy")
    assert code == 2 and "use -r" in err
    assert run(capsys, "cp", "-r", url(tmp_path / "tree"), f"memory://{name}/copy")[0] == 0
    assert {i.path: store.read_bytes(i.path) for i in store.list_files("copy", recursive=True)} == {
        f"copy/{k}": v for k, v in files.items()
    }
    # Single file, into an existing folder (keeps its name), then back to disk.
    assert run(capsys, "cp", f"memory://{name}/copy/a.txt", f"memory://{name}/copy/sub")[0] == 0
    assert store.read_bytes("copy/sub/a.txt") == b"A"
    assert run(capsys, "cp", f"memory://{name}/copy/sub/b.bin", url(tmp_path / "out.bin"))[0] == 0
    assert (tmp_path / "out.bin").read_bytes() == files["sub/b.bin"]
    code, _, err = run(capsys, "cp", f"memory://{name}/copy/a.txt", f"memory://{name}/copy/sub/a.txt")
    assert code == 1 and "AlreadyExists" in err


def test_mv_within_and_across_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mem: tuple[str, Store]
) -> None:
    name, store = mem
    store.write("x/one.txt", b"1")
    assert run(capsys, "mv", f"memory://{name}/x/one.txt", f"memory://{name}/y/uno.txt")[0] == 0
    assert not store.exists("x/one.txt") and store.read_bytes("y/uno.txt") == b"1"
    assert run(capsys, "mv", f"memory://{name}/y/uno.txt", url(tmp_path / "moved.txt"))[0] == 0
    assert not store.exists("y/uno.txt") and (tmp_path / "moved.txt").read_bytes() == b"1"
    _make_tree(tmp_path / "t")
    assert run(capsys, "mv", "-r", url(tmp_path / "t"), f"memory://{name}/t2")[0] == 0
    assert not (tmp_path / "t").exists()
    assert store.read_bytes("t2/sub/deep/c.txt") == b"C" * 10


def test_rm_folders_need_r(tmp_path: Path, capsys: pytest.CaptureFixture[str], mem: tuple[str, Store]) -> None:
    name, store = mem
    store.write("f/a.txt", b"a")
    code, _, err = run(capsys, "rm", f"memory://{name}/f")
    assert code == 2 and "rm -r" in err
    assert run(capsys, "rm", "-r", f"memory://{name}/f")[0] == 0
    assert not store.is_folder("f")
    code, _, err = run(capsys, "rm", f"memory://{name}/f")
    assert code == 1 and "NotFound" in err
    assert run(capsys, "rm", "-f", f"memory://{name}/f")[0] == 0


# ---------------------------------------------------------------------- named stores
def test_named_stores_from_config(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "n.txt"
    src.write_bytes(b"named")
    assert run(capsys, "--config", str(config), "put", str(src), "data:in/n.txt")[0] == 0
    assert (tmp_path / "disk" / "data" / "in" / "n.txt").read_bytes() == b"named"
    code, out, _ = run(capsys, "--config", str(config), "ls", "-r", "data:")
    assert (code, out) == (0, "in/n.txt\n")
    assert run(capsys, "--config", str(config), "cp", "data:in/n.txt", "other:copy.txt")[0] == 0
    assert (tmp_path / "disk" / "other" / "copy.txt").read_bytes() == b"named"
    code, out, _ = run(capsys, "--config", str(config), "ping", "data:")
    assert code == 0 and out.startswith("ok: local")
    code, _, err = run(capsys, "--config", str(config), "ls", "nosuch:")
    assert code == 1 and "ConfigKeyError" in err and "nosuch" in err


def test_named_store_from_cwd_config(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REMOTE_STORE_CONFIG", raising=False)
    (tmp_path / "disk" / "data").mkdir(parents=True)
    (tmp_path / "disk" / "data" / "z.txt").write_bytes(b"zzz")
    code, out, _ = run(capsys, "cat", "data:z.txt")
    assert (code, out) == (0, "zzz")


# ---------------------------------------------------------------------- http and capability errors
def test_http_cat_stat_and_refused_listing(http_site: HttpSite, capsys: pytest.CaptureFixture[str]) -> None:
    http_site.write("pub/readme.txt", b"served over http\n")
    code, out, _ = run(capsys, "cat", http_site.url + "pub/readme.txt")
    assert (code, out) == (0, "served over http\n")
    code, out, _ = run(capsys, "stat", http_site.url + "pub/readme.txt")
    assert code == 0 and "size: 17" in out and "backend: http" in out and "content_type: text/plain" in out
    code, _, err = run(capsys, "ls", http_site.url + "pub/")
    assert code == 1 and "CapabilityNotSupported" in err and "Traceback" not in err
    code, _, err = run(capsys, "cat", http_site.url + "pub/missing.txt")
    assert code == 1 and "NotFound" in err and "missing.txt" in err
    code, _, err = run(capsys, "put", __file__, http_site.url + "pub/x.py")
    assert code == 1 and "CapabilityNotSupported" in err


# ---------------------------------------------------------------------- errors and usage
def test_errors_are_one_line_with_class_and_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "cat", url(tmp_path / "missing.txt"))
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("remote-store: error: NotFound:") and "missing.txt" in err and "backend=local" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["ls"],
        ["ls", "not-an-address"],
        ["cp", "memory://x/a"],
        ["get", "memory://x/", "/tmp/y"],
        ["rm", "memory://x/"],
        ["--config", "/nonexistent/remote-store.toml", "ls", "data:"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "remote-store: error:" in err and "Traceback" not in err


def test_unknown_scheme_is_operation_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ls", "nosuchscheme://bucket/x")
    assert code == 1 and "ConfigError" in err and "nosuchscheme" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "STORE:path" in out


# ---------------------------------------------------------------------- progress
class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_only_on_a_tty_for_long_transfers() -> None:
    tty = _Tty()
    p = Progress("dst", PROGRESS_MIN_BYTES * 2, tty)
    assert p.enabled
    p.update(PROGRESS_MIN_BYTES)
    p.finish()
    text = tty.getvalue()
    assert "\r" in text and "50.0%" in text and "dst" in text and text.endswith("\r\x1b[K")
    pipe = io.StringIO()
    q = Progress("dst", PROGRESS_MIN_BYTES * 2, pipe)
    q.update(PROGRESS_MIN_BYTES)
    q.finish()
    assert not q.enabled and pipe.getvalue() == ""
    assert not Progress("small", 10, _Tty()).enabled


@pytest.mark.parametrize("with_tqdm", [True, False])
def test_transfer_draws_progress_on_tty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mem: tuple[str, Store], with_tqdm: bool
) -> None:
    name, store = mem
    if not with_tqdm:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError: the stdlib line
    else:
        pytest.importorskip("tqdm")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(PROGRESS_MIN_BYTES + 1))
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr("remote_store._cli._progress._clock", iter(range(0, 10_000)).__next__)
    assert main(["put", str(big), f"memory://{name}/big.bin"]) == 0
    assert store.read_bytes("big.bin") == big.read_bytes()
    drawn = tty.getvalue()
    assert f"memory://{name}/big.bin" in drawn
    if with_tqdm:
        assert "/4.00M" in drawn and "%|" in drawn  # a tqdm bar with the total
    else:
        assert "4.0 MiB / 4.0 MiB 100.0%" in drawn
    tty2 = _Tty()
    monkeypatch.setattr(sys, "stderr", tty2)
    assert main(["-q", "put", "-f", str(big), f"memory://{name}/big.bin"]) == 0
    assert "MiB" not in tty2.getvalue() and "4.00M" not in tty2.getvalue()


# ---------------------------------------------------------------------- installed console script
def test_console_script_subprocess(tmp_path: Path) -> None:
    script = shutil.which("remote-store", path=os.path.dirname(sys.executable))
    assert script is not None, "the remote-store console script is not installed next to the interpreter"
    (tmp_path / "f.txt").write_bytes(b"from a subprocess")
    done = subprocess.run([script, "cat", url(tmp_path / "f.txt")], capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout == b"from a subprocess"
    bad = subprocess.run([script, "cat", url(tmp_path / "nope.txt")], capture_output=True, timeout=60, text=True)
    assert bad.returncode == 1 and "remote-store: error: NotFound" in bad.stderr and "Traceback" not in bad.stderr
    usage = subprocess.run([script, "ls", "plain-path"], capture_output=True, timeout=60, text=True)
    assert usage.returncode == 2


def test_get_r_never_writes_outside_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mem: tuple[str, Store]
) -> None:
    name, store = mem
    store.write("x/ok.txt", b"ok")
    # Object stores accept keys with ".." segments; write one behind the Store's back.
    store.backend.write("x/../../evil.txt", io.BytesIO(b"evil"), overwrite=True, metadata={})
    code, _, err = run(capsys, "get", "-r", f"memory://{name}/x", str(tmp_path / "dl"))
    assert code == 1 and "InvalidPath" in err
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


# ---------------------------------------------------------------------- local paths as addresses
class _SweepingMemory(MemoryBackend):
    """A memory backend whose collect_garbage reports what it was asked (for ``gc``)."""

    calls: ClassVar[list[tuple[str, float]]] = []

    def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        type(self).calls.append((prefix, older_than))
        return 7


def test_cp_r_local_dir_to_store_and_back(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    (work / "dir" / "sub").mkdir(parents=True)
    (work / "dir" / "a.txt").write_bytes(b"A")
    (work / "dir" / "sub" / "b.bin").write_bytes(b"B" * 1000)
    monkeypatch.chdir(work)
    cfg = str(config)
    assert run(capsys, "--config", cfg, "cp", "-r", "./dir", "data:x")[0] == 0
    disk = tmp_path / "disk" / "data"
    assert (disk / "x" / "a.txt").read_bytes() == b"A"
    assert (disk / "x" / "sub" / "b.bin").read_bytes() == b"B" * 1000
    assert run(capsys, "--config", cfg, "cp", "-r", "data:x", "./back")[0] == 0
    assert (work / "back" / "a.txt").read_bytes() == b"A"
    assert (work / "back" / "sub" / "b.bin").read_bytes() == b"B" * 1000
    # an existing local folder as target means "into it", like cp -r
    assert run(capsys, "--config", cfg, "cp", "-r", "data:x", "back")[0] == 0
    assert (work / "back" / "x" / "a.txt").read_bytes() == b"A"


def test_local_paths_work_in_every_address_command(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "w"
    work.mkdir()
    (work / "f.txt").write_bytes(b"local file")
    monkeypatch.chdir(work)
    cfg = str(config)
    code, out, _ = run(capsys, "--config", cfg, "ls", ".")
    assert (code, out) == (0, "f.txt\n")
    code, out, _ = run(capsys, "--config", cfg, "ls", str(work) + "/")
    assert (code, out) == (0, "f.txt\n")
    code, out, _ = run(capsys, "--config", cfg, "cat", "f.txt")  # bare existing path
    assert (code, out) == (0, "local file")
    code, out, _ = run(capsys, "--config", cfg, "stat", "./f.txt")
    assert code == 0 and "type: file" in out and "size: 10" in out and "backend: local" in out
    assert run(capsys, "--config", cfg, "put", "f.txt", "./copied.txt")[0] == 0
    assert (work / "copied.txt").read_bytes() == b"local file"
    assert run(capsys, "--config", cfg, "get", "./copied.txt", "got.txt")[0] == 0
    assert (work / "got.txt").read_bytes() == b"local file"
    assert run(capsys, "--config", cfg, "mv", "./got.txt", "data:moved.txt")[0] == 0
    assert not (work / "got.txt").exists()
    assert (tmp_path / "disk" / "data" / "moved.txt").read_bytes() == b"local file"
    assert run(capsys, "--config", cfg, "cp", "data:moved.txt", "../w/from-store.txt")[0] == 0
    assert (work / "from-store.txt").read_bytes() == b"local file"
    assert run(capsys, "--config", cfg, "rm", "./copied.txt", "from-store.txt")[0] == 0
    assert sorted(p.name for p in work.iterdir()) == ["f.txt"]
    monkeypatch.setenv("HOME", str(work))
    code, out, _ = run(capsys, "--config", cfg, "cat", "~/f.txt")
    assert (code, out) == (0, "local file")


def test_store_addresses_keep_their_meaning_next_to_local_names(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "w2"
    work.mkdir()
    (work / "data").mkdir()  # a local folder named like the store
    (work / "data" / "local-only.txt").write_bytes(b"L")
    monkeypatch.chdir(work)
    (tmp_path / "disk" / "data").mkdir(parents=True, exist_ok=True)
    (tmp_path / "disk" / "data" / "remote.txt").write_bytes(b"R")
    code, out, _ = run(capsys, "--config", str(config), "ls", "data:")
    assert (code, out) == (0, "remote.txt\n")
    code, out, _ = run(capsys, "--config", str(config), "ls", "data")
    assert (code, out) == (0, "local-only.txt\n")
    code, _, err = run(capsys, "--config", str(config), "cp", "data:remote.txt", "missing-target")
    assert code == 2 and "./new" in err  # a bare name that does not exist is not guessed


def test_help_documents_the_address_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    assert main(["cp", "--help"]) == 0
    cp = capsys.readouterr().out
    for text in (top, cp):
        flat = " ".join(text.split())
        assert "STORE:path" in flat and "./" in flat and "~" in flat and "bare existing path" in flat


def test_gc_prints_the_count_and_passes_path_and_age(
    plugin_host: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from remote_store import BackendSpec, PluginHost, hookimpl

    class Plugin:
        @hookimpl
        def remote_store_register_backends(self, register: object) -> None:
            register(BackendSpec("sweepmem", f"{__name__}:_SweepingMemory", "tests"))  # type: ignore[operator]

    assert isinstance(plugin_host, PluginHost)
    plugin_host.register(Plugin(), name="sweep")
    cfg = tmp_path / "gc.toml"
    cfg.write_text('[backends.m]\ntype = "sweepmem"\n[stores.s]\nbackend = "m"\nroot = "base"\n')
    _SweepingMemory.calls.clear()
    code, out, _ = run(capsys, "--config", str(cfg), "gc", "s:tmp/area", "--older-than", "60")
    assert (code, out) == (0, "7\n")
    code, out, _ = run(capsys, "--config", str(cfg), "gc", "s:")
    assert (code, out) == (0, "7\n")
    assert _SweepingMemory.calls == [("base/tmp/area", 60.0), ("base", 3600.0)]
    code, _, err = run(capsys, "--config", str(cfg), "gc", "s:", "--older-than", "-1")
    assert code == 2 and "older-than" in err


def test_gc_on_a_store_without_leftovers_prints_zero(
    mem: tuple[str, Store], capsys: pytest.CaptureFixture[str]
) -> None:
    name, store = mem
    store.write("keep.txt", b"k")
    code, out, _ = run(capsys, "gc", f"memory://{name}/")
    assert (code, out) == (0, "0\n")
    assert store.read_bytes("keep.txt") == b"k"
