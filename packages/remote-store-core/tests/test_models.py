"""Models and capabilities: frozen, hashable where sensible, picklable."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

from remote_store import (
    Capability,
    CapabilitySet,
    ContentDigest,
    FileInfo,
    FolderEntry,
    FolderInfo,
    ResolutionPlan,
    WriteResult,
    WriteSource,
)


def test_models_are_frozen_and_pickle() -> None:
    now = datetime.now(UTC)
    objs = [
        WriteResult("a", 1, WriteSource.NATIVE, ContentDigest("md5", "ab"), "e", "v", now, {"k": "v"}),
        FileInfo("a/b", "b", 3, now, "e", None, "text/plain", {"x": "y"}),
        FolderEntry("a", "a"),
        FolderInfo("a", 2, 10, now),
        ResolutionPlan("local", "r", "r/a", "/x/r/a", {"root": "/x"}),
    ]
    for obj in objs:
        assert pickle.loads(pickle.dumps(obj)) == obj
        field = dataclasses.fields(obj)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, field, "zzz")


def test_metadata_is_read_only() -> None:
    src = {"k": "v"}
    info = FileInfo("a", "a", 1, metadata=src)
    src["k"] = "changed"
    assert info.metadata["k"] == "v"
    with pytest.raises(TypeError):
        info.metadata["k"] = "x"  # type: ignore[index]


def test_capability_set() -> None:
    caps = CapabilitySet([Capability.READ, "list"])
    assert Capability.LIST in caps and Capability.WRITE not in caps
    assert len(CapabilitySet.all()) == len(Capability)
    assert (caps | {Capability.GLOB}) == CapabilitySet(["read", "list", "glob"])
    assert (CapabilitySet.all() - caps) & caps == CapabilitySet()
    assert hash(caps) == hash(CapabilitySet(["list", "read"]))
    assert pickle.loads(pickle.dumps(caps)) == caps
    assert list(caps) == [Capability.READ, Capability.LIST]
    with pytest.raises(AttributeError):
        caps._items = frozenset()  # type: ignore[misc]
    with pytest.raises(ValueError):
        CapabilitySet(["teleport"])
    assert "READ" in repr(caps)


def test_errors_pickle_and_format() -> None:
    from remote_store import CapabilityNotSupported, NotFound

    e = NotFound("file not found", path="a/b", backend="s3")
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is NotFound and again.path == "a/b" and again.backend == "s3"
    assert "a/b" in str(e) and "s3" in str(e)
    c = pickle.loads(pickle.dumps(CapabilityNotSupported("x", capability="GLOB")))
    assert c.capability == "GLOB"
