"""Start-up cost of the ``remote-store`` command line.

Runs, interleaved in one session (so machine load hits each alike), best of N wall times of:
``python -c pass`` (interpreter floor), ``python -c "import remote_store"``, and the console
script with ``--version``, ``--help``, ``ls <empty folder>`` and ``ls --json <folder>``.
Prints each in ms and as a ratio to ``import remote_store``.

    uv run --all-packages python benchmarks/bench_cli.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time


def _best(cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    best = dict.fromkeys(cmds, float("inf"))
    for _ in range(runs):
        for name, argv in cmds.items():
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            best[name] = min(best[name], (time.perf_counter() - start) * 1000)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = shutil.which("remote-store", path=os.path.dirname(sys.executable))
    if script is None:
        print("remote-store console script not found next to the interpreter", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        open(os.path.join(folder, "a.txt"), "wb").close()
        cmds = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import remote_store": [sys.executable, "-c", "import remote_store"],
            "remote-store --version": [script, "--version"],
            "remote-store --help": [script, "--help"],
            "remote-store ls DIR": [script, "ls", folder],
            "remote-store ls --json DIR": [script, "ls", "--json", folder],
        }
        best = _best(cmds, args.runs)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs; best of {args.runs} runs")
    base = best["import remote_store"]
    for name, ms in best.items():
        print(f"  {name:<28} {ms:7.1f} ms   {ms / base:5.2f}x import remote_store")
    return 0


if __name__ == "__main__":
    sys.exit(main())
