"""The fast `FileInfo` builder of the local backend gives exactly what the constructor gives."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from remote_store import FileInfo
from remote_store.backends import _local_info


def test_fast_builder_is_in_use() -> None:
    # If FileInfo changes shape the builder falls back; this flags that the speed-up is gone.
    assert _local_info.file_info is not _local_info._slow


@pytest.mark.parametrize("build", [_local_info.file_info, _local_info._slow])
def test_builder_equals_constructor(build: _local_info.Builder) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC)
    got = build("a/b/c.txt", "c.txt", 17, when, "1f-11")
    want = FileInfo(path="a/b/c.txt", name="c.txt", size=17, modified_at=when, etag="1f-11")
    assert got == want
    assert repr(got) == repr(want)
    assert type(got) is FileInfo
    assert dict(got.metadata) == {}
    with pytest.raises(TypeError):
        got.metadata["k"] = "v"  # type: ignore[index]
    with pytest.raises(AttributeError):
        got.size = 3  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(got)) == want
