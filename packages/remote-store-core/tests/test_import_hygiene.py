"""`import remote_store` and plugin discovery import no storage SDK."""

from __future__ import annotations

import json
import subprocess
import sys

SDKS = ("boto3", "botocore", "paramiko", "azure", "sqlalchemy", "pyarrow", "requests")

SCRIPT = """
import json, sys, warnings
warnings.simplefilter("ignore")
import remote_store
after_import = sorted(m for m in sys.modules if m.split(".")[0] in SDKS)
import pluggy  # noqa
pluggy_at_import = "pluggy" in sys.modules
remote_store.plugins()
types = sorted(remote_store.get_plugin_host().backend_types())
after_discovery = sorted(m for m in sys.modules if m.split(".")[0] in SDKS)
print(json.dumps({"import": after_import, "discovery": after_discovery, "types": types}))
"""


def test_no_sdk_imported_by_import_or_discovery() -> None:
    code = f"SDKS = {SDKS!r}\n" + SCRIPT
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["import"] == []
    assert result["discovery"] == []
    assert {"local", "memory", "http"} <= set(result["types"])


def test_import_does_not_load_plugins() -> None:
    code = "import sys, remote_store; print(any(m.startswith('remote_store._plugins._host') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
