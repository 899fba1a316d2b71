"""Every code block in ``docs/`` runs, as written, so no example rots.

The rules (``docs`` contract):

* ```` ```python ```` blocks are executed. The blocks of one page run in order in ONE shared
  namespace (a module registered in ``sys.modules`` while the page runs), in a fresh empty
  temporary working directory, with every ``REMOTE_STORE_*`` environment variable cleared and a
  fresh plugin host (entry points loaded, nothing registered in-process by another page).
* A directive comment on the line(s) just before a fence changes how it is tested::

      <!-- docs-test: servers=s3,sftp -->      the rest of the page runs with these servers up
      <!-- docs-test: write=remote-store.toml --> the block's text is written to that file
      <!-- docs-test: expect=NotFound -->      the python block must raise that errors class

  Several directives may share one comment (``servers=s3 write=a.toml``) or stand on
  consecutive lines. An unknown directive, a directive comment that no fence follows, or an
  unknown server / error name fails the page.
* ```` ```toml ```` / ```` ```yaml ```` blocks are parsed; one with a ``stores`` table (top level,
  or ``[tool.remote-store]``) is loaded through `RegistryConfig.from_dict` and every backend it
  names is built (`build_backend`) and every middleware looked up, so an unknown type, option or
  middleware fails. Placeholders whose variable is unset are checked by name and type only.
* ```` ```console ```` blocks: each ``$ remote-store …`` line runs (in the page's directory, after
  the blocks before it) and must exit 0; other lines are sample output and are not compared.
* ```` ```text ```` (and fences with no language, used for trees and signatures) never run.
  Aliases that look runnable (``py``, ``python3``, ``pycon``, ``sh``, ``bash``, ``shell``) are
  refused: use ``python`` / ``console`` to run, ``text`` not to.

Servers come from the shared fixtures in ``testing/servers`` and reach the examples only
through environment variables, so examples read like user code:

=========  ==========================================================================
s3         ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
           ``AWS_DEFAULT_REGION``; bucket ``docs-bucket`` exists (moto)
azure      ``AZURE_STORAGE_CONNECTION_STRING``; container ``docs`` exists (Azurite)
gcs        ``STORAGE_EMULATOR_HOST``; bucket ``docs-bucket`` exists (fake-gcs-server)
sftp       ``DOCS_SFTP_HOST``, ``DOCS_SFTP_PORT``, ``DOCS_SFTP_USER``, ``DOCS_SFTP_KEY_FILE``,
           ``DOCS_SFTP_KNOWN_HOSTS``, ``DOCS_SFTP_BASE`` (a fresh writable server folder)
postgres   ``DOCS_PG_URL``; mysql: ``DOCS_MYSQL_URL`` (tables a page creates are dropped)
=========  ==========================================================================

A page naming a server the machine lacks is skipped with the reason (failed under
``REMOTE_STORE_TEST_REQUIRE_SERVERS=1``). Each page gets its own bucket / container / folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import tomllib
import types
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

RUN_LANGS = frozenset({"python", "toml", "yaml", "console", "json"})
INERT_LANGS = frozenset({"", "text"})
#: Languages that look runnable but would not be: refused so nothing is skipped silently.
REFUSED_LANGS = frozenset({"py", "python3", "pycon", "ipython", "sh", "bash", "shell", "shell-session", "zsh", "yml"})
DIRECTIVES = frozenset({"servers", "write", "expect"})
SERVERS = ("s3", "azure", "gcs", "sftp", "postgres", "mysql")

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:(?P<body>.*?)-->\s*$")
_ANY_DIRECTIVE = re.compile(r"docs-test\s*:", re.I)


class PageError(ValueError):
    """A page breaks the docs-example rules (the message names the page and line)."""


@dataclass(frozen=True)
class Block:
    """One fenced block of a page.

    Attributes:
        lang: The fence's language (first word of the info string, lower case; ``""`` for none).
        text: The body, dedented by the fence's indentation.
        line: 1-based line number of the opening fence.
        directives: ``{"servers": "s3,sftp", "write": "a.toml", "expect": "NotFound"}`` subset.
    """

    lang: str
    text: str
    line: int
    directives: Mapping[str, str] = field(default_factory=dict)


def _parse_directives(body: str, where: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in body.split():
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise PageError(f"{where}: malformed docs-test directive {item!r} (expected key=value)")
        if key not in DIRECTIVES:
            raise PageError(f"{where}: unknown docs-test directive {key!r} (known: {', '.join(sorted(DIRECTIVES))})")
        if key in found:
            raise PageError(f"{where}: docs-test directive {key!r} given twice for one block")
        found[key] = value
    if not found:
        raise PageError(f"{where}: empty docs-test directive")
    return found


def parse_page(text: str, name: str) -> list[Block]:
    """Split a Markdown page into its fenced blocks, with the directives that precede each.

    Raises:
        PageError: An unknown or malformed directive, a directive that no fence follows, a
            directive on a block it cannot apply to, a refused fence language or an unclosed fence.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    pending: dict[str, str] = {}
    pending_line = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        where = f"{name}:{i + 1}"
        m = _DIRECTIVE.match(line)
        if m:
            for key, value in _parse_directives(m.group("body"), where).items():
                if key in pending:
                    raise PageError(f"{where}: docs-test directive {key!r} given twice for one block")
                pending[key] = value
            pending_line = pending_line or i + 1
            i += 1
            continue
        if _ANY_DIRECTIVE.search(line):
            raise PageError(f"{where}: a docs-test directive must be a whole line `<!-- docs-test: key=value -->`")
        m = _OPEN.match(line)
        if m is None:
            if pending:
                raise PageError(f"{name}:{pending_line}: docs-test directive not followed by a fenced block")
            i += 1
            continue
        indent, fence, info = m.group("indent"), m.group("fence"), m.group("info").strip()
        lang = info.split()[0].lower() if info else ""
        lang = lang.strip("{}").lstrip(".")
        body: list[str] = []
        j = i + 1
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        while j < len(lines) and not closing.match(lines[j]):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        if j >= len(lines):
            raise PageError(f"{where}: fence {fence}{info} is never closed")
        if lang in REFUSED_LANGS:
            raise PageError(
                f"{where}: fence language {lang!r} is not tested; use python or console (run) or text (not run)"
            )
        if lang not in RUN_LANGS | INERT_LANGS:
            raise PageError(f"{where}: unknown fence language {lang!r} (tested: {', '.join(sorted(RUN_LANGS))}; text)")
        if "expect" in pending and lang != "python":
            raise PageError(f"{where}: expect= applies to python blocks only (this one is {lang or 'plain'})")
        if "write" in pending and lang == "python":
            raise PageError(f"{where}: write= is for config/data blocks; a python block runs instead")
        blocks.append(Block(lang, textwrap.dedent("\n".join(body)) + "\n", i + 1, dict(pending)))
        pending, pending_line = {}, 0
        i = j + 1
    if pending:
        raise PageError(f"{name}:{pending_line}: docs-test directive not followed by a fenced block")
    return blocks


def pages() -> list[Path]:
    """Every Markdown source page of the site (generated reference pages excluded)."""
    return sorted(p for p in DOCS.rglob("*.md") if "_hooks" not in p.parts and "reference" not in p.parts)


# --- servers ---------------------------------------------------------------------------------


def _setup_s3(request: pytest.FixtureRequest, stack: contextlib.ExitStack) -> dict[str, str]:
    server = request.getfixturevalue("s3_server")
    bucket = server.create_bucket("docs-bucket")
    stack.callback(server.delete_bucket, bucket)
    return {
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "AWS_ACCESS_KEY_ID": server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": server.secret_access_key,
        "AWS_DEFAULT_REGION": server.region,
    }


def _setup_azure(request: pytest.FixtureRequest, stack: contextlib.ExitStack) -> dict[str, str]:
    from azure.storage.blob import BlobServiceClient

    server = request.getfixturevalue("azurite")
    service = BlobServiceClient.from_connection_string(server.connection_string)
    stack.callback(service.close)
    with contextlib.suppress(Exception):  # a previous run killed before its clean-up
        service.delete_container("docs")
    service.create_container("docs")
    stack.callback(service.delete_container, "docs")
    return {"AZURE_STORAGE_CONNECTION_STRING": server.connection_string}


def _setup_gcs(request: pytest.FixtureRequest, stack: contextlib.ExitStack) -> dict[str, str]:
    server = request.getfixturevalue("gcs_server")
    server.delete_bucket("docs-bucket")
    bucket = server.create_bucket("docs-bucket")
    stack.callback(server.delete_bucket, bucket)
    return {"STORAGE_EMULATOR_HOST": server.endpoint}


def _setup_sftp(request: pytest.FixtureRequest, stack: contextlib.ExitStack) -> dict[str, str]:
    server = request.getfixturevalue("sftp_server_session")
    base = server.unique_base("docs")
    stack.callback(shutil.rmtree, server.local_path(base), True)
    return {
        "DOCS_SFTP_HOST": server.host,
        "DOCS_SFTP_PORT": str(server.port),
        "DOCS_SFTP_USER": server.username,
        "DOCS_SFTP_KEY_FILE": server.client_key,
        "DOCS_SFTP_KNOWN_HOSTS": server.known_hosts,
        "DOCS_SFTP_BASE": base,
    }


def _drop_new_tables(url: str, stack: contextlib.ExitStack) -> None:
    """Drop, when the page ends, every table the page created in the database at ``url``."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    before = set(sa.inspect(engine).get_table_names())

    def drop() -> None:
        meta = sa.MetaData()
        new = sorted(set(sa.inspect(engine).get_table_names()) - before)
        if new:
            meta.reflect(engine, only=new)
            meta.drop_all(engine)
        engine.dispose()

    stack.callback(drop)


def _setup_postgres(request: pytest.FixtureRequest, stack: contextlib.ExitStack) -> dict[str, str]:
    url = request.getfixturevalue("postgres_url")
    _drop_new_tables(url, stack)
    return {"DOCS_PG_URL": url}


def _setup_mysql(request: pytest.FixtureRequest, stack: contextlib.ExitStack) -> dict[str, str]:
    url = request.getfixturevalue("mysql_url")
    _drop_new_tables(url, stack)
    return {"DOCS_MYSQL_URL": url}


_SETUP: dict[str, Callable[[pytest.FixtureRequest, contextlib.ExitStack], dict[str, str]]] = {
    "s3": _setup_s3,
    "azure": _setup_azure,
    "gcs": _setup_gcs,
    "sftp": _setup_sftp,
    "postgres": _setup_postgres,
    "mysql": _setup_mysql,
}
assert set(_SETUP) == set(SERVERS)


def servers_of(blocks: list[Block], name: str) -> list[str]:
    """The servers a page names, in first-use order.

    Raises:
        PageError: An unknown server name.
    """
    wanted: list[str] = []
    for block in blocks:
        for server in filter(None, block.directives.get("servers", "").split(",")):
            if server not in _SETUP:
                raise PageError(f"{name}:{block.line}: unknown server {server!r} (known: {', '.join(SERVERS)})")
            if server not in wanted:
                wanted.append(server)
    return wanted


# --- config blocks -----------------------------------------------------------------------------


def _config_table(doc: Any) -> Mapping[str, Any] | None:
    if not isinstance(doc, Mapping):
        return None
    tool = doc.get("tool")
    if isinstance(tool, Mapping) and isinstance(tool.get("remote-store"), Mapping):
        return tool["remote-store"]  # type: ignore[no-any-return]
    return doc if "stores" in doc else None


def check_config(doc: Any, where: str) -> None:
    """Load a parsed config document through the config loader and build what it names.

    Raises:
        ConfigError: Anything the loader or a backend refuses (unknown type, option, middleware).
    """
    import remote_store
    from remote_store._registry import build_backend

    table = _config_table(doc)
    if table is None:
        return
    host = remote_store.get_plugin_host()
    config = remote_store.RegistryConfig.from_dict(table, source=where)
    raw = remote_store.RegistryConfig.from_dict(table, resolve_env_vars=False, source=where)
    for name, backend_config in config.backends.items():
        if backend_config.env_error is None:
            build_backend(backend_config, name=name, host=host, source=where).close()
        else:  # an unset ${VAR}: the example is illustrative; check the type and option names
            import inspect

            spec = raw.backends[name]
            cls = host.backend_class(spec.type)
            params = inspect.signature(cls).parameters
            if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
                unknown = sorted(set(spec.options) - set(params))
                if unknown:
                    raise remote_store.ConfigError(f"{where}: backends.{name}.options: unknown option(s) {unknown}")
    for profile in config.stores.values():
        for mw in profile.middleware:
            host.middleware(mw.name)


def parse_data(block: Block, where: str) -> Any:
    """Parse a toml / yaml / json block (the document), raising on a syntax error."""
    if block.lang == "toml":
        return tomllib.loads(block.text)
    if block.lang == "yaml":
        import yaml

        return yaml.safe_load(block.text)
    if block.lang == "json":
        return json.loads(block.text)
    raise AssertionError(f"{where}: not a data block")


# --- running a page ------------------------------------------------------------------------------


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("remote-store")
    return [str(script)] if script.exists() else [sys.executable, "-m", "remote_store._cli"]


def run_console(block: Block, name: str, cwd: Path) -> None:
    """Run each ``$ remote-store …`` line of a console block; each must exit 0."""
    ran = 0
    for offset, line in enumerate(block.text.splitlines(), start=1):
        if not line.startswith("$ remote-store "):
            continue
        argv = shlex.split(line[2:], comments=True)
        proc = subprocess.run(
            _cli() + argv[1:], cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
        )
        ran += 1
        assert proc.returncode == 0, (
            f"{name}:{block.line + offset}: `{line[2:]}` exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )


def run_python(block: Block, name: str, namespace: dict[str, Any]) -> None:
    """Execute one python block in the page's namespace, honouring ``expect=``."""
    import remote_store.errors

    # Line numbers in tracebacks point into the page: pad the code down to the fence.
    # dont_inherit: a block runs as its own module would, without this file's __future__ imports.
    code = compile("\n" * block.line + block.text, name, "exec", dont_inherit=True)
    expect = block.directives.get("expect")
    if expect is None:
        exec(code, namespace)
        return
    cls = getattr(remote_store.errors, expect, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        raise PageError(f"{name}:{block.line}: expect={expect} is not an exception class in remote_store.errors")
    with pytest.raises(cls):
        exec(code, namespace)


@contextlib.contextmanager
def page_module(name: str) -> Iterator[dict[str, Any]]:
    """A fresh module, registered in ``sys.modules`` while the page runs, whose dict the blocks share."""
    slug = re.sub(r"\W", "_", name)
    mod_name = f"docs_page_{slug}_{uuid.uuid4().hex[:6]}"
    module = types.ModuleType(mod_name)
    module.__file__ = name
    sys.modules[mod_name] = module
    try:
        yield module.__dict__
    finally:
        sys.modules.pop(mod_name, None)


def run_page(
    path: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    *,
    root: Path = ROOT,
) -> dict[str, int]:
    """Run every block of one page by the rules above; returns how many blocks of each kind ran."""
    import remote_store

    name = path.relative_to(root).as_posix()
    blocks = parse_page(path.read_text(encoding="utf-8"), name)
    wanted = servers_of(blocks, name)
    counts = {"python": 0, "console": 0, "data": 0, "write": 0}
    with contextlib.ExitStack() as stack:
        # Servers first (their fixtures read REMOTE_STORE_TEST_* variables), exposed later.
        server_env = {server: _SETUP[server](request, stack) for server in wanted}
        for var in [v for v in os.environ if v.startswith("REMOTE_STORE_")]:
            monkeypatch.delenv(var)
        cwd = tmp_path / "page"
        cwd.mkdir()
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        monkeypatch.chdir(cwd)
        stack.enter_context(remote_store.use_plugin_host(remote_store.PluginHost()))
        namespace = stack.enter_context(page_module(name))
        for block in blocks:
            where = f"{name}:{block.line}"
            for server in filter(None, block.directives.get("servers", "").split(",")):
                for var, value in server_env[server].items():
                    monkeypatch.setenv(var, value)
            if "write" in block.directives:
                target = cwd / block.directives["write"]
                if not target.resolve().is_relative_to(cwd.resolve()):
                    raise PageError(f"{where}: write= must name a file inside the page's directory")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.text, encoding="utf-8")
                counts["write"] += 1
            if block.lang == "python":
                run_python(block, name, namespace)
                counts["python"] += 1
            elif block.lang == "console":
                run_console(block, name, cwd)
                counts["console"] += 1
            elif block.lang in ("toml", "yaml", "json"):
                check_config(parse_data(block, where), where)
                counts["data"] += 1
    return counts


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_examples_run(
    page: Path, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_page(page, tmp_path, request, monkeypatch)


# --- the rules themselves ----------------------------------------------------------------------


def test_there_are_pages_with_python_examples() -> None:
    runnable = [
        p for p in pages() if any(b.lang == "python" for b in parse_page(p.read_text(encoding="utf-8"), p.name))
    ]
    assert runnable, "no docs page has a python block: the example test would run nothing"


@pytest.mark.parametrize(
    "text",
    [
        "<!-- docs-test: skip=true -->\n```python\nprint(1)\n```\n",
        "<!-- docs-test: server=s3 -->\n```python\nprint(1)\n```\n",
        "<!-- docs-test: servers=s3 -->\n<!-- docs-test: bogus=1 -->\n```python\nx = 1\n```\n",
        "<!-- docs-test: expect -->\n```python\nx = 1\n```\n",
        "<!-- docs-test: expect=NotFound -->\n\nsome prose\n```python\nx = 1\n```\n",
        "<!-- docs-test: expect=NotFound -->\n",
        "<!-- docs-test: write=a.toml -->\n```python\nx = 1\n```\n",
        "<!-- docs-test: expect=NotFound -->\n```toml\na = 1\n```\n",
        "text <!-- docs-test: expect=NotFound --> inline\n```python\nx = 1\n```\n",
        "```py\nx = 1\n```\n",
        "```bash\nrm -rf /\n```\n",
        "```python\nx = 1\n",
    ],
    ids=[
        "skip",
        "typo",
        "second-line",
        "no-value",
        "detached",
        "trailing",
        "write-on-python",
        "expect-on-toml",
        "inline",
        "py-alias",
        "bash",
        "unclosed",
    ],
)
def test_unknown_or_misplaced_directives_fail(text: str) -> None:
    with pytest.raises(PageError):
        parse_page(text, "page.md")


def test_directives_attach_to_the_next_fence() -> None:
    text = (
        "Intro\n\n"
        "<!-- docs-test: servers=s3 -->\n"
        "<!-- docs-test: expect=NotFound -->\n"
        "```python\nraise KeyError\n```\n\n"
        "- item\n\n"
        "  <!-- docs-test: write=conf/remote-store.toml -->\n"
        "  ```toml\n  [stores.a]\n  backend = 'b'\n  ```\n"
        "```text\nnot run\n```\n"
        "~~~console\n$ remote-store plugins\n~~~\n"
    )
    blocks = parse_page(text, "page.md")
    assert [(b.lang, b.line) for b in blocks] == [("python", 5), ("toml", 12), ("text", 16), ("console", 19)]
    assert blocks[0].directives == {"servers": "s3", "expect": "NotFound"}
    assert blocks[1].directives == {"write": "conf/remote-store.toml"}
    assert blocks[1].text == "[stores.a]\nbackend = 'b'\n"
    assert not blocks[2].directives and not blocks[3].directives
    assert servers_of(blocks, "page.md") == ["s3"]
    with pytest.raises(PageError, match="unknown server"):
        servers_of(parse_page("<!-- docs-test: servers=ftp -->\n```python\n```\n", "p.md"), "p.md")


def _page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "src" / "page.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text, encoding="utf-8")
    return page


@pytest.fixture
def run_synthetic(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], dict[str, int]]:
    """Run a synthetic page through `run_page`."""

    def run(text: str) -> dict[str, int]:
        work = tmp_path / f"w{uuid.uuid4().hex[:6]}"
        work.mkdir()
        return run_page(_page(tmp_path, text), work, request, monkeypatch, root=tmp_path)

    return run


def test_a_page_shares_one_namespace_and_an_empty_cwd(
    run_synthetic: Callable[[str], dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMOTE_STORE_CONFIG", "/nonexistent.toml")
    counts = run_synthetic(
        "```python\nimport os\nassert os.listdir('.') == []\nassert 'REMOTE_STORE_CONFIG' not in os.environ\n"
        "x = 41\n```\n"
        "<!-- docs-test: write=remote-store.toml -->\n"
        '```toml\n[backends.disk]\ntype = "local"\noptions.root = "data"\n\n[stores.notes]\nbackend = "disk"\nroot_path = "n"\n```\n'
        "```python\nx += 1\nimport remote_store\n"
        "with remote_store.open_store('notes') as s:\n    s.write_text('a.txt', str(x))\n```\n"
        "<!-- docs-test: expect=NotFound -->\n"
        "```python\nremote_store.open_store('notes').read_text('missing.txt')\n```\n"
        "```console\n$ remote-store cat notes:a.txt  # the file the python block wrote\n42\n```\n"
    )
    assert counts == {"python": 3, "console": 1, "data": 1, "write": 1}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("```python\nassert 1 == 2\n```\n", AssertionError),
        ("<!-- docs-test: expect=NotFound -->\n```python\nx = 1\n```\n", pytest.fail.Exception),
        ("<!-- docs-test: expect=KeyError -->\n```python\nraise KeyError\n```\n", PageError),
        ('```toml\n[backends.b]\ntype = "memroy"\n[stores.s]\nbackend = "b"\n```\n', Exception),
        ('```toml\n[backends.b]\ntype = "local"\noptions.rot = "x"\n[stores.s]\nbackend = "b"\n```\n', Exception),
        ("```yaml\nstores: {s: {backend: nowhere}}\n```\n", Exception),
        ("```toml\nnot = valid = toml\n```\n", tomllib.TOMLDecodeError),
        ("```console\n$ remote-store cat nowhere:x.txt\n```\n", AssertionError),
        ("<!-- docs-test: write=../escape.toml -->\n```toml\na = 1\n```\n", PageError),
    ],
    ids=["assert", "expect-not-raised", "expect-not-an-error", "type", "option", "store", "syntax", "cli", "escape"],
)
def test_a_broken_example_fails(run_synthetic: Callable[[str], dict[str, int]], text: str, error: type) -> None:
    with pytest.raises(error):
        run_synthetic(text)


def test_illustrative_config_with_unset_variables_is_checked_by_name(
    run_synthetic: Callable[[str], dict[str, int]],
) -> None:
    good = (
        '```toml\n[backends.b]\ntype = "local"\noptions.root = "${DOCS_UNSET_ROOT}"\n[stores.s]\nbackend = "b"\n```\n'
    )
    assert run_synthetic(good)["data"] == 1
    with pytest.raises(Exception, match="rooot"):
        run_synthetic(good.replace("options.root", "options.rooot"))


def test_servers_are_exposed_from_their_directive_on(run_synthetic: Callable[[str], dict[str, int]]) -> None:
    counts = run_synthetic(
        "```python\nimport os\nassert 'AWS_ENDPOINT_URL' not in os.environ\n```\n"
        "<!-- docs-test: servers=s3 -->\n"
        "```python\nimport remote_store\nstore = remote_store.open_store('s3://docs-bucket/demo')\n"
        "store.write_text('a.txt', 'on moto')\n```\n"
        "```python\nassert store.read_text('a.txt') == 'on moto'\nassert os.environ['AWS_ENDPOINT_URL'].startswith('http://127.0.0.1:')\n```\n"
    )
    assert counts["python"] == 3
