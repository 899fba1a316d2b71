#!/usr/bin/env bash
# Soak: the crash, stress and hostile-path fuzz suites at full scale against the real test servers.
#   fuzz:   REMOTE_STORE_FUZZ_EXAMPLES hostile paths per operation and backend (default 2,000, as in CI)
#   crash:  REMOTE_STORE_CRASH_TRIALS trials per backend and operation (default here 1,000; CI 100)
#   stress: 16 threads x REMOTE_STORE_STRESS_OPS operations per backend (default 1,000), no time
#           budget (REMOTE_STORE_STRESS_SECONDS=0; CI stops each backend after 30 s)
# Replay a run with REMOTE_STORE_CRASH_SEED / REMOTE_STORE_STRESS_SEED (each run prints its seeds).
# Extra arguments go to pytest, e.g. `bash scripts/soak.sh -k sftp` or `bash scripts/soak.sh tests/crash`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:$PATH"
export REMOTE_STORE_TOOLS=${REMOTE_STORE_TOOLS:-$PWD/.tools}
export REMOTE_STORE_CRASH_TRIALS=${REMOTE_STORE_CRASH_TRIALS:-1000}
export REMOTE_STORE_STRESS_OPS=${REMOTE_STORE_STRESS_OPS:-1000}
export REMOTE_STORE_STRESS_SECONDS=${REMOTE_STORE_STRESS_SECONDS:-0}
export REMOTE_STORE_FUZZ_EXAMPLES=${REMOTE_STORE_FUZZ_EXAMPLES:-2000}
export REMOTE_STORE_STRESS_TIMEOUT=${REMOTE_STORE_STRESS_TIMEOUT:-3600}
paths=()
[[ $# -gt 0 && -e ${1%%::*} ]] || paths=(tests/crash tests/stress/test_stress.py tests/fuzz)
log=${REMOTE_STORE_SOAK_LOG:-${TMPDIR:-/tmp}/remote-store-soak-$(date -u +%Y%m%dT%H%M%SZ).log}
echo "soak: crash trials ${REMOTE_STORE_CRASH_TRIALS}, stress ops ${REMOTE_STORE_STRESS_OPS}/thread, fuzz examples ${REMOTE_STORE_FUZZ_EXAMPLES}; log ${log}" >&2
set +e
uv run --all-packages pytest -s -q -p no:cacheprovider "${paths[@]}" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
echo "=== summary" >&2
grep -E '^\[(crash|stress)\] .*(trials in|ops in)' "$log" >&2 || true
exit "$rc"
