#!/usr/bin/env bash
# The test command: set up everything (uv, packages, test servers) and run the whole suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh packages/remote-store-s3 -x`.
# The suite runs on REMOTE_STORE_TEST_WORKERS pytest-xdist workers (default 2; 0 = one process),
# `--dist loadgroup`: tests are handed out one at a time, slowest first, except the modules that
# share one build (the docs site, the workspace wheels; see conftest.py), which stay on one worker.
# This is the command CI (.ci/run) runs: same sample sizes (fuzz 2,000 examples per backend,
# the full async-adapter conformance runs, stress capped at REMOTE_STORE_STRESS_SECONDS per backend).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-servers.sh || echo "test: some test servers could not be installed (see above)" >&2
bash scripts/setup.sh
export PATH="$HOME/.local/bin:$PATH"
export REMOTE_STORE_TOOLS=${REMOTE_STORE_TOOLS:-$PWD/.tools}
workers=${REMOTE_STORE_TEST_WORKERS:-2}
xdist=()
if [[ $workers != 0 ]]; then
  xdist=(-n "$workers" --dist loadgroup)
fi
uv run --all-packages pytest "${xdist[@]}" "$@"
