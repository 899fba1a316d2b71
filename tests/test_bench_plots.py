"""`scripts/gen_bench_plots.py`: the committed JSON is the parsed benchmark output, and the
plots regenerate from it as valid PNG images (one per table, the same set as committed)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gen_bench_plots.py"
DATA = ROOT / "docs" / "guides" / "perf-data"
IMG = ROOT / "docs" / "guides" / "img"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_bench_plots", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _docs() -> list[Path]:
    return sorted(DATA.glob("*.json"))


def test_there_is_benchmark_data() -> None:
    kinds = {p.stem for p in _docs()}
    assert {"local", "s3", "sql", "sftp"} <= kinds, kinds


@pytest.mark.parametrize("source", _docs(), ids=lambda p: p.stem)
def test_committed_json_is_the_parsed_raw_output(gen: ModuleType, source: Path) -> None:
    raw = DATA / "raw" / f"{source.stem}.txt"
    assert raw.is_file(), f"{source.name} has no raw benchmark output next to it"
    parsed = gen.parse_output(source.stem, raw.read_text(encoding="utf-8"))
    assert parsed == json.loads(source.read_text(encoding="utf-8"))


@pytest.mark.parametrize("source", _docs(), ids=lambda p: p.stem)
def test_tables_hold_measured_numbers(source: Path) -> None:
    doc = json.loads(source.read_text(encoding="utf-8"))
    assert doc["measured_at"] and doc["tables"]
    for table in doc["tables"]:
        assert table["rows"], table["id"]
        seen = {name for row in table["rows"] for name in row["values"]}
        assert seen == set(table["series"]), table["id"]
        for row in table["rows"]:
            assert all(isinstance(v, float) and v > 0 for v in row["values"].values()), (table["id"], row)


def test_plots_regenerate_as_valid_pngs(gen: ModuleType, tmp_path: Path) -> None:
    from PIL import Image

    written = gen.plot_all(DATA, tmp_path)
    expected = sum(len(json.loads(p.read_text(encoding="utf-8"))["tables"]) for p in _docs())
    assert len(written) == expected > 0
    assert {p.name for p in written} == {p.name for p in IMG.glob("*.png")}, "committed plots are stale"
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE), path.name
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width >= 400 and image.height >= 150, (path.name, image.size)


def test_parser_refuses_unknown_kinds_and_empty_output(gen: ModuleType) -> None:
    with pytest.raises(ValueError, match="no parser"):
        gen.parse_output("nope", "")
    with pytest.raises(ValueError, match="no s3 benchmark table"):
        gen.parse_output("s3", "Tue Dec  1 00:00:00 UTC 2026\n up 1 min, load average: 0.1\nnothing here\n")


def test_parse_reads_load_average_and_rows(gen: ModuleType) -> None:
    text = (
        "Tue Dec  1 00:00:00 UTC 2026\n"
        " 00:00:00 up 1 min,  0 user,  load average: 2.50, 1.00, 0.50\n"
        "## 1 KiB operations (median per op over 3 x 150, calls interleaved)\n"
        "op        raw paramiko  remote-store   ratio  target <= 1.05\n"
        "read          1.500 ms      3.000 ms   2.000\n"
    )
    doc = gen.parse_output("sftp", text)
    assert doc["load_average"] == 2.5
    assert doc["tables"][0]["rows"] == [{"label": "read", "values": {"raw paramiko": 1.5, "remote-store": 3.0}}]
