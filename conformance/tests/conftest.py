"""Fixtures for the conformance package's own tests."""

from __future__ import annotations

pytest_plugins = ["pytester"]
