"""The documentation site builds strict, its generated pages hold real data, and it renders in a browser.

One ``mkdocs build --strict`` per run (into ``site/``, or ``$REMOTE_STORE_DOCS_SITE``); then:

* the capability matrix has a row per installed backend type and a column per `Capability`
  member, each cell agreeing with the class's declared ``CAPABILITIES``;
* the options page has a section per backend listing every option of its option table /
  constructor; the CLI page a section per command with every option string; the hooks page
  every hook; the API pages an anchor per documented public name;
* headless Chromium (Debian ``chromium`` + ``chromium-driver``, installed by
  ``scripts/install-test-servers.sh``) loads the home page and the capability matrix from a
  local HTTP server on 127.0.0.1 and runs a search, with no console error; screenshots go to
  ``site/_check/*.png`` (a CI artifact, not committed). Without Chromium the browser test
  skips with the reason (fails under ``REMOTE_STORE_TEST_REQUIRE_SERVERS=1``).
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import inspect
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.servers._common import server_missing

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER_PATHS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


@pytest.fixture(scope="module")
def site() -> Path:
    """The site, built once per module with ``mkdocs build --strict``."""
    out = Path(os.environ.get("REMOTE_STORE_DOCS_SITE") or ROOT / "site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


class _Tables(html.parser.HTMLParser):
    """Collects every ``<table>`` of a page as rows of cell texts, and every element id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.ids: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key == "id" and value:
                self.ids.add(value)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page(site: Path, rel: str) -> _Tables:
    """Parse ``site/<rel>/index.html`` (``rel`` like ``reference/capabilities``)."""
    path = site / rel / "index.html"
    assert path.is_file(), f"{rel} was not generated"
    parsed = _Tables()
    parsed.feed(path.read_text(encoding="utf-8"))
    return parsed


def test_capability_matrix_has_every_backend_and_capability(site: Path) -> None:
    import remote_store
    from remote_store import Capability

    parsed = page(site, "reference/capabilities")
    header, *rows = parsed.tables[0]
    assert header[2:] == [c.name for c in Capability]
    by_type = {row[0].split()[0]: row for row in rows}
    host = remote_store.get_plugin_host()
    types = sorted(host.backend_types())
    assert {"local", "memory", "http", "s3", "sftp", "azure", "gcs", "sql-blob", "sql-query", "fsspec"} <= set(types)
    for name in types:
        row = by_type[name]
        declared = getattr(host.backend_class(name), "CAPABILITIES")  # noqa: B009 - typed as a plain type
        assert row[1] == host.backend_spec(name).package
        for cap, cell in zip(Capability, row[2:], strict=True):
            assert (cell == "✓") == (cap in declared), f"{name} {cap.name}: {cell!r}"
    # Server-dependent capabilities are marked and explained: SFTP's ATOMIC_MOVE, S3's HIERARCHICAL.
    names = [c.name for c in Capability]
    assert by_type["sftp"][2 + names.index("ATOMIC_MOVE")] == "opt"
    assert by_type["s3"][2 + names.index("HIERARCHICAL")] == "opt"
    text = (site / "reference/capabilities/index.html").read_text(encoding="utf-8")
    assert "posix-rename@openssh.com" in text


def test_options_page_lists_every_option_of_every_backend(site: Path) -> None:
    import remote_store
    from remote_store_s3._options import OPTIONS as S3_OPTIONS

    parsed = page(site, "reference/options")
    host = remote_store.get_plugin_host()
    for name in host.backend_types():
        assert name in parsed.ids, f"no section #{name}"
    assert "sql" in parsed.ids  # backends/sql.md links #sql
    assert all(len(row) == 4 for table in parsed.tables for row in table), "a cell split a table row"
    assert "\\|" not in (site / "reference/options/index.html").read_text(encoding="utf-8")
    options = {row[0] for table in parsed.tables for row in table[1:]}
    assert set(S3_OPTIONS.rows) <= options
    local = inspect.signature(host.backend_class("local")).parameters
    assert set(local) <= options
    s3_table = next(t for t in parsed.tables if any(r[0] == "multipart_threshold" for r in t))
    row = next(r for r in s3_table if r[0] == "multipart_threshold")
    assert "8388608" in row[2] and row[3], row  # default and a description from the docstrings


def test_cli_page_documents_every_command_and_option(site: Path) -> None:
    import argparse

    from remote_store._cli._parser import build_parser

    parsed = page(site, "reference/cli")
    text = (site / "reference/cli/index.html").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert len(sub.choices) >= 10
    for name, parser in sub.choices.items():
        assert f"remote-store-{name}" in parsed.ids
        for action in parser._actions:
            if action.help != argparse.SUPPRESS:
                for option in action.option_strings:
                    assert option in text, f"{name} {option}"


def test_hooks_and_api_pages(site: Path) -> None:
    import importlib

    from remote_store._plugins._hookspecs import RemoteStoreHookSpecs

    text = (site / "hooks/index.html").read_text(encoding="utf-8")
    hooks = [n for n in vars(RemoteStoreHookSpecs) if n.startswith("remote_store_")]
    assert hooks and all(h in text for h in hooks)
    sys.path.insert(0, str(ROOT / "docs" / "_hooks"))
    try:
        from refgen.api import modules
    finally:
        sys.path.remove(str(ROOT / "docs" / "_hooks"))
    found = modules()
    assert {"remote_store", "remote_store.errors", "remote_store.aio", "remote_store.kit"} <= set(found)
    assert {"remote_store_s3", "remote_store_ext.cache", "remote_store_conformance"} <= set(found)
    for module in found:
        ids = page(site, f"reference/api/{module}").ids
        public = [n for n in getattr(importlib.import_module(module), "__all__", []) if not n.startswith("__")]
        assert not public or any(f"{module}.{n}" in ids for n in public), f"{module}: no public name rendered"
    core = page(site, "reference/api/remote_store").ids
    for name in ("Store", "Backend", "Capability", "RegistryConfig", "open_store", "Store.write_atomic"):
        assert f"remote_store.{name}" in core, name
    errors = page(site, "reference/api/remote_store.errors").ids
    assert {"remote_store.errors.NotFound", "remote_store.errors.ConfigError"} <= errors


def test_search_index_covers_the_generated_pages(site: Path) -> None:
    import json

    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = {doc["location"].split("#")[0] for doc in index["docs"]}
    assert {"reference/capabilities/", "reference/options/", "reference/cli/"} <= locations


# --- the browser check ----------------------------------------------------------------------


def _find(paths: tuple[str, ...], name: str) -> str | None:
    return shutil.which(name) or next((p for p in paths if os.access(p, os.X_OK)), None)


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1 (a free port)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through Debian's chromedriver (no driver download)."""
    chromium = _find(CHROMIUM_PATHS, "chromium")
    driver_path = _find(DRIVER_PATHS, "chromedriver")
    if chromium is None or driver_path is None:
        server_missing("headless Chromium needs Debian's chromium and chromium-driver (apt-get install)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        server_missing(f"selenium is not installed: {exc}")
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(driver_path)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _console_errors(driver: Any) -> list[str]:
    return [f"{e['level']}: {e['message']}" for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _wait(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_site_renders_in_headless_chromium(site: Path, served: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    shots = site / "_check"
    shots.mkdir(exist_ok=True)

    browser.get(served)
    assert "remote-store" in browser.title
    assert browser.find_element(By.CSS_SELECTOR, "article h1").text.strip() == "remote-store"
    assert browser.find_elements(By.CSS_SELECTOR, "nav.md-nav a"), "no navigation rendered"
    browser.save_screenshot(str(shots / "home.png"))
    assert _console_errors(browser) == []

    browser.get(served + "reference/capabilities/")
    rows = browser.find_elements(By.CSS_SELECTOR, "article table tbody tr")
    assert len(rows) >= 10
    assert "sftp" in browser.find_element(By.CSS_SELECTOR, "article table").text
    browser.save_screenshot(str(shots / "capabilities.png"))
    assert _console_errors(browser) == []

    box = browser.find_element(By.CSS_SELECTOR, "input.md-search__input")
    if not box.is_displayed():  # a narrow window: the header's search button opens it
        browser.find_element(By.CSS_SELECTOR, ".md-header label[for='__search']").click()
        assert _wait(box.is_displayed), "search box did not open"
    box.click()
    box.send_keys("posix-rename")
    results = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".md-search-result__item"))
    browser.save_screenshot(str(shots / "search.png"))
    assert results, "search returned no results"
    assert any("Capability" in r.text for r in results), [r.text[:80] for r in results]
    box.send_keys(Keys.ESCAPE)
    assert _console_errors(browser) == []
    for name in ("home", "capabilities", "search"):
        assert (shots / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the nav rule for guide pages written on another branch ----------------------------------


def _hook_module() -> Any:
    import importlib.util

    hooks = str(ROOT / "docs" / "_hooks")
    sys.path.insert(0, hooks)
    try:
        spec = importlib.util.spec_from_file_location("docs_reference_hook", ROOT / "docs" / "_hooks" / "reference.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(hooks)
    return module


def test_nav_leaves_out_guides_only_while_none_is_written(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import yaml

    hook = _hook_module()
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    listed = set(re.findall(r"[\w/-]+\.md", str(nav)))
    assert listed >= hook.PENDING, "every guide page of the docs contract is in the nav"

    docs = tmp_path / "docs"
    docs.mkdir()
    with caplog.at_level("INFO", logger="mkdocs.hooks.reference"):
        config = hook.on_config({"docs_dir": str(docs), "nav": nav})
    left = set(re.findall(r"[\w/-]+\.md", str(config["nav"])))
    assert not left & hook.PENDING and "index.md" in left and "reference/api/index.md" in left
    assert not [r for r in caplog.records if r.levelname == "WARNING"]

    (docs / "guides").mkdir()
    (docs / "guides" / "errors.md").write_text("# Errors\n", encoding="utf-8")
    caplog.clear()
    with caplog.at_level("INFO", logger="mkdocs.hooks.reference"):
        config = hook.on_config({"docs_dir": str(docs), "nav": nav})
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "guides/security.md" in warnings[0]  # a half-merged nav fails --strict
    assert "guides/errors.md" in str(config["nav"]) and "guides/security.md" not in str(config["nav"])
