"""The mutant catalogue: deliberately broken variants of the example backend.

Each `Mutant` breaks one rule that ``docs/write-a-backend.md`` says the conformance suite
checks. ``conformance/tests/test_mutants.py`` runs the whole suite against each one (in a subprocess, stopping at
the first failure) and fails unless the suite kills it, i.e. at least one test fails. The
mutation score is killed / total; ``python -m testing.mutants`` prints the catalogue.

Most mutants subclass the example `JsonDirBackend` (``examples/third_party_backend``); rules
about capabilities it does not declare (LAZY_READ) are broken on core's `MemoryBackend`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    """One broken backend.

    Attributes:
        name: Identifier (the test id).
        rule: The rule of the author guide it breaks.
        source: Python source defining ``class Broken(...)``; ``JsonDirBackend``,
            ``MemoryBackend``, ``io``, ``os``, ``time``, ``threading``, ``datetime`` and the
            `remote_store` names in ``TEMPLATE`` are in scope.
        base: ``"jsondir"`` (the fixture yields ``Broken(root=tmp_path / "docs")``) or
            ``"memory"`` (``Broken()``).
    """

    name: str
    rule: str
    source: str
    base: str = "jsondir"


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "overwrite_false_ignored",
        "overwrite=False must raise AlreadyExists",
        """
class Broken(JsonDirBackend):
    def write(self, key, stream, *, overwrite, metadata):
        return super().write(key, stream, overwrite=True, metadata=metadata)
""",
    ),
    Mutant(
        "racy_check_then_write",
        "exclusive create uses the service's conditional create, not check-then-write",
        """
class Broken(JsonDirBackend):
    def write(self, key, stream, *, overwrite, metadata):
        if not overwrite and self.exists(key):
            raise AlreadyExists("file exists", path=key)
        time.sleep(0.005)  # a service round trip between the check and the write
        return super().write(key, stream, overwrite=True, metadata=metadata)
""",
    ),
    Mutant(
        "delete_of_missing_is_silent",
        "deleting a missing file raises NotFound unless missing_ok",
        """
class Broken(JsonDirBackend):
    def delete(self, key, *, missing_ok=False):
        try:
            super().delete(key)
        except NotFound:
            pass
""",
    ),
    Mutant(
        "unbounded_source_read",
        "write reads the caller's stream in bounded chunks",
        """
class Broken(JsonDirBackend):
    def write(self, key, stream, *, overwrite, metadata):
        return super().write(key, io.BytesIO(stream.read()), overwrite=overwrite, metadata=metadata)
""",
    ),
    Mutant(
        "seeks_the_callers_stream",
        "write reads the stream from its current position and never seeks it",
        """
class Broken(JsonDirBackend):
    def write(self, key, stream, *, overwrite, metadata):
        if stream.seekable():
            stream.seek(0)
        return super().write(key, stream, overwrite=overwrite, metadata=metadata)
""",
    ),
    Mutant(
        "eager_listing",
        "listings are lazy",
        """
class Broken(JsonDirBackend):
    def iter_files(self, prefix, *, recursive, max_depth=None):
        return iter(list(super().iter_files(prefix, recursive=recursive, max_depth=max_depth)))
""",
    ),
    Mutant(
        "unmapped_native_errors",
        "native errors are mapped once in translate_error",
        """
class Broken(JsonDirBackend):
    def translate_error(self, exc, key):
        return None
""",
    ),
    Mutant(
        "options_lose_the_prefix",
        "options rebuild an equivalent backend that sees the same files",
        """
class Broken(JsonDirBackend):
    def __init__(self, root):
        super().__init__(root)
        self._given = os.fspath(root)
        self._root = os.path.join(self._root, "ns-" + os.urandom(4).hex())  # a prefix options forget

    @property
    def options(self):
        return {"root": os.path.abspath(self._given)}
""",
    ),
    Mutant(
        "eager_read_under_lazy_read",
        "LAZY_READ: a small read of a large file does not fetch all of it",
        """
class Broken(MemoryBackend):
    CAPABILITIES = MemoryBackend.CAPABILITIES | {Capability.LAZY_READ}

    def open_read(self, key):
        return io.BytesIO(bytes(bytearray(self.read_bytes(key))))
""",
        base="memory",
    ),
    Mutant(
        "copy_then_delete_under_atomic_move",
        "ATOMIC_MOVE: a move is one step",
        """
class Broken(JsonDirBackend):
    CAPABILITIES = JsonDirBackend.CAPABILITIES | {Capability.ATOMIC_MOVE}

    def move(self, src, dst, *, overwrite):
        self.copy(src, dst, overwrite=overwrite)
        time.sleep(0.02)  # a service round trip between the copy and the delete
        self.delete(src)
""",
    ),
    Mutant(
        "non_recursive_listing_returns_everything",
        "iter_files(recursive=False) yields direct children only",
        """
class Broken(JsonDirBackend):
    def iter_files(self, prefix, *, recursive, max_depth=None):
        return super().iter_files(prefix, recursive=True)
""",
    ),
    Mutant(
        "partial_file_left_on_stream_error",
        "a failed write leaves the previous file intact",
        """
class Broken(JsonDirBackend):
    def write(self, key, stream, *, overwrite, metadata):
        buf = bytearray()
        try:
            while chunk := stream.read(65536):
                buf += chunk
        finally:
            result = super().write(key, io.BytesIO(bytes(buf)), overwrite=True, metadata=metadata)
        return result
""",
    ),
    Mutant(
        "user_metadata_dropped",
        "USER_METADATA: metadata given to write is stored and returned",
        """
class Broken(JsonDirBackend):
    def write(self, key, stream, *, overwrite, metadata):
        return super().write(key, stream, overwrite=overwrite, metadata={})
""",
    ),
    Mutant(
        "visible_temp_entry_after_failure",
        "temp objects never appear in listings, also after a failed write",
        """
class Broken(JsonDirBackend):
    def write(self, key, stream, *, overwrite, metadata):
        part, data = key + ".part", b""
        while chunk := stream.read(65536):
            data += chunk
            super().write(part, io.BytesIO(data), overwrite=True, metadata={})
        result = super().write(key, io.BytesIO(data), overwrite=overwrite, metadata=metadata)
        try:
            super().delete(part)
        except NotFound:
            pass
        return result
""",
    ),
    Mutant(
        "wrong_error_for_a_folder",
        "reading a folder raises InvalidPath",
        """
class Broken(JsonDirBackend):
    def _load(self, key):
        try:
            with open(self.native_path(key), "rb") as f:
                import json
                return json.load(f)
        except FileNotFoundError:
            raise NotFound("file not found", path=key) from None
""",
    ),
    Mutant(
        "exists_is_true_for_folders",
        "exists() is true for files only",
        """
class Broken(JsonDirBackend):
    def exists(self, key):
        return super().exists(key) or (bool(key) and self.is_folder(key))
""",
    ),
    Mutant(
        "etag_never_changes",
        "the etag changes when the content changes",
        """
class Broken(JsonDirBackend):
    def _info(self, key, doc):
        import dataclasses
        return dataclasses.replace(super()._info(key, doc), etag="0")

    def write(self, key, stream, *, overwrite, metadata):
        import dataclasses
        return dataclasses.replace(super().write(key, stream, overwrite=overwrite, metadata=metadata), etag="0")
""",
    ),
    Mutant(
        "move_keeps_the_source",
        "move removes the source",
        """
class Broken(JsonDirBackend):
    def move(self, src, dst, *, overwrite):
        self.copy(src, dst, overwrite=overwrite)
""",
    ),
    Mutant(
        "copy_ignores_overwrite_false",
        "copy with overwrite=False raises AlreadyExists",
        """
class Broken(JsonDirBackend):
    def copy(self, src, dst, *, overwrite):
        super().copy(src, dst, overwrite=True)
""",
    ),
    Mutant(
        "folders_listed_twice",
        "each folder is listed once",
        """
class Broken(JsonDirBackend):
    def iter_folders(self, prefix):
        for folder in super().iter_folders(prefix):
            yield folder
            yield folder
""",
    ),
    Mutant(
        "naive_modified_time",
        "modified times are timezone-aware",
        """
class Broken(JsonDirBackend):
    def _info(self, key, doc):
        import dataclasses
        info = super()._info(key, doc)
        return dataclasses.replace(info, modified_at=info.modified_at.replace(tzinfo=None))
""",
    ),
    Mutant(
        "truncated_large_reads",
        "a read returns the whole file (a short fetch is not end of file)",
        """
class Broken(JsonDirBackend):
    def read_bytes(self, key):
        return super().read_bytes(key)[:65536]
""",
    ),
    Mutant(
        "write_result_reports_a_wrong_size",
        "WriteResult.size is the number of bytes stored",
        """
class Broken(JsonDirBackend):
    def write(self, key, stream, *, overwrite, metadata):
        import dataclasses
        r = super().write(key, stream, overwrite=overwrite, metadata=metadata)
        return dataclasses.replace(r, size=r.size + 1)
""",
    ),
    Mutant(
        "write_onto_a_folder_allowed",
        "writing onto a folder raises InvalidPath",
        """
class Broken(JsonDirBackend):
    def is_folder(self, key):
        if not key:
            return True
        import inspect
        if inspect.stack()[1].function == "write":
            return False
        return super().is_folder(key)
""",
    ),
    Mutant(
        "missing_prefix_raises",
        "listing a missing prefix yields nothing",
        """
class Broken(JsonDirBackend):
    def iter_files(self, prefix, *, recursive, max_depth=None):
        if prefix and not self.is_folder(prefix):
            raise NotFound("no such folder", path=prefix)
        return super().iter_files(prefix, recursive=recursive, max_depth=max_depth)
""",
    ),
    Mutant(
        "delete_of_a_folder_removes_nothing_and_says_ok",
        "deleting a folder key with delete() raises InvalidPath",
        """
class Broken(JsonDirBackend):
    def delete(self, key, *, missing_ok=False):
        if self.is_folder(key):
            return
        super().delete(key)
""",
    ),
    Mutant(
        "temp_documents_listed",
        "temp objects never appear in listings",
        """
class Broken(JsonDirBackend):
    def write(self, key, stream, *, overwrite, metadata):
        result = super().write(key, stream, overwrite=overwrite, metadata=metadata)
        super().write(key + ".tmp-upload", io.BytesIO(b""), overwrite=True, metadata={})
        return result
""",
    ),
    Mutant(
        "is_folder_misses_nested_folders",
        "is_folder(k) is true while some key lies below k",
        """
class Broken(JsonDirBackend):
    def is_folder(self, key):
        if not key:
            return True
        return any(k.startswith(key + "/") and "/" not in k[len(key) + 1 :] for k in self._keys())
""",
    ),
)


def main() -> None:  # pragma: no cover - a reporting helper
    """Print the catalogue (name, base, rule)."""
    for m in MUTANTS:
        print(f"{m.name:48} {m.base:8} {m.rule}")


if __name__ == "__main__":  # pragma: no cover
    main()
