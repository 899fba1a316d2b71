"""The package's public surface and import hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import remote_store_sql

REPO = Path(__file__).resolve().parents[3]


def test_all_is_exactly_the_public_surface() -> None:
    assert remote_store_sql.__all__ == sorted(remote_store_sql.__all__)
    assert set(remote_store_sql.__all__) == {"SQLBlobBackend", "SQLQueryBackend"}
    for name in remote_store_sql.__all__:
        obj = getattr(remote_store_sql, name)
        assert obj.__name__ == name
        assert obj.__doc__
    public = {n for n in dir(remote_store_sql) if not n.startswith("_")}
    assert public - {"annotations", "TYPE_CHECKING", "Any"} == set(remote_store_sql.__all__)


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        remote_store_sql.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_and_plugin_imports_no_sdk() -> None:
    code = (
        "import sys, remote_store_sql, remote_store_sql._plugin\n"
        "bad = [m for m in ('sqlalchemy', 'pyarrow', 'psycopg', 'pymysql') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_blob_backend_does_not_need_pyarrow() -> None:
    code = (
        "import sys\n"
        "sys.modules['pyarrow'] = None  # make 'import pyarrow' fail\n"
        "from remote_store import Store\n"
        "from remote_store_sql import SQLBlobBackend, SQLQueryBackend\n"
        "from remote_store.errors import ConfigError\n"
        "s = Store(SQLBlobBackend('sqlite://'))\n"
        "s.write('a', b'1'); assert s.read_bytes('a') == b'1'\n"
        "try:\n"
        "    SQLQueryBackend('sqlite://', queries={'a.csv': 'SELECT 1'})\n"
        "except ConfigError as e:\n"
        "    print('needs', 'remote-store-sql[query]' in str(e))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "needs True"
