"""The ``remote-store`` command line: inspect plugins and move files between any two stores.

Addresses name a file or folder in a store:

* ``STORE:path`` — a named store from the configuration (``--config FILE``, else the
  config sources `remote_store.open_store` consults: ``$REMOTE_STORE_CONFIG``,
  ``./remote-store.toml``, ``[tool.remote-store]`` in ``./pyproject.toml``, the user config);
* a URL — ``file:///tmp/x/a.txt``, ``memory://name/a.txt``, ``https://host/data/a.csv``,
  ``s3://bucket/key`` (any scheme an installed plugin opens);
* a local path (like ``aws s3 cp`` and rclone) — anything starting with ``/``, ``./``,
  ``../``, ``~`` (also ``.`` and ``..`` alone), and a bare path without ``:`` that exists
  on disk (``data.csv``, ``out/dir``). A ``:`` means ``STORE:path``; write ``./a:b`` for a
  local name containing one, and ``./new`` for a local target that does not exist yet.

Local file arguments of ``put`` and ``get`` are plain paths. Exit status: 0 success,
1 an operation failed (``remote-store: error: <ErrorClass>: <message>``), 2 bad usage,
130 interrupted.

Modules: `_parser` (arguments, help, exit codes), `_session` (addresses → stores),
`_commands` (one method per command), `_copy` (the cp/put/get/mv engine: remote-store-ext's
parallel transfer when installed, else a sequential stdlib copy), `_progress` (tqdm or
stdlib bar on a TTY), `_output` (human sizes, JSON), `_main` (errors → exit status).
"""

from __future__ import annotations

from remote_store._cli._main import main, version_text
from remote_store._cli._parser import PROG, UsageError, build_parser
from remote_store._cli._progress import PROGRESS_MIN_BYTES, Progress
from remote_store._cli._session import Location, Session, local_path

__all__ = [
    "PROG",
    "PROGRESS_MIN_BYTES",
    "Location",
    "Progress",
    "Session",
    "UsageError",
    "build_parser",
    "local_path",
    "main",
    "version_text",
]
