"""The store-scoped view of a `LocalBackend`: links under a Store's root resolve beneath that root.

`LocalBackend.scoped` hands `Store` one of these for a non-empty ``root_path``. It shares
the backend's root fd, options and temp-sweep bookkeeping, and takes the same full backend
keys. For a key below the scope folder it first opens the scope folder beneath the root fd
(one ``openat2``, or the walk; the folder and its parents are created when a write needs
them), then resolves the rest of the key beneath *that* fd. A symlink below the scope whose
target leaves the scope (``box/ln -> ../other``) is therefore refused exactly like one that
leaves the backend root, under the same `follow_symlinks` policy, and no concurrent swap can
make a call reach a sibling folder. The scope folder is resolved afresh on every call (no fd
is cached), so deleting and recreating it, or replacing it, is seen at once.

A key that is not below the scope (the scope folder itself, or a key outside it) is handled
by the backend with its own semantics: `Store` sends the scope key only for operations on
its root folder as a whole.
"""

from __future__ import annotations

import os
import stat as stat_mod
from typing import Any

from remote_store.backends._local import LocalBackend
from remote_store.backends._local_resolve import DIR_PATH_FLAGS, Resolver, SymlinkRefused, encode_key
from remote_store.backends._local_walk import LIST_FLAGS
from remote_store.errors import InvalidPath, NotFound, PermissionDenied

_NOT_THERE = (FileNotFoundError, NotADirectoryError, SymlinkRefused)


def _rescope(base: LocalBackend, prefix: str) -> Any:
    return base.scoped(prefix)


class ScopedLocalBackend(LocalBackend):
    """`LocalBackend` whose keys below ``prefix`` resolve beneath ``prefix`` (see the module docstring)."""

    def __init__(self, base: LocalBackend, prefix: str) -> None:
        self.__dict__.update(base.__dict__)
        self._base = base
        self._scope = prefix
        self._scope_b = encode_key(prefix)
        self._cut = len(prefix) + 1
        self._fd = None  # never used: the root fd is the base's
        real = os.path.realpath(base.root)
        names = (os.path.join(base.root, *prefix.split("/")), os.path.join(real, *prefix.split("/")))
        self._sres = Resolver(
            follow=base.options["follow_symlinks"] == "inside",
            use_openat2=base._use_openat2,
            root_names=names,
        )

    # -------------------------------------------------------------- identity
    @property
    def unscoped(self) -> LocalBackend:
        return self._base

    @property
    def scope(self) -> str:
        """Backend key of the folder this view's keys are confined to."""
        return str(self._scope)

    def scoped(self, prefix: str) -> Any:
        # A store rooted at "" over this view (a middleware's inner store) keeps its scope;
        # a deeper root gets the base backend's view of that folder.
        if not prefix:
            return self
        return self._base.scoped(prefix)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rescope, (self._base, self._scope))

    def __repr__(self) -> str:
        return repr(self._base)

    @property
    def uses_openat2(self) -> bool:
        return self._base.uses_openat2

    def close(self) -> None:
        self._base.close()

    def _root_fd(self, create: bool = False) -> int | None:
        return self._base._root_fd(create)

    # -------------------------------------------------------------- resolution
    def _inner(self, key: str) -> str | None:
        """``key`` relative to the scope; None when it is not below the scope."""
        cut = self._cut
        if len(key) > cut and key[cut - 1] == "/" and key.startswith(self._scope):
            return key[cut:]
        return None

    def _anchor(self, key: str, create: bool) -> int | None:
        """An ``O_PATH`` fd of the scope folder beneath the root (None: no root yet).

        Raises:
            FileNotFoundError, NotADirectoryError: The scope folder is missing / a file.
            SymlinkRefused: A link on the scope's own path may not be followed (named ``key``).
        """
        base = self._base
        root = base._root_fd(create)
        if root is None:
            return None
        try:
            return base._res.open(root, self._scope, self._scope_b, DIR_PATH_FLAGS, create_dirs=create)
        except SymlinkRefused as exc:
            exc.path = key
            raise

    def _open(self, key: str, flags: int) -> int:
        rel = self._inner(key)
        if rel is None:
            return self._base._open(key, flags)
        encode_key(key)
        a = self._anchor(key, False)
        if a is None:
            raise FileNotFoundError(2, "root folder does not exist yet", key)
        try:
            return self._sres.open(a, rel, encode_key(rel), flags)
        except SymlinkRefused as exc:
            exc.path = key
            raise
        finally:
            os.close(a)

    def _stat(self, key: str) -> os.stat_result:
        rel = self._inner(key)
        if rel is None:
            return self._base._stat(key)
        encode_key(key)
        a = self._anchor(key, False)
        if a is None:
            raise FileNotFoundError(2, "root folder does not exist yet", key)
        try:
            if "/" not in rel:
                st = os.stat(rel, dir_fd=a, follow_symlinks=False)
                if not stat_mod.S_ISLNK(st.st_mode):
                    return st
            return self._sres.stat(a, rel, encode_key(rel))
        except SymlinkRefused as exc:
            exc.path = key
            raise
        finally:
            os.close(a)

    def _open_read_fd(self, key: str) -> int:
        if self._inner(key) is None:
            return self._base._open_read_fd(key)
        try:
            return self._open(key, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFound("file not found", path=key) from exc

    def _parent(self, key: str, parent: str, *, create: bool) -> tuple[int, bool]:
        rel = "" if parent == self._scope else self._inner(parent)
        if rel is None:
            return self._base._parent(key, parent, create=create)
        try:
            a = self._anchor(key, create)
            if a is None:
                raise NotFound("folder not found", path=key)
            if not rel:
                return a, True
            try:
                return self._sres.open(a, rel, encode_key(rel), DIR_PATH_FLAGS, create_dirs=create), True
            finally:
                os.close(a)
        except FileNotFoundError as exc:
            raise NotFound("folder not found", path=key) from exc
        except NotADirectoryError as exc:
            raise InvalidPath("a parent of the path is a file", path=key) from exc
        except SymlinkRefused as exc:
            exc.path = key
            raise

    def _list_fd(self, prefix: str) -> int | None:
        rel = "" if prefix == self._scope else self._inner(prefix)
        if rel is None:
            return self._base._list_fd(prefix)
        try:
            a = self._anchor(prefix, False)
            if a is None:
                return None
            try:
                if not rel:
                    return os.open(".", LIST_FLAGS, dir_fd=a)
                return self._sres.open(a, rel, encode_key(rel), os.O_RDONLY | os.O_DIRECTORY)
            finally:
                os.close(a)
        except _NOT_THERE:
            return None
        except PermissionError:
            raise PermissionDenied("folder cannot be read", path=prefix) from None
