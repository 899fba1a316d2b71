"""CI runs ``benchmarks/bench_gcs.py`` on tiny sizes: every comparison still works (ratios are
printed, never asserted; the full run is ``uv run --all-packages python benchmarks/bench_gcs.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testing.servers.gcs import FakeGCSServer

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_gcs.py"


def test_benchmark_runs_on_tiny_sizes(gcs_server: FakeGCSServer) -> None:
    # gcs_server: the emulator is available (or the test skips / fails like every GCS suite);
    # the script starts its own.
    args = ["--small", "5", "--list", "50", "--big-mib", "9", "--rss-mib", "2", "--rounds", "1"]
    proc = subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for row in ("1 KiB upload", "1 KiB download", "1 KiB get metadata", "1 KiB delete", "list 50 objects"):
        assert row in proc.stdout, row
    assert "upload throughput" in proc.stdout and "download throughput" in proc.stdout
    assert proc.stdout.count("peak RSS") == 2
