"""Hostile-path fuzz on every backend (issue 16).

Hypothesis draws paths with ``..`` and its encodings, absolute and UNC prefixes, backslashes,
drive letters, NUL and control characters, lone surrogates, unicode look-alikes in every
normalisation form, very long names, trailing dots, spaces and slashes, and the names of
symlinks planted in the local and SFTP roots (pointing outside). Each example runs write,
read, exists, get_file_info, list_files, glob (where declared), copy, move and delete with
them on *every* backend in turn (generating an example costs more CPU than most backends'
calls, so one hypothesis run drives all of them); `tests.fuzz._fuzz` lists the properties.

``REMOTE_STORE_FUZZ_KINDS`` (comma-separated) limits the backends, e.g. to debug one.
``REMOTE_STORE_FUZZ_EXAMPLES`` sets the examples per backend (default 500, a bounded CI sample
of about 3.5 minutes; `scripts/soak.sh` runs 2,000, about 14 minutes). Every operation sees at
least that many hostile inputs on every backend; the test asserts those counts.
"""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import given

from remote_store import Store
from remote_store.backends import MemoryBackend
from remote_store.errors import InvalidPath

from ._fuzz import FUZZ_SETTINGS, Fuzzer, fuzz_examples
from ._paths import hostile_paths
from ._targets import KINDS, LINK_NAMES, open_target


def test_hostile_paths_stay_inside_the_root_and_raise_only_typed_errors(request: pytest.FixtureRequest) -> None:
    with contextlib.ExitStack() as stack:
        kinds = [k for k in os.environ.get("REMOTE_STORE_FUZZ_KINDS", "").split(",") if k] or list(KINDS)
        fuzzers = [Fuzzer(stack.enter_context(open_target(kind, request))) for kind in kinds]
        paths = hostile_paths(LINK_NAMES)

        @FUZZ_SETTINGS
        @given(p=paths, q=paths, r=paths)
        def run(p: str, q: str, r: str) -> None:
            for fuzzer in fuzzers:
                fuzzer.example(p, q, r)

        run()
        for fuzzer in fuzzers:
            print(fuzzer.finish(fuzz_examples()))


@pytest.mark.parametrize("path", ["a\ud800", "\udfff/b", "dir/x\udc80y.txt"])
def test_lone_surrogates_are_invalid_paths(path: str) -> None:
    """Found by the fuzz: GCS stored ``a\\ud800`` under another name; every store refuses it now."""
    store = Store(MemoryBackend())
    with pytest.raises(InvalidPath):
        store.write(path, b"x")
    with pytest.raises(InvalidPath):
        store.exists(path)
