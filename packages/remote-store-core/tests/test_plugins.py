"""Plugin host: in-process plugins, entry points that load, fail or conflict."""

from __future__ import annotations

import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import remote_store
from remote_store import (
    BackendSpec,
    ConfigError,
    ConfigSource,
    MiddlewareSpec,
    PluginHost,
    RegistryConfig,
    Store,
    hookimpl,
    use_plugin_host,
)
from remote_store._plugins._host import PluginWarning
from remote_store.backends import MemoryBackend


class _Plugin:
    @hookimpl
    def remote_store_register_backends(self, register: Any) -> None:
        register(BackendSpec("mem2", "remote_store.backends._memory:MemoryBackend", "demo", ("mem2",)))

    @hookimpl
    def remote_store_register_middleware(self, register: Any) -> None:
        register(MiddlewareSpec("tag", f"{__name__}:tag_factory"))


class TaggedBackend(MemoryBackend):
    """A middleware wrapper used by the test."""

    def __init__(self, inner: MemoryBackend, label: str) -> None:
        super().__init__()
        self.inner, self.label = inner, label


def tag_factory(backend: Any, label: str = "x") -> TaggedBackend:
    return TaggedBackend(backend, label)


def test_builtin_types_registered(plugin_host: PluginHost) -> None:
    assert {"local", "memory", "http"} <= set(plugin_host.backend_types())
    builtin = next(p for p in plugin_host.plugins() if p.name == "builtin")
    assert builtin.loaded and set(builtin.backends) == {"local", "memory", "http"}


def test_in_process_plugin_backend_and_middleware(plugin_host: PluginHost) -> None:
    plugin_host.register(_Plugin(), name="demo")
    assert plugin_host.backend_class("mem2") is MemoryBackend
    assert "mem2" in next(p for p in plugin_host.plugins() if p.name == "demo").backends
    cfg = RegistryConfig.from_dict(
        {
            "backends": {"b": {"type": "mem2"}},
            "stores": {"s": {"backend": "b", "middleware": [{"name": "tag", "options": {"label": "L"}}]}},
        }
    )
    store = remote_store.Registry(cfg).get_store("s")
    assert isinstance(store.backend, TaggedBackend) and store.backend.label == "L"
    s2 = remote_store.open_store("mem2://")
    assert isinstance(s2.backend, MemoryBackend)
    with pytest.raises(ConfigError, match="unknown middleware"):
        plugin_host.middleware("nope")


def test_duplicate_backend_type_warns_and_keeps_first(plugin_host: PluginHost) -> None:
    class Dup:
        @hookimpl
        def remote_store_register_backends(self, register: Any) -> None:
            register(BackendSpec("local", "remote_store.backends._memory:MemoryBackend", "dup"))

    plugin_host.register(Dup(), name="dup")
    with pytest.warns(PluginWarning, match="registered by both"):
        cls = plugin_host.backend_class("local")
    assert cls.__name__ == "LocalBackend"


def test_hook_that_raises_is_reported_not_fatal(plugin_host: PluginHost) -> None:
    class Broken:
        @hookimpl
        def remote_store_register_backends(self, register: Any) -> None:
            raise RuntimeError("plugin bug")

    plugin_host.register(Broken(), name="broken-hook")
    with pytest.warns(PluginWarning, match="plugin bug"):
        types = plugin_host.backend_types()
    assert "local" in types
    info = next(p for p in plugin_host.plugins() if p.name == "broken-hook")
    assert not info.loaded and "plugin bug" in info.error


def test_spec_with_bad_target_gives_config_error(plugin_host: PluginHost) -> None:
    class Bad:
        @hookimpl
        def remote_store_register_backends(self, register: Any) -> None:
            register(BackendSpec("ghost", "no_such_module_rs:Ghost", "remote-store-ghost"))
            register(BackendSpec("notbackend", "os:getcwd", "x"))

    plugin_host.register(Bad(), name="bad")
    with pytest.raises(ConfigError, match="pip install remote-store-ghost"):
        plugin_host.backend_class("ghost")
    with pytest.raises(ConfigError, match=r"not a remote_store\.Backend"):
        plugin_host.backend_class("notbackend")


@pytest.fixture
def fake_dists(tmp_path: Path) -> Iterator[Path]:
    """Real distributions on sys.path: one good plugin, one whose import fails."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "rs_good_plugin.py").write_text(
        textwrap.dedent(
            """
            from remote_store import hookimpl, BackendSpec

            @hookimpl
            def remote_store_register_backends(register):
                register(BackendSpec("goodmem", "remote_store.backends._memory:MemoryBackend", "rs-good-plugin"))
            """
        )
    )
    (site / "rs_broken_plugin.py").write_text("raise ImportError('missing dependency xyz')\n")
    for name, module in (("rs_good_plugin", "rs_good_plugin"), ("rs_broken_plugin", "rs_broken_plugin")):
        dist = site / f"{name}-1.2.3.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 1.2.3\n")
        (dist / "entry_points.txt").write_text(f"[remote_store]\n{name} = {module}\n")
    sys.path.insert(0, str(site))
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        for mod in ("rs_good_plugin", "rs_broken_plugin"):
            sys.modules.pop(mod, None)


def test_entry_points_broken_plugin_is_one_warning(fake_dists: Path) -> None:
    host = PluginHost()
    with use_plugin_host(host), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        infos = {p.name: p for p in remote_store.plugins()}
        assert "goodmem" in host.backend_types()
    msgs = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert any("rs_broken_plugin" in m and "rs-broken-plugin" in m and "1.2.3" in m for m in msgs)
    assert infos["rs_good_plugin"].loaded and infos["rs_good_plugin"].backends == ("goodmem",)
    assert not infos["rs_broken_plugin"].loaded and "missing dependency xyz" in infos["rs_broken_plugin"].error
    assert infos["rs_broken_plugin"].distribution == "rs-broken-plugin"
    with pytest.raises(ConfigError, match="rs_broken_plugin"):
        host.backend_spec("nothing-here")


def test_strict_mode_reraises(fake_dists: Path) -> None:
    host = PluginHost(strict=True)
    with pytest.raises(ImportError, match="missing dependency xyz"):
        host.plugins()


def test_entry_points_load_once_and_lazily(fake_dists: Path) -> None:
    host = PluginHost()
    assert "rs_good_plugin" not in sys.modules
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        host.backend_types()
        assert "rs_good_plugin" in sys.modules
        first = host.pm.get_plugin("rs_good_plugin")
        host.plugins()
        assert host.pm.get_plugin("rs_good_plugin") is first


def test_config_source_from_plugin(plugin_host: PluginHost) -> None:
    cfg = RegistryConfig.from_dict(
        {
            "backends": {"m": {"type": "memory", "options": {"name": "plugin-src"}}},
            "stores": {"from-plugin": {"backend": "m"}},
        }
    )

    class Src:
        @hookimpl
        def remote_store_register_config_sources(self, register: Any) -> None:
            register(ConfigSource("demo", lambda: cfg, priority=5))

    plugin_host.register(Src(), name="src")
    assert plugin_host.config_sources()[0].name == "demo"
    store = remote_store.open_store("from-plugin")
    assert isinstance(store, Store) and isinstance(store.backend, MemoryBackend)
