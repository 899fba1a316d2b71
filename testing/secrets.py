"""Secret canary scanning for tests: one place that collects every text a configured secret
could leak into, and checks that none of them contains it.

A test configures a unique canary credential (password, key, token, connection string), runs
operations that fail (server down, credential refused), and feeds `CanaryScan` everything a
user could see or a log could store:

- ``repr`` / ``str`` of stores, backends, options and config objects (`CanaryScan.add`);
- errors with their whole chain: every exception reachable through ``__cause__``,
  ``__context__`` and exception groups, each with ``str``, ``repr`` and ``args``, and the full
  ``traceback.format_exception`` text, its ``__notes__``, and the ``repr`` of every attribute
  in its ``vars()`` (psycopg kept the conninfo, password included, on its errors), descending
  into attribute values that are plain objects or containers (`CanaryScan.add_error`,
  `attribute_texts`).
- every log record of every logger while `capture_all_logs` is active (root and every known
  logger at DEBUG, non-propagating loggers included), formatted with its traceback and args
  (`CanaryScan.add_records`).

`CanaryScan.assert_clean` then looks for each canary, its URL-quoted form and any other form
the test registers (a base64 Basic-auth value, PEM body lines).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import traceback
import types
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = [
    "CanaryScan",
    "LogCapture",
    "attribute_texts",
    "basic_auth_forms",
    "capture_all_logs",
    "error_chain",
    "pem_fragments",
]


class LogCapture(logging.Handler):
    """A handler that keeps every record it sees (thread-safe through `logging.Handler`'s lock)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def names(self) -> set[str]:
        """Logger names that produced at least one record."""
        return {r.name for r in self.records}


@contextlib.contextmanager
def capture_all_logs() -> Iterator[LogCapture]:
    """Capture every record of every logger at DEBUG until the block ends.

    The root logger and every logger that exists now are set to DEBUG (levels set by
    libraries would otherwise drop records), and the capturing handler is attached to the
    root and to every logger that does not propagate. Levels and handlers are restored after.
    """
    capture = LogCapture()
    root = logging.getLogger()
    saved: dict[logging.Logger, int] = {root: root.level}
    attached: list[logging.Logger] = [root]
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue
        saved[logger] = logger.level
        logger.setLevel(logging.DEBUG)
        if not logger.propagate:
            logger.addHandler(capture)
            attached.append(logger)
    try:
        yield capture
    finally:
        for logger in attached:
            logger.removeHandler(capture)
        for logger, level in saved.items():
            logger.setLevel(level)


def error_chain(exc: BaseException) -> list[BaseException]:
    """Every exception reachable from ``exc`` through ``__cause__``, ``__context__`` and groups."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop()
        if any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [x for x in (e.__cause__, e.__context__) if x is not None]
        todo += list(getattr(e, "exceptions", ()) or ())
    return seen


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the rest of the scan
        return f"<repr failed: {type(exc).__name__}>"


def _attributes(obj: Any) -> dict[str, Any]:
    """``vars(obj)`` plus ``__slots__`` values; {} for objects without either."""
    out: dict[str, Any] = {}
    try:
        out.update(vars(obj))
    except TypeError:
        pass
    for klass in type(obj).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in out and name not in ("__dict__", "__weakref__"):
                with contextlib.suppress(Exception):
                    out[name] = getattr(obj, name)
    return out


_LEAF_TYPES = (str, bytes, bytearray, int, float, complex, bool, type(None))


def attribute_texts(obj: Any, *, depth: int = 3, limit: int = 2000) -> list[tuple[str, str]]:
    """``(attribute path, repr)`` of every attribute of ``obj``, recursively.

    Walks ``vars()`` / ``__slots__`` of ``obj`` and, up to ``depth`` levels below it, of every
    attribute value that is a plain object, and the items of lists, tuples, sets and dicts;
    modules, classes and functions are not entered (their globals are not the error's data).
    At most ``limit`` values are visited (object graphs such as SDK clients can be huge);
    each object is visited once.
    """
    out: list[tuple[str, str]] = []
    seen: set[int] = {id(obj)}
    todo: list[tuple[str, Any, int]] = [(f".{name}", value, 1) for name, value in _attributes(obj).items()]
    while todo and len(out) < limit:
        where, value, level = todo.pop(0)
        if id(value) in seen and not isinstance(value, _LEAF_TYPES):
            continue
        seen.add(id(value))
        out.append((where, _safe_repr(value)))
        if level >= depth or isinstance(value, (*_LEAF_TYPES, BaseException)):
            continue  # exceptions are scanned on their own through the chain
        if isinstance(value, (type, types.ModuleType, types.FunctionType, types.MethodType, types.BuiltinFunctionType)):
            continue
        if isinstance(value, dict):
            todo += [(f"{where}[{k!r}]", v, level + 1) for k, v in list(value.items())[:200]]
            todo += [(f"{where}.<key>", k, level + 1) for k in list(value)[:200] if not isinstance(k, str)]
        elif isinstance(value, (list, tuple, set, frozenset)):
            todo += [(f"{where}[{i}]", v, level + 1) for i, v in enumerate(list(value)[:200])]
        else:
            todo += [(f"{where}.{name}", v, level + 1) for name, v in _attributes(value).items()]
    return out


def pem_fragments(pem: str) -> list[str]:
    """The body lines of a PEM block (each alone would leak part of the key)."""
    return [line for line in pem.splitlines() if line.strip() and "-----" not in line]


def basic_auth_forms(user: str, password: str) -> list[str]:
    """The base64 ``user:password`` an HTTP Basic ``Authorization`` header carries."""
    return [base64.b64encode(f"{user}:{password}".encode()).decode()]


class CanaryScan:
    """Collects texts and checks that no canary appears in any of them.

    Args:
        canaries: The configured secret values.
        forms: Further derived forms to look for (`basic_auth_forms`, `pem_fragments`).
    """

    def __init__(self, canaries: Iterable[str], forms: Iterable[str] = ()) -> None:
        values = [c for c in canaries if c]
        if not values:
            raise ValueError("CanaryScan needs at least one canary")
        needles = set(values) | set(forms)
        needles |= {urllib.parse.quote(v, safe="") for v in values}
        self.needles = sorted(needles, key=len, reverse=True)
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, *objects: Any) -> None:
        """Scan ``repr`` and ``str`` of each object (str values as they are)."""
        for obj in objects:
            text = obj if isinstance(obj, str) else f"{_safe_repr(obj)}\n{obj}"
            self.texts.append((where, text))

    def add_error(self, where: str, exc: BaseException) -> None:
        """Scan the error, its whole cause/context chain and its formatted traceback.

        Each exception of the chain contributes ``str``, ``repr``, ``args``, ``__notes__`` and
        the reprs of its attributes (`attribute_texts`: ``vars()`` and slots, recursively).
        """
        self.texts.append((f"{where}: traceback", "".join(traceback.format_exception(exc))))
        for e in error_chain(exc):
            name = f"{where}: {type(e).__module__}.{type(e).__name__}"
            self.texts.append((name, f"{e}\n{_safe_repr(e)}\n{_safe_repr(e.args)}"))
            for arg in e.args:
                self.texts.append((f"{name}.args", str(arg)))
            for note in getattr(e, "__notes__", None) or ():
                self.texts.append((f"{name}.__notes__", str(note)))
            for attr, text in attribute_texts(e):
                self.texts.append((f"{name}{attr}", text))

    def add_records(self, where: str, records: Iterable[logging.LogRecord]) -> None:
        """Scan log records as a handler would print them (message, args and traceback)."""
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        for record in records:
            try:
                text = formatter.format(record)
            except Exception as exc:  # pragma: no cover - a record that cannot format is a bug too
                text = f"<unformattable record: {exc}> {record.msg!r} {record.args!r}"
            self.texts.append((f"{where}: log {record.name}", f"{text}\n{_safe_repr(record.args)}"))

    def leaks(self) -> list[str]:
        """``"where: …context…"`` for every text that contains a canary form."""
        found = []
        for where, text in self.texts:
            for needle in self.needles:
                at = text.find(needle)
                if at >= 0:
                    found.append(f"{where}: …{text[max(0, at - 80) : at + len(needle) + 40]!r}…")
                    break
        return found

    def assert_clean(self) -> None:
        """Raise AssertionError naming every place a canary appeared."""
        assert self.texts, "nothing was scanned"
        found = self.leaks()
        assert not found, f"canary leaked in {len(found)} place(s):\n" + "\n".join(found[:20])
