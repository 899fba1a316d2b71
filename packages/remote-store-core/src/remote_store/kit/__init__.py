"""remote_store.kit: the public toolkit for writing backends (first-party plugins use it too).

Pieces, each usable on its own:

- `FlatKeyBackend`: a `Backend` for flat key (object) stores; subclasses supply service
  primitives (``head_object``, ``get_object``, ``put_object``, ``list_objects``,
  ``delete_object`` …) and get placement checks (one ``hierarchical`` option), missing-file
  mapping, glob prefix push-down, batched folder deletes, unaddressable-key reporting with a
  native escape hatch (``iter_native`` / ``read_native`` / ``delete_native``) and
  ``collect_garbage`` of dangling multipart uploads (`PendingUpload`).
- `MultipartWriter` over a `MultipartTarget`: one streaming multipart / staged-block writer
  with bounded memory that aborts on any error.
- `PinnedRangeReader` / `open_pinned_reader` over a ``fetch(start, end, if_match)``: one
  read-ahead ranged reader pinned to the first version (`remote_store.errors.ContentChanged`).
  Core's `RangeReader`, `SeekableReader` and `open_range_reader` are re-exported for simpler
  ``fetch(start, length)`` services.
- `ForwardingBackend`: forwards every `Backend` method to an inner backend (middleware base).
- `OptionTable` / `Option` and the shared vocabulary (`HIERARCHICAL`, `CREATE_ROOT`,
  `CONNECT_TIMEOUT`, `READ_TIMEOUT`, `RETRIES`, `VERIFY`): table-driven option validation.
- `RetryPolicy` and the retry / timeout vocabulary (`RETRY_OPTIONS`: ``retries``,
  ``retry_backoff``, ``retry_backoff_max``, ``retry_budget``, ``retry_on``; `TIMEOUT_OPTIONS`:
  ``connect_timeout``, ``read_timeout``): one spelling in every backend, one retry loop for
  services whose SDK has none.
- `UnreachableKeys`: what listings met that a `Store` cannot address.
- Helpers: `compile_glob` / `glob_base` (the Store's glob rules), `url_has_password` /
  `is_secret_header` (what the core masks), `SPOOL_MAX_MEMORY` (bytes the portable spooled
  helpers keep in memory).

``docs/write-a-backend.md`` walks through a backend built on the kit. The kit depends only
on the standard library.
"""

from __future__ import annotations

from remote_store._backend import SPOOL_MAX_MEMORY, compile_glob, glob_base
from remote_store._secret import is_secret_header, url_has_password
from remote_store._streams import RangeReader, SeekableReader, open_range_reader
from remote_store.kit._flat import FlatKeyBackend, ListPage, ObjectTarget
from remote_store.kit._forwarding import ForwardingBackend
from remote_store.kit._keys import UnreachableKeys, UnreachableSnapshot, unreachable_reason
from remote_store.kit._maintenance import PendingUpload
from remote_store.kit._multipart import BufferReader, MultipartPolicy, MultipartTarget, MultipartWriter
from remote_store.kit._options import (
    CONNECT_TIMEOUT,
    CREATE_ROOT,
    HIERARCHICAL,
    READ_TIMEOUT,
    REQUIRED,
    RETRIES,
    VERIFY,
    Converter,
    Option,
    OptionTable,
    to_bool,
    to_choice,
    to_int,
    to_mapping,
    to_optional_str,
    to_seconds,
    to_secret,
    to_str,
    to_url,
    to_verify,
)
from remote_store.kit._ranged import Fetch, FetchResult, PinnedRangeReader, ResumingBody, open_pinned_reader, resuming
from remote_store.kit._retry import (
    RETRY_BACKOFF,
    RETRY_BACKOFF_MAX,
    RETRY_BUDGET,
    RETRY_CATEGORIES,
    RETRY_ON,
    RETRY_OPTIONS,
    TIMEOUT_OPTIONS,
    RetryBudget,
    RetryPolicy,
    budget_per_operation,
    current_budget,
    retry_operation,
    to_delay,
    to_retry_on,
)

__all__ = [
    "BufferReader",
    "CONNECT_TIMEOUT",
    "CREATE_ROOT",
    "Converter",
    "Fetch",
    "FetchResult",
    "FlatKeyBackend",
    "ForwardingBackend",
    "HIERARCHICAL",
    "ListPage",
    "MultipartPolicy",
    "MultipartTarget",
    "MultipartWriter",
    "ObjectTarget",
    "Option",
    "OptionTable",
    "PendingUpload",
    "PinnedRangeReader",
    "READ_TIMEOUT",
    "REQUIRED",
    "RETRIES",
    "RETRY_BACKOFF",
    "RETRY_BACKOFF_MAX",
    "RETRY_BUDGET",
    "RETRY_CATEGORIES",
    "RETRY_ON",
    "RETRY_OPTIONS",
    "RangeReader",
    "ResumingBody",
    "RetryBudget",
    "RetryPolicy",
    "SPOOL_MAX_MEMORY",
    "SeekableReader",
    "TIMEOUT_OPTIONS",
    "UnreachableKeys",
    "UnreachableSnapshot",
    "VERIFY",
    "budget_per_operation",
    "compile_glob",
    "current_budget",
    "glob_base",
    "is_secret_header",
    "open_pinned_reader",
    "open_range_reader",
    "resuming",
    "retry_operation",
    "to_bool",
    "to_choice",
    "to_delay",
    "to_int",
    "to_mapping",
    "to_optional_str",
    "to_retry_on",
    "to_seconds",
    "to_secret",
    "to_str",
    "to_url",
    "to_verify",
    "unreachable_reason",
    "url_has_password",
]
