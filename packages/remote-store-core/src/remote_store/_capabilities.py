"""Capabilities a backend declares, and the immutable set that holds them."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator


class Capability(enum.Enum):
    """What a backend can do.

    Method gates (the method raises `CapabilityNotSupported` before any I/O when unset):
    READ, WRITE, DELETE, LIST, GLOB, MOVE, COPY, ATOMIC_WRITE, METADATA.

    Quality flags (the method works regardless; the flag promises a stronger guarantee):
    SEEKABLE_READ (``read()`` returns a natively seekable stream), LAZY_READ (``read()``
    fetches on demand; a partial read does not download the whole file), ATOMIC_MOVE
    (``move()`` is a single atomic rename: an observer never sees both names or neither;
    where the service has no no-replace rename, as on SFTP, ``move(overwrite=False)`` is a
    hard link then a remove, so both names are visible for a moment but the file is never
    missing), WRITE_RESULT_NATIVE (etag/version/digest in
    `WriteResult` come from the service's own write response), HIERARCHICAL (the backend
    enforces that a key is a file or a folder, never both: a write onto a folder or below a
    file raises `InvalidPath`, and so do file operations on a folder). Flat object stores
    (S3, Azure without hierarchical namespace) leave it unset by default and send no extra
    requests; their ``hierarchical=True`` option enforces it at the cost of extra requests.

    Strict gate: USER_METADATA (a non-empty ``metadata=`` on a write raises
    `CapabilityNotSupported` when unset).
    """

    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    LIST = "list"
    GLOB = "glob"
    MOVE = "move"
    COPY = "copy"
    ATOMIC_WRITE = "atomic_write"
    METADATA = "metadata"
    SEEKABLE_READ = "seekable_read"
    LAZY_READ = "lazy_read"
    ATOMIC_MOVE = "atomic_move"
    WRITE_RESULT_NATIVE = "write_result_native"
    USER_METADATA = "user_metadata"
    HIERARCHICAL = "hierarchical"


class CapabilitySet:
    """An immutable, hashable set of `Capability` members.

    Args:
        capabilities: Any iterable of `Capability` members (or their string values).

    Raises:
        ValueError: An item is neither a `Capability` nor one of its values.
    """

    __slots__ = ("_items",)
    _items: frozenset[Capability]

    def __init__(self, capabilities: Iterable[Capability | str] = ()) -> None:
        object.__setattr__(self, "_items", frozenset(Capability(c) for c in capabilities))

    @classmethod
    def all(cls) -> CapabilitySet:
        """Return the set holding every capability."""
        return cls(Capability)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CapabilitySet is immutable")

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __iter__(self) -> Iterator[Capability]:
        return iter(sorted(self._items, key=lambda c: list(Capability).index(c)))

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CapabilitySet):
            return self._items == other._items
        if isinstance(other, (set, frozenset)):
            return self._items == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items)

    def __or__(self, other: Iterable[Capability]) -> CapabilitySet:
        return CapabilitySet(self._items | frozenset(other))

    def __sub__(self, other: Iterable[Capability]) -> CapabilitySet:
        return CapabilitySet(self._items - frozenset(other))

    def __and__(self, other: Iterable[Capability]) -> CapabilitySet:
        return CapabilitySet(self._items & frozenset(other))

    def __repr__(self) -> str:
        return "CapabilitySet({" + ", ".join(c.name for c in self) + "})"

    def __reduce__(self) -> tuple[object, ...]:
        return (CapabilitySet, (tuple(c.value for c in self),))
