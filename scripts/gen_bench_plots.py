"""Turn benchmark output into JSON tables, and JSON tables into the PNG plots of the docs.

Two steps, both deterministic:

``parse``
    Read the printed output of one ``benchmarks/bench_*.py`` run (saved as text under
    ``docs/guides/perf-data/raw/``) and write its numbers as JSON (``perf-data/<kind>.json``)::

        uv run --all-packages python benchmarks/bench_s3.py --small 100 > docs/guides/perf-data/raw/s3.txt
        uv run python scripts/gen_bench_plots.py parse s3

    The first two lines of a raw file are ``date -u`` and ``uptime`` of the run (the load
    average is recorded with the numbers: the machine is shared and timings scale with it).

``plot`` (the default)
    Read every ``perf-data/*.json`` and write one PNG per table to ``docs/guides/img/``
    (``<kind>-<table id>.png``)::

        uv run python scripts/gen_bench_plots.py plot [--data DIR] [--out DIR]

JSON shape (one file per benchmark)::

    {"kind": "s3", "benchmark": "benchmarks/bench_s3.py", "measured_at": "...",
     "load_average": 3.5, "tables": [{"id": "small", "title": "...", "unit": "ms",
     "higher_is_better": false, "series": ["boto3", "remote-store"],
     "rows": [{"label": "put", "values": {"boto3": 6.92, "remote-store": 7.34}}]}]}
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "docs" / "guides" / "perf-data"
OUT = ROOT / "docs" / "guides" / "img"

Table = dict[str, Any]
_NUM = r"[0-9]+(?:\.[0-9]+)?"
_LOAD = re.compile(r"load average:\s*(" + _NUM + ")")


def _table(tid: str, title: str, unit: str, higher_is_better: bool) -> Table:
    return {"id": tid, "title": title, "unit": unit, "higher_is_better": higher_is_better, "series": [], "rows": []}


def _add(table: Table, label: str, values: dict[str, float]) -> None:
    for name in values:
        if name not in table["series"]:
            table["series"].append(name)
    table["rows"].append({"label": label, "values": values})


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _to_ms(value: float, unit: str) -> float:
    return round(value / 1000.0, 6) if unit == "µs" else value


# --------------------------------------------------------------------------- parsers
def parse_local(lines: list[str]) -> list[Table]:
    """``bench_local.py``: one table per (key, resolver); Store, backend and plain µs per call."""
    head = re.compile(r"^key '(?P<key>[^']+)', resolver (?P<res>\w+)")
    row = re.compile(
        r"^(?P<op>[a-z_]+(?: \([a-z]+\))?)\s+(?P<s>" + _NUM + r")\s+(?P<b>" + _NUM + r")\s+(?P<p>" + _NUM + ")"
    )
    tables: list[Table] = []
    for line in lines:
        if m := head.match(line):
            depth = "top" if "/" not in m["key"] else "deep"
            title = f"local, 1 KiB, key {m['key']!r}, {m['res']} resolver (µs per call)"
            tables.append(_table(f"{m['res']}-{depth}", title, "µs", False))
        elif tables and (m := row.match(line)):
            _add(
                tables[-1], m["op"], {"Store": float(m["s"]), "LocalBackend": float(m["b"]), "plain os": float(m["p"])}
            )
    return tables


def parse_s3(lines: list[str]) -> list[Table]:
    """``bench_s3.py``: small-object latency, listing time and streaming throughput."""
    pair = re.compile(r"(" + _NUM + r")s? \(" + _NUM + r"x\)")
    tables: list[Table] = []
    columns: list[str] = []
    section: Table | None = None
    for line in lines:
        if line.startswith("1 KiB objects"):
            section = _table("small", "S3 (moto), 1 KiB objects: median ms per call", "ms", False)
            tables.append(section)
        elif "recursive listing" in line:
            section = _table("list", "S3 (moto), recursive listing: seconds, best of 3", "s", False)
            tables.append(section)
        elif "MiB streamed" in line:
            section = _table("stream", "S3 (moto), streamed object: MiB/s, best of 3", "MiB/s", True)
            tables.append(section)
        elif line.startswith("peak RSS") or not line.strip():
            if line.startswith("peak RSS"):
                section = None
        elif section is not None and line.strip().startswith("client"):
            columns = line.split()[1:]
        elif section is not None and (values := pair.findall(line)):
            name = pair.split(line)[0].strip()
            if section["id"] == "list":
                _merge(section, "recursive listing", name, float(values[0]))
            else:
                for op, value in zip(columns, values, strict=False):
                    _merge(section, op, name, float(value))
    return tables


def _merge(table: Table, label: str, series: str, value: float) -> None:
    """Set ``table[label][series] = value``, adding the row or series if missing."""
    if series not in table["series"]:
        table["series"].append(series)
    for row in table["rows"]:
        if row["label"] == label:
            row["values"][series] = value
            return
    table["rows"].append({"label": label, "values": {series: value}})


def parse_sql(lines: list[str]) -> list[Table]:
    """``bench_sql.py``: small operations per dialect (ms), and streaming MB/s of every dialect."""
    head = re.compile(r"^== (?P<dialect>\w+)")
    row = re.compile(
        r"^(?P<op>\S.*?)\s{2,}(?P<a>" + _NUM + r") (?P<ua>µs|ms)\s+(?P<b>" + _NUM + r") (?P<ub>µs|ms)\s+" + _NUM + "x"
    )
    stream = re.compile(r"stream: write (?P<w>" + _NUM + r") MB/s, read (?P<r>" + _NUM + ") MB/s")
    tables: list[Table] = []
    rates = _table("stream", "sql-blob, streamed file: MB/s", "MB/s", True)
    dialect = ""
    for line in lines:
        if m := head.match(line):
            dialect = m["dialect"]
            tables.append(_table(dialect, f"sql-blob on {dialect}: ms per operation (best round)", "ms", False))
        elif tables and (m := row.match(line)):
            values = {
                "remote-store": _to_ms(float(m["a"]), m["ua"]),
                "raw SQLAlchemy Core": _to_ms(float(m["b"]), m["ub"]),
            }
            _add(tables[-1], m["op"], values)
        elif dialect and (m := stream.search(line)):
            _add(rates, dialect, {"write": float(m["w"]), "read": float(m["r"])})
    if rates["rows"]:
        tables.append(rates)
    return tables


def parse_sftp(lines: list[str]) -> list[Table]:
    """``bench_sftp.py``: 1 KiB operations (ms) and transfer throughput (MB/s)."""
    small_row = re.compile(r"^(?P<op>[a-z-]+)\s+(?P<raw>" + _NUM + r") ms\s+(?P<rs>" + _NUM + ") ms")
    big_row = re.compile(
        r"^(?P<dir>upload|download)\s+(?P<raw>"
        + _NUM
        + r")\s+(?P<rs>"
        + _NUM
        + r")\s+"
        + _NUM
        + r"\s+(?P<cli>"
        + _NUM
        + ")"
    )
    small = _table("small", "SFTP (OpenSSH), 1 KiB operations: median ms per call", "ms", False)
    big = _table("transfer", "SFTP (OpenSSH), file transfer: MB/s, best of 3", "MB/s", True)
    for line in lines:
        if m := small_row.match(line):
            _add(small, m["op"], {"raw paramiko": float(m["raw"]), "remote-store": float(m["rs"])})
        elif m := big_row.match(line):
            _add(
                big,
                m["dir"],
                {"raw paramiko": float(m["raw"]), "remote-store": float(m["rs"]), "sftp CLI": float(m["cli"])},
            )
    return [t for t in (small, big) if t["rows"]]


def _parse_sdk_lines(lines: list[str], service: str) -> list[Table]:
    """``bench_gcs.py`` / ``bench_azure.py``: ``op  raw sdk X ms (r), remote-store Y ms (r), …`` lines."""
    line_re = re.compile(r"^\s*(?P<op>[^(\s].*?)(?::|\s{2,})\s*(?P<rest>raw sdk .*)$")
    item = re.compile(r"^(?P<name>.+?)\s+(?P<v>" + _NUM + r") (?P<u>ms|MiB/s) \(" + _NUM + r"x\)$")
    small = _table("small", f"{service}, 1 KiB operations: ms for 100 calls (median round)", "ms", False)
    listing = _table("list", f"{service}, listing: ms", "ms", False)
    rates = _table("throughput", f"{service}, 32 MiB object: MiB/s", "MiB/s", True)
    for line in lines:
        m = line_re.match(line)
        if not m:
            continue
        op = m["op"].strip()
        values: dict[str, float] = {}
        unit = ""
        for part in m["rest"].split(", "):
            if im := item.match(part.strip()):
                values[im["name"]] = float(im["v"])
                unit = im["u"]
        if not values:
            continue
        if unit == "MiB/s":
            _add(rates, op.replace(" throughput", ""), values)
        elif op.startswith("1 KiB"):
            _add(small, re.sub(r"^1 KiB | x\d+$", "", op), values)
        elif op.startswith("list"):
            _add(listing, op, values)
    return [t for t in (small, listing, rates) if t["rows"]]


def parse_gcs(lines: list[str]) -> list[Table]:
    """``bench_gcs.py`` against fake-gcs-server."""
    return _parse_sdk_lines(lines, "GCS (fake-gcs-server)")


def parse_azure(lines: list[str]) -> list[Table]:
    """``bench_azure.py`` against Azurite."""
    return _parse_sdk_lines(lines, "Azure (Azurite)")


def parse_import(lines: list[str]) -> list[Table]:
    """``bench_import.py``: ``import remote_store`` next to the stdlib modules it needs anyway."""
    row = re.compile(
        r"^\s*(?P<what>import remote_store|stdlib floor).*?best (?P<b>" + _NUM + r") ms, median (?P<m>" + _NUM + ") ms"
    )
    table = _table("import", "import time in a fresh interpreter: ms", "ms", False)
    for line in lines:
        if m := row.match(line):
            _add(table, m["what"], {"best": float(m["b"]), "median": float(m["m"])})
    return [table] if table["rows"] else []


PARSERS: dict[str, Callable[[list[str]], list[Table]]] = {
    "azure": parse_azure,
    "gcs": parse_gcs,
    "import": parse_import,
    "local": parse_local,
    "s3": parse_s3,
    "sftp": parse_sftp,
    "sql": parse_sql,
}


def parse_output(kind: str, text: str) -> dict[str, Any]:
    """The JSON document for one benchmark's saved output.

    Raises:
        ValueError: ``kind`` has no parser, or the output holds no table.
    """
    if kind not in PARSERS:
        raise ValueError(f"no parser for {kind!r}; known: {', '.join(sorted(PARSERS))}")
    lines = text.splitlines()
    tables = PARSERS[kind](lines)
    if not tables:
        raise ValueError(f"no {kind} benchmark table found in the output")
    load = _LOAD.search("\n".join(lines[:2]))
    return {
        "kind": kind,
        "benchmark": f"benchmarks/bench_{kind}.py",
        "measured_at": lines[0].strip() if lines else "",
        "load_average": float(load.group(1)) if load else None,
        "note": "shared 2-core machine under load from other jobs: absolute numbers are noisy; compare within a table",
        "tables": tables,
    }


# --------------------------------------------------------------------------- plots
def plot_table(doc: dict[str, Any], table: Table, path: Path) -> None:
    """Write one grouped horizontal bar chart of ``table`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [row["label"] for row in table["rows"]]
    series = table["series"]
    height = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(labels) * max(len(series), 1) ** 0.5 + 0.8))
    for i, name in enumerate(series):
        ys = [j + (i - (len(series) - 1) / 2) * height for j in range(len(labels))]
        xs = [row["values"].get(name, 0.0) for row in table["rows"]]
        bars = ax.barh(ys, xs, height=height, label=name)
        ax.bar_label(bars, labels=[f"{x:g}" if x else "" for x in xs], fontsize=7, padding=2)
    ax.set_yticks(range(len(labels)), labels=labels)
    ax.invert_yaxis()
    better = "higher is better" if table["higher_is_better"] else "lower is better"
    positive = [v for row in table["rows"] for v in row["values"].values() if v > 0]
    if positive and max(positive) / min(positive) > 50:
        ax.set_xscale("log")  # e.g. 3 µs stats next to 800 µs writes
        better += ", log scale"
    ax.set_xlabel(f"{table['unit']} ({better})")
    load = doc.get("load_average")
    subtitle = f"{doc.get('measured_at', '')}, load average {load}" if load is not None else doc.get("measured_at", "")
    ax.set_title(f"{table['title']}\n{subtitle}", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    ax.margins(x=0.15)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)


def plot_all(data: Path, out: Path) -> list[Path]:
    """Plot every table of every ``data/*.json``; return the PNG paths written (sorted)."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for source in sorted(data.glob("*.json")):
        doc = json.loads(source.read_text(encoding="utf-8"))
        for table in doc["tables"]:
            path = out / f"{doc['kind']}-{_slug(table['id'])}.png"
            plot_table(doc, table, path)
            written.append(path)
    return written


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    p_parse = sub.add_parser("parse", help="raw benchmark output -> perf-data/<kind>.json")
    p_parse.add_argument("kinds", nargs="+", choices=sorted(PARSERS))
    p_parse.add_argument("--data", type=Path, default=DATA)
    p_plot = sub.add_parser("plot", help="perf-data/*.json -> img/*.png (default)")
    p_plot.add_argument("--data", type=Path, default=DATA)
    p_plot.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command == "parse":
        for kind in args.kinds:
            doc = parse_output(kind, (args.data / "raw" / f"{kind}.txt").read_text(encoding="utf-8"))
            target = args.data / f"{kind}.json"
            target.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"{target}: {len(doc['tables'])} tables")
        return 0
    data = getattr(args, "data", DATA)
    out = getattr(args, "out", OUT)
    for path in plot_all(data, out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
