"""``remote_store.aio.ext.write``: `write_with_hash` for `AsyncStore` (from ``remote_store_ext.aio_write``)."""

from __future__ import annotations

from remote_store.aio.ext import load

write_with_hash = load("write").write_with_hash

__all__ = ["write_with_hash"]
