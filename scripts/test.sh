#!/usr/bin/env bash
# The test command: set up everything (uv, packages, test servers) and run the whole suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh packages/remote-store-s3 -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-servers.sh || echo "test: some test servers could not be installed (see above)" >&2
bash scripts/setup.sh
export PATH="$HOME/.local/bin:$PATH"
export REMOTE_STORE_TOOLS=${REMOTE_STORE_TOOLS:-$PWD/.tools}
uv run --all-packages pytest "$@"
