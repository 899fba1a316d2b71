"""Root conftest: loads every server-fixture module in ``testing/servers`` as a plugin."""

from __future__ import annotations

import pkgutil
from pathlib import Path

pytest_plugins = [
    f"testing.servers.{m.name}"
    for m in pkgutil.iter_modules([str(Path(__file__).parent / "testing" / "servers")])
    if not m.name.startswith("_")
]
