"""CLI habits of aws-cli / rclone / gsutil users (issue 18): --version, -v, --json, ls -h,
exit codes, one-line typed errors with "did you mean", conflict reports, parallel copies
through remote-store-ext and the stdlib fallback, progress only on a TTY.

Most tests run ``main([...])`` in-process (fast); the ones about the real program (exit
status, stdout/stderr separation, start-up) run the installed console script in a subprocess.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remote_store import Store
from remote_store._cli import build_parser, main
from remote_store.backends import MemoryBackend

SCRIPT = shutil.which("remote-store", path=os.path.dirname(sys.executable))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def script(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert SCRIPT is not None, "the remote-store console script is not installed next to the interpreter"
    full_env = {**os.environ, **(env or {})}
    if env is None or "REMOTE_STORE_CONFIG" not in env:
        full_env.pop("REMOTE_STORE_CONFIG", None)  # only the config the test names
    return subprocess.run([SCRIPT, *argv], capture_output=True, text=True, timeout=60, cwd=cwd, env=full_env)


@pytest.fixture
def mem() -> tuple[str, Store]:
    name = f"habits-{uuid.uuid4().hex[:8]}"
    return name, Store(MemoryBackend(name=name))


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    """Two good stores, one store on a backend with an unset variable, one on a typo'd type."""
    (tmp_path / "disk").mkdir()
    f = tmp_path / "remote-store.toml"
    f.write_text(
        f"""
[backends.disk]
type = "local"
options.root = "{tmp_path / "disk"}"

[backends.cloud]
type = "local"
options.root = "${{RS_HABITS_UNSET}}"

[backends.typo]
type = "lcoal"
options.root = "/tmp"

[backends.noroot]
type = "local"

[stores.mine]
backend = "disk"
root = "mine"

[stores.remote]
backend = "cloud"

[stores.typo]
backend = "typo"

[stores.noroot]
backend = "noroot"
"""
    )
    return f


def _tree(root: Path, n: int = 3) -> dict[str, bytes]:
    files = {f"f{i}.txt": f"new {i}".encode() for i in range(n)}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


@pytest.fixture(params=["ext", "stdlib"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test with remote-store-ext's transfer, and again with the stdlib fallback."""
    if request.param == "ext":
        pytest.importorskip("remote_store_ext.transfer")
    else:
        monkeypatch.setitem(sys.modules, "remote_store_ext.transfer", None)  # import -> ImportError
    yield request.param


# ---------------------------------------------------------------------- --version, --help, exit codes
def test_version_in_a_subprocess() -> None:
    done = script("--version")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("remote-store 0.1.0 (") and "remote-store-core 0.1.0" in done.stdout
    assert "Python 3." in done.stdout


def test_help_lists_exit_codes_and_every_command_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    flat = " ".join(out.split())
    assert code == 0 and "Exit status: 0 success; 1 an operation failed" in flat and "2 bad usage" in flat
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) >= {"ls", "cat", "put", "get", "cp", "mv", "rm", "stat", "ping", "gc", "plugins"}
    for name in commands:
        code, out, _ = run(capsys, name, "--help")
        assert code == 0 and "Examples:\n  remote-store " + name in out and "Exit status" in out, name
    _, out, _ = run(capsys, "mv", "--help")
    flat = " ".join(out.split())
    assert "copied and then deleted" in flat and "removed only when every file moved" in flat


def test_exit_status_0_1_2_in_a_subprocess(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"A")
    assert script("cat", str(tmp_path / "a.txt")).returncode == 0
    missing = script("cat", str(tmp_path / "nope.txt"))
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and missing.stderr.startswith("remote-store: error: NotFound: ")
    assert str(tmp_path / "nope.txt") in missing.stderr  # local paths shown absolute
    for argv in ([], ["ls", "-j", "2", "."], ["frobnicate"], ["cp", "-r", "-j", "0", "a", "b"]):
        bad = script(*argv)
        assert bad.returncode == 2 and "remote-store: error:" in bad.stderr and "Traceback" not in bad.stderr, argv


def test_force_and_no_clobber_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cp", "-f", "-n", "memory://x/a", "memory://x/b")
    assert code == 2 and "not allowed with" in err


# ---------------------------------------------------------------------- -v logging, -q
def test_verbose_logs_info_and_debug_of_our_loggers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mem: tuple[str, Store]
) -> None:
    name, _ = mem
    (tmp_path / "a.txt").write_bytes(b"A")
    code, _, err = run(capsys, "put", str(tmp_path / "a.txt"), f"memory://{name}/a.txt")
    assert code == 0 and "INFO" not in err
    code, _, err = run(capsys, "-v", "put", "-f", str(tmp_path / "a.txt"), f"memory://{name}/a.txt")
    assert code == 0 and "remote-store: INFO remote_store.cli: copying 1 file(s), 1 bytes" in err and "DEBUG" not in err
    code, _, err = run(capsys, "put", "-vv", "-f", str(tmp_path / "a.txt"), f"memory://{name}/a.txt")
    assert code == 0 and "DEBUG remote_store.cli:" in err and "memory store" in err
    code, _, err = run(capsys, "put", "-f", str(tmp_path / "a.txt"), f"memory://{name}/a.txt")
    assert "INFO" not in err and "DEBUG" not in err  # the handler is removed after each command


# ---------------------------------------------------------------------- ls / stat / plugins output
def test_ls_long_human_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "s"
    (root / "sub").mkdir(parents=True)
    (root / "big.bin").write_bytes(b"x" * 1536)
    (root / "sub" / "small.txt").write_bytes(b"12345")
    code, out, _ = run(capsys, "ls", "-l", str(root))
    assert (
        code == 0
        and "        1536  " in out
        and sorted(ln.split()[-1] for ln in out.splitlines()) == ["big.bin", "sub/"]
    )
    code, out, _ = run(capsys, "ls", "-h", str(root))  # -h implies -l
    assert code == 0 and "     1.5 KiB  " in out and "1536" not in out
    code, out, _ = run(capsys, "ls", "--json", str(root))
    entries = json.loads(out)
    assert {e["name"]: e["type"] for e in entries} == {"big.bin": "file", "sub": "folder"}
    big = next(e for e in entries if e["name"] == "big.bin")
    assert big["size"] == 1536 and big["modified"].endswith("+00:00")
    code, out, _ = run(capsys, "ls", "-r", "--json", str(root))
    assert sorted((e["name"], e["size"]) for e in json.loads(out)) == [("big.bin", 1536), ("sub/small.txt", 5)]
    code, out, _ = run(capsys, "ls", "--json", str(tmp_path / "s" / "sub"))
    assert [e["name"] for e in json.loads(out)] == ["small.txt"]
    code, out, _ = run(capsys, "ls", "--json", str(root / "empty-and-missing"))
    assert code == 1


def test_ls_json_in_a_subprocess_is_clean_stdout(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"AAA")
    done = script("ls", "--json", str(tmp_path))
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout) == [
        {
            "name": "a.txt",
            "path": str(tmp_path / "a.txt").lstrip("/"),
            "type": "file",
            "size": 3,
            "modified": json.loads(done.stdout)[0]["modified"],
            "etag": json.loads(done.stdout)[0]["etag"],
        }
    ]


def test_stat_json_for_files_and_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_bytes(b"hello")
    code, out, _ = run(capsys, "stat", "--json", str(tmp_path / "d" / "a.txt"))
    info = json.loads(out)
    assert code == 0 and info["type"] == "file" and info["size"] == 5 and info["backend"] == "local"
    assert info["native"] == str(tmp_path / "d" / "a.txt") and info["metadata"] == {} and "etag" in info
    code, out, _ = run(capsys, "stat", "--json", str(tmp_path / "d"))
    folder = json.loads(out)
    assert (folder["type"], folder["files"], folder["total_size"]) == ("folder", 1, 5)


def test_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins", "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc) == {"backends", "plugins", "middleware", "config_sources"}
    local = next(b for b in doc["backends"] if b["name"] == "local")
    assert "file" in local["schemes"] and "WRITE" in local["capabilities"]
    assert any(p["name"] == "builtin" and p["loaded"] for p in doc["plugins"])
    assert [s["priority"] for s in doc["config_sources"]] == sorted(s["priority"] for s in doc["config_sources"])


# ---------------------------------------------------------------------- config errors, in a subprocess
def test_config_mistakes_are_one_typed_line_with_a_suggestion(cfg: Path, tmp_path: Path) -> None:
    c = str(cfg)
    ok = script("--config", c, "ls", "mine:")  # the unset variable of another backend does not matter
    assert ok.returncode == 0, ok.stderr
    cases = {
        "mnie:": ["ConfigKeyError", "no store named 'mnie'; did you mean 'mine'?"],
        "remote:": ["ConfigKeyError", "store 'remote'", "RS_HABITS_UNSET", "backends.cloud.options.root"],
        "typo:": ["ConfigError", "backends.typo.type", "did you mean 'local'?", c],
        "noroot:": ["ConfigError", "missing required option(s) 'root'", "create_root"],
    }
    for address, needles in cases.items():
        done = script("--config", c, "ls", address)
        assert done.returncode == 1 and done.stderr.count("\n") == 1, (address, done.stderr)
        assert done.stderr.startswith(f"remote-store: error: {needles[0]}: "), done.stderr
        for needle in needles[1:]:
            assert needle in done.stderr, (address, needle, done.stderr)
        assert "Traceback" not in done.stderr and "__init__()" not in done.stderr


def test_file_url_with_a_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ls", "file://otherhost/tmp")
    assert code == 1 and "ConfigError" in err and "'otherhost'" in err and "file:///path" in err


def test_memory_store_warns_that_nothing_persists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mem: tuple[str, Store]
) -> None:
    name, _ = mem
    (tmp_path / "a.txt").write_bytes(b"A")
    code, _, err = run(capsys, "put", str(tmp_path / "a.txt"), f"memory://{name}/a.txt")
    assert code == 0 and err.count("remote-store: warning: memory://") == 1 and "persists" in err
    code, _, err = run(capsys, "ls", str(tmp_path))
    assert "warning" not in err


def test_ping_accepts_store_with_and_without_colon(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for address in ("mine", "mine:"):
        code, out, _ = run(capsys, "--config", str(cfg), "ping", address)
        assert code == 0 and out.startswith("ok: local backend reachable"), address
    code, _, err = run(capsys, "--config", str(cfg), "ping", "mnie")
    assert code == 1 and "did you mean 'mine'" in err


# ---------------------------------------------------------------------- conflicts and failures
def test_default_refuses_and_reports_every_conflict_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: str
) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    _tree(src, 5)
    dst.mkdir()
    for i in (1, 3):
        (dst / f"f{i}.txt").write_bytes(b"old")
    code, _, err = run(capsys, "cp", "-r", str(src) + "/", str(dst) + "/")
    base = dst / "src"
    assert code == 0 and sorted(p.name for p in base.iterdir()) == [f"f{i}.txt" for i in range(5)]
    code, _, err = run(capsys, "cp", "-r", str(src), str(dst))  # into dst/src again: 5 conflicts
    assert code == 1
    assert err.count("remote-store: exists: ") == 5 and f"exists: {base / 'f4.txt'}" in err
    assert err.rstrip().splitlines()[-1].startswith("remote-store: error: AlreadyExists: 5 of 5 destination files")
    (src / "new.txt").write_bytes(b"N")
    code, _, err = run(capsys, "get", "-r", str(src), str(dst))  # get: 5 of 6 exist, nothing copied
    assert code == 1 and "5 of 6" in err and "nothing was copied" in err and not (base / "new.txt").exists()


def test_no_clobber_skips_and_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: str) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    files = _tree(src, 4)
    (dst / "src").mkdir(parents=True)
    (dst / "src" / "f2.txt").write_bytes(b"old")
    code, _, err = run(capsys, "cp", "-r", "-n", str(src), str(dst))
    assert code == 0
    assert err.count("skipped (exists): ") == 1 and f"skipped (exists): {dst / 'src' / 'f2.txt'}" in err
    assert "copied 3 of 4 files" in err and "1 skipped, 0 failed" in err
    assert (dst / "src" / "f2.txt").read_bytes() == b"old"
    assert all((dst / "src" / k).read_bytes() == v for k, v in files.items() if k != "f2.txt")
    code, _, err = run(capsys, "-q", "cp", "-r", "--skip-existing", str(src), str(dst))
    assert code == 0 and err == ""  # -q: no skipped lines, no summary
    code, _, err = run(capsys, "cp", "-r", "--overwrite", str(src), str(dst))
    assert code == 0 and (dst / "src" / "f2.txt").read_bytes() == files["f2.txt"]


def test_single_file_no_clobber(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.txt").write_bytes(b"new")
    (tmp_path / "b.txt").write_bytes(b"old")
    code, _, err = run(capsys, "cp", "-n", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"))
    assert code == 0 and "skipped (exists):" in err and (tmp_path / "b.txt").read_bytes() == b"old"
    code, _, err = run(capsys, "cp", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"))
    assert code == 1 and err.startswith("remote-store: error: AlreadyExists: ") and str(tmp_path / "b.txt") in err


def test_failures_are_listed_and_summarised(tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: str) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "blocked").mkdir(parents=True)
    (src / "ok1.txt").write_bytes(b"1")
    (src / "ok2.txt").write_bytes(b"2")
    (src / "blocked" / "x.txt").write_bytes(b"x")
    (dst / "src").mkdir(parents=True)
    (dst / "src" / "blocked").write_bytes(b"a file where the folder should go")
    code, _, err = run(capsys, "cp", "-r", "-f", str(src), str(dst))
    assert code == 1
    lines = err.rstrip().splitlines()
    failed = [ln for ln in lines if ln.startswith("remote-store: failed: ")]
    assert len(failed) == 1 and failed[0].startswith(
        f"remote-store: failed: {src / 'blocked' / 'x.txt'}: InvalidPath: "
    )
    assert f"path='{dst / 'src' / 'blocked' / 'x.txt'}'" in failed[0]  # absolute local paths in the error too
    assert "copied 2 of 3 files" in err and "0 skipped, 1 failed" in err
    assert lines[-1].startswith("remote-store: error: ") and "1 of 3 files failed" in lines[-1]
    assert (dst / "src" / "ok1.txt").read_bytes() == b"1" and (dst / "src" / "ok2.txt").read_bytes() == b"2"


def test_mv_keeps_sources_that_were_not_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mem: tuple[str, Store]
) -> None:
    name, store = mem
    src = tmp_path / "src"
    _tree(src, 3)
    store.write("src/f1.txt", b"old")
    code, _, err = run(capsys, "mv", "-r", "-n", str(src), f"memory://{name}/")
    assert code == 0 and "moved 2 of 3 files" in err
    assert sorted(p.name for p in src.iterdir()) == ["f1.txt"]  # the skipped source stays
    assert store.read_bytes("src/f1.txt") == b"old" and store.read_bytes("src/f0.txt") == b"new 0"


# ---------------------------------------------------------------------- engines, -j, progress
def test_jobs_go_to_ext_transfer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mem: tuple[str, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    transfer_mod = pytest.importorskip("remote_store_ext.transfer")
    real = transfer_mod.transfer
    seen: list[dict[str, Any]] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(transfer_mod, "transfer", spy)
    name, store = mem
    files = _tree(tmp_path / "t", 12)
    code, _, err = run(capsys, "put", "-r", "-j", "3", str(tmp_path / "t"), f"memory://{name}/up")
    assert code == 0 and [kw["max_workers"] for kw in seen] == [3] and seen[0]["overwrite"] is False
    assert {p.path: store.read_bytes(p.path) for p in store.list_files("up", recursive=True)} == {
        f"up/{k}": v for k, v in files.items()
    }
    assert "copied 12 of 12 files" in err


def test_stdlib_fallback_copies_without_ext(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mem: tuple[str, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "remote_store_ext.transfer", None)
    name, store = mem
    files = _tree(tmp_path / "t", 5)
    code, _, err = run(capsys, "-v", "put", "-r", "-j", "4", str(tmp_path / "t"), f"memory://{name}/up")
    assert code == 0 and "stdlib fallback" in err and "copied 5 of 5 files" in err
    assert {p.path: store.read_bytes(p.path) for p in store.list_files("up", recursive=True)} == {
        f"up/{k}": v for k, v in files.items()
    }
    out = tmp_path / "down"
    assert run(capsys, "get", "-r", f"memory://{name}/up", str(out))[0] == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_one_overall_bar_with_files_on_a_tty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mem: tuple[str, Store], engine: str
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the stdlib bar: its text is stable to assert on
    monkeypatch.setattr("remote_store._cli._progress._clock", iter(range(0, 100_000)).__next__)
    name, _ = mem
    _tree(tmp_path / "t", 30)
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(["put", "-r", str(tmp_path / "t"), f"memory://{name}/up"]) == 0
    drawn = tty.getvalue()
    assert "30/30 files" in drawn and f"memory://{name}/up" in drawn and "\r\x1b[K" in drawn
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    assert main(["put", "-r", "-f", str(tmp_path / "t"), f"memory://{name}/up"]) == 0
    assert "\r" not in pipe.getvalue() and "files" in pipe.getvalue()  # no bar, only the summary line


def test_no_progress_bar_when_piped_in_a_subprocess(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(5 * 1024 * 1024))
    done = script("cp", str(big), str(tmp_path / "copy.bin"))
    assert done.returncode == 0 and done.stderr == "" and done.stdout == ""
    assert (tmp_path / "copy.bin").read_bytes() == big.read_bytes()


def test_version_text_matches_the_installed_metadata() -> None:
    from importlib import metadata

    from remote_store._cli import version_text

    text = version_text()
    assert text.startswith(f"remote-store {metadata.version('remote-store-core')} (")
    for dist in ("remote-store-core", "remote-store-ext"):
        assert f"{dist} {metadata.version(dist)}" in text


# ---------------------------------------------------------------------- a real remote store (moto S3)
def test_tree_round_trip_through_s3_with_conflicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("remote_store_s3")
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    opts = server.backend_options(bucket)
    cfg = tmp_path / "remote-store.toml"
    lines = ["[backends.s3]", 'type = "s3"']
    for key, value in opts.items():
        if key == "secret_access_key":
            value = "${RS_CLI_S3_SECRET}"  # resolved from the environment when the backend is built
        lines.append(f"options.{key} = {json.dumps(value)}")
    lines += ["[stores.cloud]", 'backend = "s3"', 'root = "cli"']
    cfg.write_text("\n".join(lines) + "\n")
    files = _tree(tmp_path / "up", 40)
    env = {"RS_CLI_S3_SECRET": opts["secret_access_key"]}
    done = script("--config", str(cfg), "put", "-r", "-j", "4", str(tmp_path / "up"), "cloud:", env=env)
    assert done.returncode == 0, done.stderr
    assert "copied 40 of 40 files" in done.stderr and "\r" not in done.stderr  # piped: no bar
    monkeypatch.setenv("RS_CLI_S3_SECRET", opts["secret_access_key"])
    code, out, _ = run(capsys, "--config", str(cfg), "ls", "-r", "--json", "cloud:up")
    assert code == 0 and sorted(e["name"] for e in json.loads(out)) == sorted(files)
    down = tmp_path / "down"
    (down / "up").mkdir(parents=True)
    (down / "up" / "f7.txt").write_bytes(b"local edit")
    code, _, err = run(capsys, "--config", str(cfg), "get", "-r", "cloud:up", str(down))
    assert code == 1 and "1 of 40 destination files already exist" in err and len(list((down / "up").iterdir())) == 1
    code, _, err = run(capsys, "--config", str(cfg), "get", "-r", "-n", "-j", "4", "cloud:up", str(down))
    assert code == 0 and "copied 39 of 40 files" in err and "1 skipped" in err
    assert (down / "up" / "f7.txt").read_bytes() == b"local edit"
    assert {p.name: p.read_bytes() for p in (down / "up").iterdir() if p.name != "f7.txt"} == {
        k: v for k, v in files.items() if k != "f7.txt"
    }


def test_every_argument_is_described() -> None:
    import argparse

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in [("", parser), *sub.choices.items()]:
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{name or 'remote-store'}: {action.dest} has no help text"
