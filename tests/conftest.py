"""Fixtures for the root ``tests/`` suites: fresh stores over every backend kind (`testing.backends`)."""

from __future__ import annotations

from testing.backends import any_store, store_factory

__all__ = ["any_store", "store_factory"]
