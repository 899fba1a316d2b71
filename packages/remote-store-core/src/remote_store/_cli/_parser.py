"""The argument parser of ``remote-store``: commands, options, examples and exit codes."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

PROG = "remote-store"

#: Exit statuses (also listed in ``--help``).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

ADDRESS_HELP = (
    "Addresses: STORE:path (a named store from config), a URL (file:///..., memory://..., s3://...), "
    "or a local path: one starting with /, ./, ../ or ~, or a bare existing path without ':' "
    "(data.csv, out/dir). Write ./new for a local target that does not exist yet, ./a:b for a name with ':'."
)

EXIT_HELP = (
    "Exit status: 0 success; 1 an operation failed (one line on stderr: "
    "'remote-store: error: <ErrorClass>: <message>'; for many files, every failure is listed first); "
    "2 bad usage (unknown command or option, missing argument); 130 interrupted."
)


class UsageError(Exception):
    """Bad command-line input (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        raise UsageError(message)


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def _common(parser: argparse.ArgumentParser) -> None:
    """``-q`` / ``-v`` accepted after the command too (``remote-store ls -q …``)."""
    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _conflicts(parser: argparse.ArgumentParser, what: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-f", "--force", "--overwrite", dest="force", action="store_true", help=f"overwrite existing {what}"
    )
    group.add_argument(
        "-n",
        "--no-clobber",
        "--skip-existing",
        dest="skip_existing",
        action="store_true",
        help=f"skip existing {what} (each one is listed); without -f or -n, existing {what} are all "
        "reported up front and nothing is copied",
    )


def _transfer_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-r", "--recursive", action="store_true", help="copy a folder and every file below it")
    _conflicts(parser, what)
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=8,
        metavar="N",
        help="files copied at once with -r (default 8; needs remote-store-ext, else one at a time)",
    )


def _paragraphs(*texts: str) -> str:
    return "\n\n".join(textwrap.fill(t, 88) for t in texts)


def _cmd(sub: Any, name: str, text: str, examples: str, **kw: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help=text,
        description=text[0].upper() + text[1:] + ".",
        epilog=f"Examples:\n{examples}\n\n" + _paragraphs(ADDRESS_HELP, EXIT_HELP),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kw,
    )
    _common(p)
    return p


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``remote-store`` (exposed for docs and tests)."""
    parser = _Parser(
        prog=PROG,
        description="Inspect remote-store plugins and copy files between stores and local disk.",
        epilog=_paragraphs(
            ADDRESS_HELP, EXIT_HELP, f"Run '{PROG} COMMAND --help' for a command's options and examples."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the installed versions and exit")
    parser.add_argument("--config", metavar="FILE", help="config file (TOML, or YAML with remote-store-ext)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar, summary or skipped-file lines")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log to stderr: -v INFO, -vv DEBUG (remote_store loggers)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = _cmd(
        sub,
        "plugins",
        "list installed backend types, plugins, middleware and config sources",
        f"  {PROG} plugins --json",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")

    p = _cmd(
        sub,
        "ls",
        "list a folder (or show one file)",
        f"  {PROG} ls data:reports/\n  {PROG} ls -lh -r s3://bucket/logs\n  {PROG} ls --json ./out",
        add_help=False,
    )
    p.add_argument("--help", action="help", help="show this help message and exit")
    p.add_argument("-l", "--long", action="store_true", help="show size (bytes) and modification time")
    p.add_argument(
        "-h", "--human-readable", dest="human", action="store_true", help="sizes as KiB/MiB/GiB (implies -l)"
    )
    p.add_argument("-r", "--recursive", action="store_true", help="list every file below the folder")
    p.add_argument("--json", action="store_true", help="a JSON array of {path, type, size, modified, etag}")
    p.add_argument("address", help="STORE:path, URL or local path")

    p = _cmd(sub, "cat", "write files to stdout", f"  {PROG} cat data:notes.txt | head")
    p.add_argument("addresses", nargs="+", metavar="address", help="files to print, in order")

    p = _cmd(
        sub,
        "put",
        "upload a local file (or a folder with -r)",
        f"  {PROG} put report.csv data:reports/\n  {PROG} put -r -j 16 ./site s3://bucket/www",
    )
    _transfer_options(p, "files")
    p.add_argument("local", help="local file or folder")
    p.add_argument("address", help="destination (a trailing / or an existing folder means 'into it')")

    p = _cmd(
        sub,
        "get",
        "download a file (or a folder with -r) to a local path",
        f"  {PROG} get data:reports/q1.csv .\n  {PROG} get -r -n data:reports ./backup",
    )
    _transfer_options(p, "local files")
    p.add_argument("address", help="source file, or folder with -r")
    p.add_argument("local", help="local file or folder (an existing folder means 'into it')")

    p = _cmd(
        sub,
        "cp",
        "copy a file, or a folder with -r, between any two stores (streaming)",
        f"  {PROG} cp data:a.csv other:archive/\n  {PROG} cp -r -j 16 s3://bucket/logs ./logs",
    )
    _transfer_options(p, "files")
    p.add_argument("src", help="source file, or folder with -r")
    p.add_argument("dst", help="destination (a trailing / or an existing folder means 'into it')")

    p = _cmd(
        sub,
        "mv",
        "move a file, or with -r a folder and every file below it, between any two stores",
        f"  {PROG} mv data:inbox/a.csv data:done/\n  {PROG} mv -r ./export data:imports/2024",
    )
    p.epilog = (
        _paragraphs(
            "Within one store whose backend can rename, each file is renamed; otherwise each file is "
            "copied and then deleted, and with -r the source folder is removed only when every file moved."
        )
        + "\n\n"
        + (p.epilog or "")
    )
    p.add_argument("-r", "--recursive", action="store_true", help="move a folder and every file below it")
    _conflicts(p, "files")
    p.add_argument("-j", "--jobs", type=_jobs, default=8, metavar="N", help="files copied at once (cross-store -r)")
    p.add_argument("src", help="source file, or folder with -r")
    p.add_argument("dst", help="destination (a trailing / or an existing folder means 'into it')")

    p = _cmd(sub, "rm", "delete files (folders with -r)", f"  {PROG} rm data:tmp/a.txt\n  {PROG} rm -r data:tmp")
    p.add_argument("-r", "--recursive", action="store_true", help="delete folders and everything below them")
    p.add_argument("-f", "--force", action="store_true", help="ignore missing paths")
    p.add_argument("addresses", nargs="+", metavar="address", help="files or folders to delete")

    p = _cmd(sub, "stat", "show a file's or folder's metadata", f"  {PROG} stat --json data:reports/q1.csv")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("address", help="file or folder")

    p = _cmd(sub, "ping", "check a store's backend is reachable", f"  {PROG} ping data\n  {PROG} ping s3://bucket")
    p.add_argument("address", help="STORE, STORE:, URL or local path (a bare word is a store name)")

    p = _cmd(
        sub,
        "gc",
        "remove leftover temp files of killed atomic writers (local, SFTP) below a folder; prints how many",
        f"  {PROG} gc --older-than 600 data:",
    )
    p.add_argument(
        "--older-than",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="only remove leftovers older than this (default 3600)",
    )
    p.add_argument("address", help="STORE:[path], URL or local folder")
    return parser
