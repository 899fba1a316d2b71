"""Hostile-path fuzz on every backend (issue 16).

Hypothesis draws paths with ``..`` and its encodings, absolute and UNC prefixes, backslashes,
drive letters, NUL and control characters, lone surrogates, unicode look-alikes in every
normalisation form, very long names, trailing dots, spaces and slashes, and the names of
symlinks planted in the local and SFTP roots (pointing outside). Each example runs write,
read, exists, get_file_info, list_files, glob (where declared), copy, move and delete with
them on one backend: the test is parametrized by backend, so pytest-xdist workers share the
backends (generating 2,000 examples costs about 16 s of CPU per backend, far less than the
slow backends' calls); `tests.fuzz._fuzz` lists the properties.

``REMOTE_STORE_FUZZ_KINDS`` (comma-separated) limits the backends collected, e.g. to debug one.
``REMOTE_STORE_FUZZ_EXAMPLES`` sets the examples per backend (default 2,000, the CI sample of
issue 16; about 14 minutes of CPU over all backends, half that on two workers). Every operation
sees at least that many hostile inputs on every backend; the test asserts those counts.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given

from remote_store import Store
from remote_store.backends import MemoryBackend
from remote_store.errors import InvalidPath

from ._fuzz import FUZZ_SETTINGS, Fuzzer, fuzz_examples
from ._paths import hostile_paths
from ._targets import KINDS, LINK_NAMES, open_target


def _kinds() -> list[str]:
    return [k for k in os.environ.get("REMOTE_STORE_FUZZ_KINDS", "").split(",") if k] or list(KINDS)


@pytest.mark.parametrize("kind", _kinds())
def test_hostile_paths_stay_inside_the_root_and_raise_only_typed_errors(
    kind: str, request: pytest.FixtureRequest
) -> None:
    with open_target(kind, request) as target:
        fuzzer = Fuzzer(target)
        paths = hostile_paths(LINK_NAMES)

        @FUZZ_SETTINGS
        @given(p=paths, q=paths, r=paths)
        def run(p: str, q: str, r: str) -> None:
            fuzzer.example(p, q, r)

        run()
        print(fuzzer.finish(fuzz_examples()))


@pytest.mark.parametrize("path", ["a\ud800", "\udfff/b", "dir/x\udc80y.txt"])
def test_lone_surrogates_are_invalid_paths(path: str) -> None:
    """Found by the fuzz: GCS stored ``a\\ud800`` under another name; every store refuses it now."""
    store = Store(MemoryBackend())
    with pytest.raises(InvalidPath):
        store.write(path, b"x")
    with pytest.raises(InvalidPath):
        store.exists(path)
