"""Fixtures for core tests: an isolated plugin host with no entry points."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remote_store import PluginHost, use_plugin_host


@pytest.fixture
def plugin_host() -> Iterator[PluginHost]:
    """A plugin host with only the built-in plugin, installed as the process-wide host."""
    host = PluginHost(load_entry_points=False)
    with use_plugin_host(host):
        yield host
