"""``main``: parse, set up logging, run one command, map errors to one stderr line and an exit status."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from remote_store._cli._parser import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG, UsageError, build_parser
from remote_store.errors import RemoteStoreError

#: Distributions ``--version`` reports when installed.
_DISTRIBUTIONS = (
    "remote-store-core",
    "remote-store-ext",
    "remote-store-s3",
    "remote-store-sftp",
    "remote-store-azure",
    "remote-store-sql",
)


def _error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {' '.join(message.split())}\n")
    sys.stderr.flush()


def _installed_versions() -> dict[str, str]:
    """Distribution name → version of the installed remote-store wheels.

    Reads the ``<name>-<version>.dist-info`` folder names on ``sys.path`` (about 1 ms)
    instead of importing ``importlib.metadata`` (about 25 ms) so ``--version`` stays fast.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("remote_store") and name.endswith(".dist-info"):
                dist, _, version = name[: -len(".dist-info")].partition("-")
                found.setdefault(dist.replace("_", "-"), version)
    return found


def version_text() -> str:
    """``remote-store 0.1.0 (remote-store-core 0.1.0, remote-store-s3 0.1.0, …; Python 3.11.2)``."""
    installed = _installed_versions()
    if "remote-store-core" not in installed:  # e.g. run from a source tree: ask the metadata API
        from importlib import metadata

        for dist in _DISTRIBUTIONS:
            try:
                installed[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    found = [(d, installed[d]) for d in _DISTRIBUTIONS if d in installed]
    found += sorted((d, v) for d, v in installed.items() if d not in _DISTRIBUTIONS)
    core = installed.get("remote-store-core", "unknown")
    listed = ", ".join(f"{d} {v}" for d, v in found)
    return f"{PROG} {core} ({listed}; Python {sys.version.split()[0]})"


@contextmanager
def _logging(verbosity: int) -> Iterator[None]:
    """``-v``: INFO, ``-vv``: DEBUG records of the ``remote_store`` loggers on stderr."""
    if verbosity <= 0:
        yield
        return
    import logging

    logger = logging.getLogger("remote_store")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s %(name)s: %(message)s"))
    old = logger.level
    logger.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``remote-store`` command line.

    Args:
        argv: Arguments without the program name (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0 success, 1 operation error, 2 usage error, 130 interrupted.
        `remote_store.errors` are reported as one line on stderr
        (``remote-store: error: <ErrorClass>: <message>``), never as a traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.version:
        sys.stdout.write(version_text() + "\n")
        return EXIT_OK
    if args.command is None:
        parser.print_usage(sys.stderr)
        _error("a command is required (see --help)")
        return EXIT_USAGE
    from remote_store._cli._commands import Cli
    from remote_store._cli._session import Session

    session = Session(args.config)
    cli = Cli(args, session)
    handler: Callable[[], int] = getattr(cli, args.command)
    try:
        with _logging(args.verbose), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return handler()
            finally:
                seen: set[str] = set()
                for w in caught:
                    text = str(w.message)
                    if text not in seen:
                        seen.add(text)
                        sys.stderr.write(f"{PROG}: warning: {text}\n")
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except RemoteStoreError as exc:
        session.show_local_paths(exc)
        _error(f"{type(exc).__name__}: {exc}")
        return EXIT_ERROR
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # `remote-store cat … | head`
            try:
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
            except OSError:
                pass
            return EXIT_OK
        where = f": {exc.filename}" if exc.filename else ""
        _error(f"{type(exc).__name__}: {exc.strerror or exc}{where}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    finally:
        session.close()
