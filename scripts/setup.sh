#!/usr/bin/env bash
# Install uv (if missing) and every workspace package with the dev and test groups into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
if ! command -v uv >/dev/null 2>&1; then
  echo "setup: uv not found; installing it with pip" >&2
  python3 -m pip install -q uv || python3 -m pip install -q --user uv
  export PATH="$HOME/.local/bin:$PATH"
fi
uv sync --all-packages --quiet
