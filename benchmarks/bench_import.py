"""Import cost of ``remote_store`` and proof that no cloud SDK is imported eagerly.

1. Runs ``python -X importtime -c "import remote_store"`` in fresh subprocesses (best of N)
   and prints the cumulative import time of ``remote_store`` in ms (target <= 30 ms).
2. In another fresh subprocess, imports ``remote_store``, then runs plugin discovery
   (``remote_store.plugins()``, which loads every installed plugin's entry point), and
   prints which SDK modules (boto3, botocore, paramiko, azure, sqlalchemy, pyarrow …) are in
   ``sys.modules`` after each step — there must be none.

    uv run --all-packages python benchmarks/bench_import.py [--runs 7]

Exits with status 1 when an SDK is imported eagerly (the timing target only prints).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

TARGET_MS = 30.0
SDKS = ("boto3", "botocore", "s3transfer", "paramiko", "azure", "sqlalchemy", "pyarrow", "fsspec", "requests")

_PROBE = """
import json, sys, warnings
warnings.simplefilter("ignore")
sdks = %r
def loaded():
    return sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in sdks})
import remote_store
after_import = loaded()
pluggy_on_import = "pluggy" in sys.modules
infos = remote_store.plugins()
after_plugins = loaded()
print(json.dumps({
    "after_import": after_import,
    "pluggy_on_import": pluggy_on_import,
    "after_plugins": after_plugins,
    "plugins": [[i.name, i.loaded, list(i.backends)] for i in infos],
}))
"""


#: Stdlib modules the core needs anyway (models, logging, enums, regexes): the reference
#: that shows how much of the total is remote_store's own code on this machine right now.
STDLIB_FLOOR = "dataclasses, logging, datetime, re, enum, typing, threading, fnmatch, contextlib, abc, io"


def _env(cache_dir: str) -> dict[str, str]:
    """Environment with bytecode caching on (into ``cache_dir``, not the source tree).

    Measuring with ``PYTHONDONTWRITEBYTECODE=1`` would time the compiler, not the import.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def import_time_ms(modules: str, env: dict[str, str]) -> float:
    """Cumulative import time (ms) of ``modules`` (comma-separated) in one fresh ``-X importtime`` run.

    Sums the top-level entries of the named modules; interpreter start-up imports are excluded.
    """
    wanted = {m.strip() for m in modules.split(",")}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {modules}"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    total = 0
    for line in done.stderr.splitlines():
        # "import time:  self [us] | cumulative | imported package"; top level = no indent.
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and parts[2][1:] in wanted:
            total += int(parts[1])
    return total / 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="fresh interpreters to time; the best is kept")
    args = parser.parse_args()

    times: list[float] = []
    floors: list[float] = []
    with tempfile.TemporaryDirectory(prefix="rs-pycache-") as cache_dir:
        env = _env(cache_dir)
        import_time_ms("remote_store", env)  # warm-up: writes the bytecode cache
        import_time_ms(STDLIB_FLOOR, env)
        for _ in range(args.runs):  # interleaved, so machine load hits both alike
            times.append(import_time_ms("remote_store", env))
            floors.append(import_time_ms(STDLIB_FLOOR, env))
    best, floor = min(times), min(floors)
    median = sorted(times)[len(times) // 2]
    verdict = "within" if best <= TARGET_MS else "OVER"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (timings scale with it)")
    print(f"import remote_store: best {best:.1f} ms, median {median:.1f} ms over {args.runs} runs")
    print(f"  target <= {TARGET_MS:.0f} ms: {verdict}")
    floor_median = sorted(floors)[len(floors) // 2]
    print(f"  stdlib floor ({STDLIB_FLOOR}): best {floor:.1f} ms, median {floor_median:.1f} ms")
    print(f"  remote_store's own share (best - floor): {max(best - floor, 0.0):.1f} ms")

    probe = subprocess.run([sys.executable, "-c", _PROBE % (SDKS,)], capture_output=True, text=True, check=True)
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    print(f"SDK modules after `import remote_store`:     {report['after_import'] or 'none'}")
    print(f"pluggy imported by `import remote_store`:   {'yes' if report['pluggy_on_import'] else 'no'}")
    print(f"SDK modules after `remote_store.plugins()`: {report['after_plugins'] or 'none'}")
    for name, loaded, backends in report["plugins"]:
        state = "loaded" if loaded else "FAILED"
        print(f"  plugin {name:<10} {state:<7} {', '.join(backends)}")
    eager = report["after_import"] or report["after_plugins"]
    print("OK: no SDK imported eagerly" if not eager else f"FAIL: SDKs imported eagerly: {eager}")
    return 1 if eager else 0


if __name__ == "__main__":
    sys.exit(main())
