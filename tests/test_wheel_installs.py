"""Each plugin wheel, installed alone with the core wheel into a fresh venv, makes its
`type = "..."` work from a TOML config and its URL scheme work with `open_store` — against
the real test servers. This is what `pip install remote-store-<x>` promises a user."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from testing.servers.azure import AzuriteServer
from testing.servers.gcs import FakeGCSServer
from testing.servers.s3 import MotoS3Server
from testing.servers.sftp import SFTPServer
from testing.wheels import WheelSet, clean_env, install, make_venv, workspace_wheels

__all__ = ["workspace_wheels"]

SCRIPT = textwrap.dedent(
    """
    import json, sys, remote_store
    cfg, url = sys.argv[1], sys.argv[2]
    out = {}
    with remote_store.open_store("smoke", config=cfg) as store:
        store.write("dir/hello.txt", b"hello from a wheel", overwrite=True)
        out["read"] = store.read_bytes("dir/hello.txt").decode()
        out["listed"] = [i.path for i in store.list_files("", recursive=True)]
        out["type"] = store.backend.type_name
        out["repr"] = repr(store) + repr(store.resolve("dir/hello.txt"))
    if url:
        with remote_store.open_store(url) as store:
            out["url_read"] = store.read_bytes("dir/hello.txt").decode() if store.exists("dir/hello.txt") else None
    out["types"] = sorted(remote_store.get_plugin_host().backend_types())
    out["failed"] = [p.name for p in remote_store.plugins() if not p.loaded]
    print(json.dumps(out))
    """
)


def _run(
    wheels: WheelSet, tmp_path: Path, dist: str, config: str, url: str = "", env: dict[str, str] | None = None
) -> dict[str, object]:
    python = make_venv(tmp_path / "venv")
    install(python, *wheels.require("remote-store-core", dist))
    cfg = tmp_path / "remote-store.toml"
    cfg.write_text(config)
    script = tmp_path / "smoke.py"
    script.write_text(SCRIPT)
    run_env = clean_env(VIRTUAL_ENV=str(python.parent.parent), **(env or {}))
    proc = subprocess.run(
        [str(python), str(script), str(cfg), url],
        capture_output=True,
        text=True,
        timeout=300,
        env=run_env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["read"] == "hello from a wheel"
    assert result["listed"] == ["dir/hello.txt"]
    assert result["failed"] == []
    return result


def test_s3_wheel(workspace_wheels: WheelSet, tmp_path: Path, s3_server: MotoS3Server, s3_bucket: str) -> None:
    config = f"""
[backends.main]
type = "s3"
options.bucket = "{s3_bucket}"
options.prefix = "wheel"
options.endpoint_url = "{s3_server.endpoint_url}"
options.region = "{s3_server.region}"
options.access_key_id = "{s3_server.access_key_id}"
options.secret_access_key = "{s3_server.secret_access_key}"

[stores.smoke]
backend = "main"
"""
    # the URL form carries no credentials or endpoint: give them the standard AWS way
    env = {
        "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key,
        "AWS_DEFAULT_REGION": s3_server.region,
        "AWS_ENDPOINT_URL_S3": s3_server.endpoint_url,
    }
    result = _run(workspace_wheels, tmp_path, "remote-store-s3", config, f"s3://{s3_bucket}/wheel", env)
    assert result["type"] == "s3" and result["url_read"] == "hello from a wheel"
    assert set(result["types"]) == {"http", "local", "memory", "s3", "s3-pyarrow"}  # type: ignore[arg-type]
    assert s3_server.secret_access_key not in str(result["repr"])


def test_sftp_wheel(workspace_wheels: WheelSet, tmp_path: Path, sftp_server_session: SFTPServer) -> None:
    srv = sftp_server_session
    base = srv.unique_base("wheel")
    config = f"""
[backends.main]
type = "sftp"
options.host = "{srv.host}"
options.port = {srv.port}
options.username = "{srv.username}"
options.password = "{srv.password}"
options.known_hosts = "{srv.known_hosts}"
options.base_path = "{base}"

[stores.smoke]
backend = "main"
"""
    result = _run(workspace_wheels, tmp_path, "remote-store-sftp", config)
    assert result["type"] == "sftp"
    assert srv.password not in str(result["repr"])
    assert Path(srv.local_path(f"{base}/dir/hello.txt")).read_bytes() == b"hello from a wheel"


def test_azure_wheel(workspace_wheels: WheelSet, tmp_path: Path, azurite: AzuriteServer, azure_container: str) -> None:
    config = f"""
[backends.main]
type = "azure"
options.container = "{azure_container}"
options.prefix = "wheel"
options.connection_string = "{azurite.connection_string}"

[stores.smoke]
backend = "main"
"""
    result = _run(workspace_wheels, tmp_path, "remote-store-azure", config)
    assert result["type"] == "azure"
    assert azurite.account_key not in str(result["repr"])


def test_gcs_wheel(workspace_wheels: WheelSet, tmp_path: Path, gcs_server: FakeGCSServer, gcs_bucket: str) -> None:
    config = f"""
[backends.main]
type = "gcs"
options.bucket = "{gcs_bucket}"
options.prefix = "wheel"
options.endpoint = "{gcs_server.endpoint}"
options.anonymous = true
options.project = "{gcs_server.project}"

[stores.smoke]
backend = "main"
"""
    url = f"gs://{gcs_bucket}/wheel?endpoint={gcs_server.endpoint}&anonymous=true"
    result = _run(workspace_wheels, tmp_path, "remote-store-gcs", config, url)
    assert result["type"] == "gcs" and result["url_read"] == "hello from a wheel"
    assert set(result["types"]) == {"http", "local", "memory", "gcs"}  # type: ignore[arg-type]
    python = tmp_path / "venv" / "bin" / "python"
    ref = subprocess.run(
        [str(python), "-c", "from remote_store.backends import GCSBackend; print(GCSBackend.__module__)"],
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert ref.returncode == 0 and "remote_store_gcs" in ref.stdout, ref.stderr
    blob = gcs_server.client().bucket(gcs_bucket).get_blob("wheel/dir/hello.txt")
    assert blob is not None and blob.download_as_bytes() == b"hello from a wheel"


def test_sql_wheel_sqlite(workspace_wheels: WheelSet, tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    config = f"""
[backends.main]
type = "sql-blob"
options.url = "sqlite:///{db}"

[stores.smoke]
backend = "main"
"""
    result = _run(workspace_wheels, tmp_path, "remote-store-sql", config, f"sqlite:///{db}")
    assert result["type"] == "sql-blob" and result["url_read"] == "hello from a wheel"
    assert db.stat().st_size > 0


def test_core_wheel_cli_lists_builtins(workspace_wheels: WheelSet, tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    install(python, *workspace_wheels.require("remote-store-core"))
    cli = python.parent / "remote-store"
    proc = subprocess.run([str(cli), "plugins"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("local", "memory", "http"):
        assert name in proc.stdout
    deps = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m; print(sorted(d.metadata['Name'] for d in m.distributions()))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "pluggy" in deps and "boto3" not in deps and "paramiko" not in deps
    missing = subprocess.run(
        [str(python), "-c", "from remote_store.backends import GCSBackend"], capture_output=True, text=True
    )
    assert missing.returncode != 0 and "pip install remote-store-gcs" in missing.stderr


EXT_SCRIPT = textwrap.dedent(
    """
    import json, sys, remote_store
    from remote_store.ext.batch import batch_copy
    from remote_store.ext.cache import CachedStore, cache
    from remote_store.ext.transfer import transfer
    import remote_store.ext.batch, remote_store_ext.batch
    out = {"same_module": remote_store.ext.batch is remote_store_ext.batch}
    with remote_store.open_store("smoke", config=sys.argv[1]) as store:
        store.write("a.txt", b"alpha", overwrite=True)
        result = batch_copy(store, [("a.txt", "b.txt")], overwrite=True)
        out["copied"] = sorted(result.succeeded)
        cached = cache(store)
        out["cached_read"] = cached.read_bytes("b.txt").decode()
        out["is_cached_store"] = isinstance(cached, CachedStore)
    try:
        import remote_store.ext.arrow  # pyarrow is not installed in this venv
    except ImportError as exc:
        out["arrow_error"] = str(exc)
    print(json.dumps(out))
    """
)


def test_ext_wheel_alone_with_core(workspace_wheels: WheelSet, tmp_path: Path) -> None:
    """`pip install remote-store-ext`: the reference's `remote_store.ext.*` paths work with core alone,
    and a module whose extra is missing names the `pip install` to run."""
    python = make_venv(tmp_path / "venv")
    install(python, *workspace_wheels.require("remote-store-core", "remote-store-ext"))
    cfg = tmp_path / "remote-store.toml"
    cfg.write_text(
        f'[backends.disk]\ntype = "local"\noptions.root = "{tmp_path / "data"}"\n\n[stores.smoke]\nbackend = "disk"\n'
    )
    script = tmp_path / "ext_smoke.py"
    script.write_text(EXT_SCRIPT)
    proc = subprocess.run(
        [str(python), str(script), str(cfg)],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(VIRTUAL_ENV=str(python.parent.parent)),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["same_module"] is True
    assert out["copied"] == ["a.txt"]  # BatchResult names the copied sources; b.txt is read back below
    assert out["cached_read"] == "alpha" and out["is_cached_store"] is True
    assert "pip install" in out["arrow_error"] and "remote-store-ext[arrow]" in out["arrow_error"]
