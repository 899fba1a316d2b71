"""Third-party codecs: registered in-process, through ``register_codec``, and through the
``remote_store.codecs`` entry-point group (a real `EntryPoint` loading a test module)."""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Iterator, Mapping
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from remote_store import Store
from remote_store.backends import MemoryBackend
from remote_store.errors import ConfigError
from remote_store_ext.datastore import (
    ENTRY_POINT_GROUP,
    Codec,
    CodecError,
    CodecRegistry,
    DataStore,
    NoCodec,
    default_registry,
    register_codec,
)
from remote_store_ext.path import StorePath


class Point:
    """A value type no built-in codec knows."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (other.x, other.y) == (self.x, self.y)

    __hash__ = None  # type: ignore[assignment]


class PointCodec(Codec):
    """``Point`` ↔ ``.point`` as ``"x,y"``."""

    name = "point"
    extensions = (".point",)
    priority = 5

    def can_encode(self, value: Any) -> bool:
        return isinstance(value, Point)

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, Point):
            raise NoCodec("not a Point")
        return f"{value.x},{value.y}".encode()

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        try:
            x, y = data.decode().split(",")
            return Point(int(x), int(y))
        except ValueError as exc:
            raise CodecError(f"bad point: {exc}") from exc


@pytest.fixture
def global_point() -> Iterator[None]:
    register_codec(PointCodec())
    yield
    default_registry().unregister("point")


def test_codec_in_a_private_registry() -> None:
    registry = CodecRegistry.default()
    registry.register(PointCodec())
    store = Store(MemoryBackend())
    ds = DataStore(store, codecs=registry)
    ds["p"] = Point(1, 2)
    assert store.read_bytes("p.point") == b"1,2"
    assert ds["p"] == Point(1, 2)
    with pytest.raises(NoCodec):  # the default registry does not know it
        DataStore(store)["q"] = Point(0, 0)
    assert DataStore(store)["p"] == b"1,2"  # ... and reads the unknown extension as bytes


def test_register_codec_reaches_datastore_and_storepath(global_point: None) -> None:
    store = Store(MemoryBackend())
    DataStore(store)["p"] = Point(3, 4)
    assert StorePath(store, "p.point").load() == Point(3, 4)
    written = StorePath(store, "q").save(Point(5, 6))
    assert written.name == "q.point" and DataStore(store)["q"] == Point(5, 6)


def test_duplicate_names_and_extensions_are_refused() -> None:
    registry = CodecRegistry.default()
    registry.register(PointCodec())
    with pytest.raises(ConfigError, match="already registered"):
        registry.register(PointCodec())

    class Other(PointCodec):
        name = "other-json"
        extensions = (".json",)

    with pytest.raises(ConfigError, match="'json'"):
        registry.register(Other())
    registry.register(Other(), replace=True)
    assert registry.for_extension(".json") is not None and registry.for_extension(".json").name == "other-json"
    with pytest.raises(ConfigError):
        registry.register("not a codec")  # type: ignore[arg-type]


def test_entry_point_codecs_load_and_a_broken_one_only_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = tmp_path / "rs_point_plugin.py"
    module.write_text(
        textwrap.dedent(
            """
            from test_point_support import PointCodecForEP

            def remote_store_register_codecs(register):
                register(PointCodecForEP())
            """
        )
    )
    (tmp_path / "test_point_support.py").write_text(
        textwrap.dedent(
            """
            from remote_store_ext.datastore import Codec

            class PointCodecForEP(Codec):
                name = "ep-point"
                extensions = (".eppoint",)

                def can_encode(self, value):
                    return isinstance(value, tuple) and len(value) == 2

                def encode(self, value):
                    return ("%d;%d" % value).encode()

                def decode(self, data, options):
                    a, b = data.decode().split(";")
                    return (int(a), int(b))
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    good = EntryPoint("point", "rs_point_plugin:remote_store_register_codecs", ENTRY_POINT_GROUP)
    broken = EntryPoint("broken", "rs_no_such_module:register", ENTRY_POINT_GROUP)
    registry = CodecRegistry.default()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        failed = registry.load_entry_points([broken, good])
    assert failed == ["broken"]
    assert any("broken" in str(w.message) for w in caught)
    store = Store(MemoryBackend())
    ds = DataStore(store, codecs=registry)
    ds["pair"] = (7, 8)
    assert store.read_bytes("pair.eppoint") == b"7;8"
    assert ds["pair"] == (7, 8)


def test_codec_instance_as_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rs_inst_plugin.py").write_text(
        textwrap.dedent(
            """
            from remote_store_ext.datastore import Codec

            class Upper(Codec):
                name = "upper"
                extensions = (".up",)

                def can_encode(self, value):
                    return False

                def encode(self, value):
                    return str(value).upper().encode()

                def decode(self, data, options):
                    return data.decode().lower()

            CODEC = Upper()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = CodecRegistry()
    assert registry.load_entry_points([EntryPoint("up", "rs_inst_plugin:CODEC", ENTRY_POINT_GROUP)]) == []
    store = Store(MemoryBackend())
    ds = DataStore(store, codecs=registry)
    ds["x.up"] = "hello"
    assert store.read_bytes("x.up") == b"HELLO" and ds["x"] == "hello"


def test_concurrent_registration_loses_nothing() -> None:
    import threading

    registry = CodecRegistry()

    def make(i: int) -> Codec:
        cls = type(f"C{i}", (PointCodec,), {"name": f"c{i}", "extensions": (f".c{i}",)})
        return cls()  # type: ignore[no-any-return]

    codecs = [make(i) for i in range(64)]
    barrier = threading.Barrier(8)

    def work(chunk: list[Codec]) -> None:
        barrier.wait()
        for codec in chunk:
            registry.register(codec)
            assert registry.for_extension(codec.extensions[0]) is codec

    threads = [threading.Thread(target=work, args=(codecs[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c.name for c in registry.codecs()) == sorted(c.name for c in codecs)
