"""Hive partition paths: escaping, defaults, parsing (also of Arrow-encoded paths), round trips."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remote_store import Store
from remote_store.errors import InvalidPath
from remote_store.ext.partition import DEFAULT_PARTITION, ParsedPartition, parse_partition, partition_path


def test_build_and_parse() -> None:
    p = partition_path({"year": 2024, "month": "01"}, filename="part-0.parquet", prefix="sales/eu")
    assert p == "sales/eu/year=2024/month=01/part-0.parquet"
    parsed = parse_partition(p)
    assert parsed == ParsedPartition("sales/eu", {"year": "2024", "month": "01"}, "part-0.parquet")
    assert list(parsed.values) == ["year", "month"]
    assert parsed.to_path() == p


def test_hive_escaping() -> None:
    p = partition_path([("k", "a/b=c%d:e\"f#g'h*i?j\\k{l[m]n^o\x01\x7f"), ("city", "São Paulo")])
    assert p == "k=a%2Fb%3Dc%25d%3Ae%22f%23g%27h%2Ai%3Fj%5Ck%7Bl%5Bm%5Dn%5Eo%01%7F/city=São Paulo"
    assert parse_partition(p).values["k"] == "a/b=c%d:e\"f#g'h*i?j\\k{l[m]n^o\x01\x7f"
    assert partition_path({"we/ird=key": 1}) == "we%2Fird%3Dkey=1"


def test_null_and_types() -> None:
    p = partition_path({"a": None, "b": "", "c": True, "d": dt.date(2024, 2, 29), "e": 1.5})
    assert p == f"a={DEFAULT_PARTITION}/b={DEFAULT_PARTITION}/c=true/d=2024-02-29/e=1.5"
    assert dict(parse_partition(p).values) == {"a": None, "b": None, "c": "true", "d": "2024-02-29", "e": "1.5"}


def test_arrow_uri_encoded_paths_parse() -> None:
    # pyarrow.dataset.HivePartitioning (segment_encoding="uri") percent-encodes UTF-8 bytes and spaces.
    parsed = parse_partition("root/city=S%C3%A3o%20Paulo/n=a%2Fb/file.parquet")
    assert dict(parsed.values) == {"city": "São Paulo", "n": "a/b"}
    assert parsed.prefix == "root" and parsed.filename == "file.parquet"


def test_pyarrow_parses_our_paths() -> None:
    pa = pytest.importorskip("pyarrow")
    ds = pytest.importorskip("pyarrow.dataset")
    schema = pa.schema([("k", pa.string())])
    part = ds.partitioning(schema, flavor="hive")
    for value in ["a/b", "x=y", "50%", "São Paulo", "a:b"]:
        expr = part.parse(partition_path({"k": value}, filename="part-0.parquet"))
        assert str(expr) == str(ds.field("k") == value)


def test_no_partition_segments() -> None:
    assert parse_partition("a/b/c.txt") == ParsedPartition("a/b/c.txt", {}, "")
    assert parse_partition("") == ParsedPartition()


@pytest.mark.parametrize("bad", ["=x/f", "a=1/a=2"])
def test_parse_errors(bad: str) -> None:
    with pytest.raises(InvalidPath):
        parse_partition(bad)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"values": {"": 1}},
        {"values": [("a", 1), ("a", 2)]},
        {"values": {"a": 1}, "prefix": "../up"},
        {"values": {"a": 1}, "filename": "x\x00"},
        {"values": {"a": 1}, "prefix": "db=x"},
        {"values": {"a": 1}, "filename": "k=v.txt"},
        {"values": [("a", 1, 2)]},
    ],
)
def test_build_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidPath):
        partition_path(**kwargs)  # type: ignore[arg-type]


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8), st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=4
    ),
)
def test_round_trip_and_store_safe(values: dict[str, str | None]) -> None:
    p = partition_path(values, filename="f.bin", prefix="root")
    parsed = parse_partition(p)
    assert parsed.prefix == "root" and parsed.filename == "f.bin"
    assert dict(parsed.values) == {k: (v or None) for k, v in values.items()}
    # Every escaped path is a valid store key that stays below the store root.
    segs = p.split("/")
    assert len(segs) == len(values) + 2 and ".." not in segs and "\x00" not in p


def test_usable_as_store_paths(store: Store) -> None:
    p = partition_path({"dt": "2024-01-01", "src": "a/b:c"}, filename="x.csv", prefix="t")
    store.write(p, b"1")
    [info] = list(store.list_files("t", recursive=True))
    assert dict(parse_partition(info.path).values) == {"dt": "2024-01-01", "src": "a/b:c"}
