"""Transparent read-through caching: repeated reads of a file come from a fast local cache.

    from remote_store.ext.cache import DiskCache, MemoryCache, cache

    cached = cache(store, MemoryCache(max_bytes=64 * 1024 * 1024), ttl=300)
    cached.read_bytes("config.json")   # fetched once…
    cached.read_bytes("config.json")   # …then served from memory
    cached.stats                       # CacheStats(hits=1, misses=1, …)

See `CachedStore` for what is cached, how entries are validated (TTL, ETag/size) and
invalidated (every mutation through the store), and `MemoryCache` / `DiskCache` for the
bounded LRU storage behind it.
"""

from __future__ import annotations

from remote_store_ext._cachebackend import CacheBackend, CacheEntry, DiskCache, MemoryCache
from remote_store_ext._cachestore import CachedStore, CacheStats, cache

__all__ = ["CacheBackend", "CacheEntry", "CacheStats", "CachedStore", "DiskCache", "MemoryCache", "cache"]
