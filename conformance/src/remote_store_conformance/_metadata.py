"""File metadata, `WriteResult` fields and user metadata."""

from __future__ import annotations

import hashlib
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from remote_store import Capability, ContentDigest, FileInfo, Store, WriteResult, WriteSource
from remote_store.errors import InvalidPath, NotFound
from remote_store_conformance._base import Putter, payload, requires

CLOCK_SKEW = timedelta(minutes=10)


def check_digest(digest: ContentDigest | None, data: bytes) -> None:
    """If a digest is reported, it must be lower-case hex and, for known algorithms, correct."""
    if digest is None:
        return
    assert digest.algorithm == digest.algorithm.lower()
    assert digest.value == digest.value.lower()
    known = {
        "md5": lambda d: hashlib.md5(d, usedforsecurity=False).hexdigest(),
        "sha1": lambda d: hashlib.sha1(d, usedforsecurity=False).hexdigest(),
        "sha256": lambda d: hashlib.sha256(d).hexdigest(),
        "crc32": lambda d: f"{zlib.crc32(d):08x}",
    }
    if digest.algorithm in known:
        assert digest.value == known[digest.algorithm](data)


class MetadataTests:
    """`get_file_info`, `head`, and the fields writes return."""

    @requires(Capability.METADATA)
    def test_get_file_info_fields(self, store: Store, put: Putter) -> None:
        put("dir/info.bin", b"123456")
        info = store.get_file_info("dir/info.bin")
        assert isinstance(info, FileInfo)
        assert info.path == "dir/info.bin"
        assert info.name == "info.bin"
        assert info.size == 6

    @requires(Capability.METADATA)
    def test_get_file_info_empty_file(self, store: Store, put: Putter) -> None:
        put("zero", b"")
        assert store.get_file_info("zero").size == 0

    @requires(Capability.METADATA)
    def test_get_file_info_large_size(self, store: Store, put: Putter) -> None:
        put("big", payload(5 * 1024 * 1024 + 3, 40))
        assert store.get_file_info("big").size == 5 * 1024 * 1024 + 3

    @requires(Capability.METADATA)
    def test_get_file_info_modified_at_is_recent_and_aware(self, store: Store, put: Putter) -> None:
        before = datetime.now(UTC)
        put("recent.txt")
        info = store.get_file_info("recent.txt")
        if info.modified_at is None:
            return
        assert info.modified_at.utcoffset() is not None
        assert before - CLOCK_SKEW <= info.modified_at <= datetime.now(UTC) + CLOCK_SKEW

    @requires(Capability.METADATA)
    def test_get_file_info_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.get_file_info("missing.txt")
        assert info.value.path == "missing.txt"

    @requires(Capability.METADATA)
    def test_get_file_info_of_folder_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("folder/a.txt")
        with pytest.raises(InvalidPath) as info:
            store.get_file_info("folder")
        assert info.value.path == "folder"

    @requires(Capability.METADATA)
    def test_head_of_folder_raises_invalid_path(self, store: Store, put: Putter) -> None:
        put("folder/sub/a.txt")
        with pytest.raises(InvalidPath):
            store.head("folder/sub")

    @requires(Capability.METADATA)
    def test_get_file_info_of_missing_below_a_folder_raises_not_found(self, store: Store, put: Putter) -> None:
        put("folder/a.txt")
        with pytest.raises(NotFound) as info:
            store.get_file_info("folder/b.txt")
        assert not isinstance(info.value, InvalidPath)

    @requires(Capability.METADATA)
    def test_get_file_info_metadata_is_a_mapping(self, store: Store, put: Putter) -> None:
        put("m.txt")
        info = store.get_file_info("m.txt")
        assert dict(info.metadata) == dict(info.metadata.items())
        with pytest.raises(TypeError):
            info.metadata["x"] = "y"  # type: ignore[index]

    @requires(Capability.METADATA)
    def test_head_matches_file_info(self, store: Store, put: Putter) -> None:
        put("h.bin", b"abc")
        head = store.head("h.bin")
        info = store.get_file_info("h.bin")
        assert isinstance(head, WriteResult)
        assert (head.path, head.size, head.etag) == (info.path, info.size, info.etag)
        assert head.last_modified == info.modified_at

    @requires(Capability.METADATA)
    def test_head_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.head("missing.bin")

    @requires(Capability.METADATA, Capability.WRITE)
    def test_file_info_tracks_overwrite(self, store: Store) -> None:
        store.write("grow.txt", b"1")
        store.write("grow.txt", b"12345", overwrite=True)
        assert store.get_file_info("grow.txt").size == 5

    @requires(Capability.METADATA, Capability.WRITE)
    def test_etag_changes_with_content(self, store: Store) -> None:
        store.write("etag.txt", b"first")
        first = store.get_file_info("etag.txt").etag
        store.write("etag.txt", b"second", overwrite=True)
        second = store.get_file_info("etag.txt").etag
        if first is not None and second is not None:
            assert first != second
        assert store.get_file_info("etag.txt").size == 6

    @requires(Capability.METADATA)
    def test_etag_has_no_quotes(self, store: Store, put: Putter) -> None:
        put("q.txt")
        etag = store.get_file_info("q.txt").etag
        assert etag is None or ('"' not in etag and etag != "")

    @requires(Capability.METADATA, Capability.LIST)
    def test_listing_and_file_info_agree(self, store: Store, put: Putter) -> None:
        put("agree/a.bin", b"12345678")
        (listed,) = list(store.list_files("agree"))
        info = store.get_file_info("agree/a.bin")
        assert (listed.path, listed.name, listed.size) == (info.path, info.name, info.size)

    # --------------------------------------------------------------- WriteResult
    @requires(Capability.WRITE)
    def test_write_result_fields(self, store: Store) -> None:
        data = b"write result"
        result = store.write("wr/r.bin", data)
        assert result.path == "wr/r.bin"
        assert result.size == len(data)
        assert isinstance(result.source, WriteSource)
        assert result.last_modified is None or result.last_modified.utcoffset() is not None
        assert result.etag is None or '"' not in result.etag
        check_digest(result.digest, data)

    @requires(Capability.WRITE)
    def test_write_result_metadata_empty_by_default(self, store: Store) -> None:
        assert dict(store.write("nm.bin", b"x").metadata) == {}

    @requires(Capability.WRITE)
    def test_write_result_is_frozen(self, store: Store) -> None:
        result = store.write("fz.bin", b"x")
        with pytest.raises(AttributeError):
            result.size = 9  # type: ignore[misc]

    @requires(Capability.WRITE, Capability.WRITE_RESULT_NATIVE)
    def test_write_result_native_fields(self, store: Store) -> None:
        data = payload(1000, 41)
        result = store.write("native.bin", data)
        assert result.source is WriteSource.NATIVE
        assert result.etag is not None or result.digest is not None or result.version_id is not None
        check_digest(result.digest, data)

    @requires(Capability.WRITE, Capability.METADATA)
    def test_write_result_etag_matches_head(self, store: Store) -> None:
        result = store.write("match.bin", b"etag")
        head = store.head("match.bin")
        if result.etag is not None and head.etag is not None:
            assert result.etag == head.etag
        assert head.size == result.size

    @requires(Capability.WRITE)
    def test_write_result_digest_of_empty_file(self, store: Store) -> None:
        result = store.write("empty.bin", b"")
        assert result.size == 0
        check_digest(result.digest, b"")

    @requires(Capability.ATOMIC_WRITE)
    def test_write_atomic_result_fields(self, store: Store) -> None:
        data = b"atomic result"
        result = store.write_atomic("ar/a.bin", data)
        assert (result.path, result.size) == ("ar/a.bin", len(data))
        check_digest(result.digest, data)

    # --------------------------------------------------------------- user metadata
    @requires(Capability.WRITE, Capability.USER_METADATA, Capability.METADATA)
    def test_user_metadata_round_trip(self, store: Store) -> None:
        result = store.write("um.bin", b"x", metadata={"owner": "team-a", "kind": "report"})
        assert dict(result.metadata) == {"owner": "team-a", "kind": "report"}
        meta = dict(store.get_file_info("um.bin").metadata)
        assert meta.get("owner") == "team-a"
        assert meta.get("kind") == "report"

    @requires(Capability.WRITE, Capability.USER_METADATA, Capability.METADATA)
    def test_user_metadata_replaced_on_overwrite(self, store: Store) -> None:
        store.write("um2.bin", b"x", metadata={"v": "1"})
        store.write("um2.bin", b"y", metadata={"v": "2"}, overwrite=True)
        assert dict(store.get_file_info("um2.bin").metadata).get("v") == "2"

    @requires(Capability.WRITE, Capability.USER_METADATA, Capability.METADATA)
    def test_user_metadata_absent_when_not_given(self, store: Store) -> None:
        store.write("um3.bin", b"x", metadata={"a": "1"})
        store.write("um3.bin", b"y", overwrite=True)
        assert "a" not in dict(store.get_file_info("um3.bin").metadata)

    @requires(Capability.ATOMIC_WRITE, Capability.USER_METADATA, Capability.METADATA)
    def test_user_metadata_with_write_atomic(self, store: Store) -> None:
        store.write_atomic("um4.bin", b"x", metadata={"atomic": "yes"})
        assert dict(store.get_file_info("um4.bin").metadata).get("atomic") == "yes"

    @requires(Capability.ATOMIC_WRITE, Capability.USER_METADATA, Capability.METADATA)
    def test_user_metadata_with_open_atomic(self, store: Store) -> None:
        with store.open_atomic("um5.bin", metadata={"stream": "yes"}) as f:
            f.write(b"x")
        assert dict(store.get_file_info("um5.bin").metadata).get("stream") == "yes"

    @requires(Capability.COPY, Capability.WRITE, Capability.USER_METADATA, Capability.METADATA)
    def test_user_metadata_survives_copy(self, store: Store) -> None:
        store.write("um6.bin", b"x", metadata={"keep": "me"})
        store.copy("um6.bin", "um6-copy.bin")
        assert dict(store.get_file_info("um6-copy.bin").metadata).get("keep") == "me"

    @requires(Capability.WRITE, Capability.USER_METADATA)
    def test_user_metadata_values_must_be_str(self, store: Store) -> None:
        with pytest.raises(TypeError):
            store.write("um7.bin", b"x", metadata={"n": 1})  # type: ignore[dict-item]
        assert store.exists("um7.bin") is False
