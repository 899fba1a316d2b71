"""Registry: lazy, shared backends; close-all; pickling; construction errors."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, ClassVar

import pytest

from remote_store import (
    Backend,
    BackendSpec,
    ConfigError,
    PluginHost,
    Registry,
    RegistryConfig,
    RemoteStoreError,
    hookimpl,
)
from remote_store.backends import LocalBackend, MemoryBackend


def _cfg(tmp_path: Path) -> RegistryConfig:
    return RegistryConfig.from_dict(
        {
            "backends": {
                "disk": {"type": "local", "options": {"root": str(tmp_path / "d")}},
                "mem": {"type": "memory"},
            },
            "stores": {
                "a": {"backend": "disk", "root_path": "a"},
                "b": {"backend": "disk", "root_path": "b"},
                "m": {"backend": "mem"},
            },
        }
    )


def test_backends_are_lazy_and_shared(tmp_path: Path, plugin_host: PluginHost) -> None:
    reg = Registry(_cfg(tmp_path))
    assert not (tmp_path / "d").exists()  # nothing built yet
    a, b = reg.get_store("a"), reg.store("b")
    assert a.backend is b.backend and isinstance(a.backend, LocalBackend)
    a.write("x.txt", b"1")
    assert (tmp_path / "d" / "a" / "x.txt").read_bytes() == b"1"
    assert isinstance(reg.get_store("m").backend, MemoryBackend)


def test_unknown_store_and_backend(tmp_path: Path, plugin_host: PluginHost) -> None:
    reg = Registry(_cfg(tmp_path))
    with pytest.raises(ConfigError, match="no store named 'zzz'"):
        reg.get_store("zzz")
    with pytest.raises(ConfigError, match="no backend named 'zzz'"):
        reg.get_backend("zzz")


def test_unknown_type_names_the_package(plugin_host: PluginHost) -> None:
    reg = Registry(RegistryConfig.from_dict({"backends": {"b": {"type": "s3"}}, "stores": {"s": {"backend": "b"}}}))
    with pytest.raises(ConfigError) as ei:
        reg.get_store("s")
    msg = str(ei.value)
    assert "pip install remote-store-s3" in msg and "local" in msg and "memory" in msg


def test_bad_option_names_the_key(plugin_host: PluginHost) -> None:
    reg = Registry(
        RegistryConfig.from_dict(
            {"backends": {"b": {"type": "local", "options": {"rooot": "/x"}}}, "stores": {"s": {"backend": "b"}}}
        )
    )
    with pytest.raises(ConfigError) as ei:
        reg.get_store("s")
    assert "backends.b.options" in str(ei.value) and "rooot" in str(ei.value)


class _Closer(MemoryBackend):
    TYPE = "closer"
    closed: ClassVar[list[str]] = []

    def __init__(self, name: str | None = None, fail: bool = False) -> None:
        super().__init__(name)
        self._fail = fail

    @property
    def options(self) -> dict[str, Any]:
        return {"name": self._name, "fail": self._fail}

    def close(self) -> None:
        _Closer.closed.append(str(self._name))
        if self._fail:
            raise RuntimeError("boom")


class _CloserPlugin:
    @hookimpl
    def remote_store_register_backends(self, register: Any) -> None:
        register(BackendSpec("closer", f"{__name__}:_Closer"))


def test_close_closes_all_even_if_one_raises(plugin_host: PluginHost) -> None:
    plugin_host.register(_CloserPlugin(), name="closer")
    _Closer.closed.clear()
    cfg = RegistryConfig.from_dict(
        {
            "backends": {
                "x": {"type": "closer", "options": {"name": "x", "fail": True}},
                "y": {"type": "closer", "options": {"name": "y"}},
            },
            "stores": {"sx": {"backend": "x"}, "sy": {"backend": "y"}},
        }
    )
    reg = Registry(cfg)
    reg.get_store("sx")
    reg.get_store("sy")
    with pytest.raises(RemoteStoreError):
        reg.close()
    assert sorted(_Closer.closed) == ["x", "y"]


def test_registry_context_manager_and_pickle(tmp_path: Path, plugin_host: PluginHost) -> None:
    with Registry(_cfg(tmp_path)) as reg:
        reg.get_store("a").write("f", b"data")
        again = pickle.loads(pickle.dumps(reg))
        assert again.config == reg.config
        assert again.get_store("a").read_bytes("f") == b"data"


def test_store_pickles_by_configuration(tmp_path: Path) -> None:
    from remote_store import Store

    store = Store(LocalBackend(tmp_path), "sub")
    store.write("k", b"v")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.root_path == "sub" and clone.read_bytes("k") == b"v"
    assert isinstance(clone.backend, Backend) and clone.backend is not store.backend
