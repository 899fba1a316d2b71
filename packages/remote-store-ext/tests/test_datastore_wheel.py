"""The built ``remote-store-ext`` wheel with core alone (no NumPy, pandas, PyArrow, Polars, PyYAML):
`DataStore` and `StorePath` import and work for the stdlib codecs, and a frame codec names its extra."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from testing.wheels import WheelSet, clean_env, install, make_venv, workspace_wheels  # noqa: F401 (fixture)

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from remote_store import Store
    from remote_store.backends import LocalBackend
    from remote_store.ext.datastore import DataStore, CodecError
    from remote_store.ext.path import StorePath
    store = Store(LocalBackend(sys.argv[1]))
    ds = DataStore(store)
    ds["cfg"] = {"a": 1}
    ds["rows"] = [{"r": 1}]
    out = {"keys": list(ds), "cfg": ds["cfg"], "rows": ds["rows"]}
    out["path"] = StorePath(store, "cfg.json").load()
    store.write("t.parquet", b"PAR1", overwrite=True)
    try:
        ds["t"]
    except CodecError as exc:
        out["parquet_error"] = str(exc)
    out["heavy"] = sorted(m for m in ("numpy", "pandas", "pyarrow", "polars", "yaml") if m in sys.modules)
    print(json.dumps(out))
    """
)


def test_ext_datastore_with_core_alone(workspace_wheels: WheelSet, tmp_path: Path) -> None:  # noqa: F811
    python = make_venv(tmp_path / "venv")
    install(python, *workspace_wheels.require("remote-store-core", "remote-store-ext"))
    script = tmp_path / "ds_smoke.py"
    script.write_text(SCRIPT)
    (tmp_path / "data").mkdir()
    proc = subprocess.run(
        [str(python), str(script), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(VIRTUAL_ENV=str(python.parent.parent)),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["keys"] == ["cfg", "rows"] and out["cfg"] == {"a": 1} and out["rows"] == [{"r": 1}]
    assert out["path"] == {"a": 1}
    assert 'pip install "remote-store-ext[arrow]"' in out["parquet_error"]
    assert out["heavy"] == []
