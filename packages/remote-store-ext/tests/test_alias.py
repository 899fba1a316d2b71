"""``remote_store.ext.<name>`` is ``remote_store_ext.<name>``; without the wheel it says what to install."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

MODULES = [
    "arrow",
    "batch",
    "cache",
    "fsspec",
    "fsspec_backend",
    "glob",
    "integrity",
    "middleware",
    "observe",
    "otel",
    "parquet",
    "partition",
    "streams",
    "transfer",
    "write",
    "yaml",
]

EXPORTS = {
    "arrow": ["StoreFileSystemHandler", "pyarrow_fs"],
    "parquet": ["DatasetManifest", "ParquetDatasetStore"],
    "fsspec": ["RemoteStoreFile", "RemoteStoreFileSystem"],
    "batch": ["BatchResult", "batch_copy", "batch_delete", "batch_exists"],
    "cache": ["CacheBackend", "CacheEntry", "CacheStats", "CachedStore", "DiskCache", "MemoryCache", "cache"],
    "glob": ["glob_files"],
    "fsspec_backend": ["FsspecBackend", "SECRET_OPTION_NAMES", "TEMP_PREFIX"],
    "middleware": ["CacheMiddleware", "EVENT_LOGGER", "ObserveMiddleware", "OtelMiddleware", "StoreMiddleware"],
    "integrity": ["checksum", "content_digest", "verify", "verify_hex"],
    "observe": [
        "BufferedObserver",
        "ObservedStore",
        "StoreEvent",
        "get_correlation_id",
        "observe",
        "reset_correlation_id",
        "set_correlation_id",
    ],
    "partition": ["DEFAULT_PARTITION", "ParsedPartition", "parse_partition", "partition_path"],
    "streams": ["ChecksumReader", "ChecksumWriter", "ProgressReader", "ProgressWriter", "read_with_progress"],
    "transfer": ["TransferProgress", "TransferResult", "download", "transfer", "upload"],
    "write": ["HashedAtomicHandle", "open_atomic_with_hash", "write_with_hash"],
    "yaml": ["from_yaml"],
    "otel": ["otel_hooks", "otel_observe"],
}


@pytest.mark.parametrize("name", MODULES)
def test_alias_is_the_same_module(name: str) -> None:
    alias = importlib.import_module(f"remote_store.ext.{name}")
    real = importlib.import_module(f"remote_store_ext.{name}")
    assert alias is real
    assert sys.modules[f"remote_store.ext.{name}"] is real
    assert real.__spec__ is not None and real.__spec__.name == f"remote_store_ext.{name}"
    assert sorted(real.__all__) == EXPORTS[name]
    for export in real.__all__:
        assert getattr(real, export).__doc__, f"{name}.{export} has no docstring"


def test_from_import_forms() -> None:
    import remote_store_ext.batch
    from remote_store.ext import batch
    from remote_store.ext.batch import batch_copy

    assert batch is remote_store_ext.batch and batch_copy is remote_store_ext.batch.batch_copy


def test_unknown_module_is_plain_module_not_found() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("remote_store.ext.no_such_extension")


def _run(code: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


BLOCKER = """
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "remote_store_ext" or name.startswith("remote_store_ext."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
"""


def test_missing_wheel_names_the_install_command() -> None:
    code = (
        BLOCKER
        + """
out = {}
for mod in ("remote_store.ext.cache", "remote_store.ext.yaml"):
    try:
        __import__(mod)
    except ModuleNotFoundError as exc:
        out[mod] = [type(exc).__name__, str(exc), exc.name]
try:
    from remote_store.ext.batch import batch_copy
except ImportError as exc:
    out["from"] = str(exc)
print(json.dumps(out))
"""
    )
    out = _run(code)
    cache = out["remote_store.ext.cache"]
    assert isinstance(cache, list) and cache[0] == "ModuleNotFoundError"
    assert "pip install remote-store-ext" in cache[1] and cache[2] == "remote_store.ext.cache"
    yaml = out["remote_store.ext.yaml"]
    assert isinstance(yaml, list) and 'pip install "remote-store-ext[yaml]"' in yaml[1]
    assert "pip install remote-store-ext" in str(out["from"])


def test_import_remote_store_does_not_import_ext() -> None:
    code = "import json, sys, remote_store; print(json.dumps(sorted(m for m in sys.modules if 'ext' in m)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert not [m for m in loaded if m.startswith(("remote_store.ext", "remote_store_ext"))]


def test_ext_package_is_cheap() -> None:
    code = (
        "import json, sys, remote_store; before = set(sys.modules); import remote_store.ext; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    new = json.loads(out.stdout.strip().splitlines()[-1])
    assert "remote_store.ext" in new
    assert [m for m in new if m != "remote_store.ext" and not m.startswith("importlib")] == []
