#!/usr/bin/env bash
# The main job: copy this Python's standard library into the embedded default store
# (SQLite via remote-store-sql, from examples/main-job.toml), list it back and verify
# every file's SHA-256. Extra arguments go to examples/main_job.py (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.local/bin:$PATH"
uv run --all-packages python examples/main_job.py --config examples/main-job.toml "$@"
