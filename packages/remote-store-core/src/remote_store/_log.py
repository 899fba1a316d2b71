"""The library's loggers and the log redaction that keeps configured secrets out of every log.

``logging`` is imported only by modules that log (the plugin host, the registry, the HTTP
backend) or once a `Secret` exists, so ``import remote_store`` stays cheap; the first of
them attaches the conventional `logging.NullHandler` to the ``remote_store`` logger.

Redaction: SDKs log credentials at DEBUG (botocore prints the ``X-Amz-Security-Token`` and
the signed ``Authorization`` header; ``http.client`` prints raw header lines). A filter on a
logger would not help: logging applies a logger's filters only to records created on that
very logger, not to records propagated from child loggers, and handlers belong to the
application. So the core wraps the process-wide *LogRecord factory* the first time a
`Secret` is built (`redact_value`): every record, from any logger, is redacted as it is
created, before any filter or handler sees it. The factory replaces the record's message
(formatted once) when it contains a registered secret value (also URL-quoted), a
credential header value (``Authorization: …``, ``'X-Amz-Security-Token': b'…'``), a
``Signature:`` dump, a URL password or a credential query parameter (``X-Amz-Signature=…``,
``sig=…``). Records without any of these are left untouched (their arguments stay lazy).
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from typing import Any

from remote_store._secret import _MASK, mask_url

logging.getLogger("remote_store").addHandler(logging.NullHandler())

#: Secrets shorter than this are not searched for in log text (they would mask random words).
MIN_REDACTED_LENGTH = 4

_lock = threading.Lock()
_values: set[str] = set()
#: Immutable snapshot of `_values`, longest first, swapped atomically: the record factory
#: reads it without the lock while other threads register secrets.
_ordered: tuple[str, ...] = ()
_installed = False

_HEADER_NAME = r"[\w-]*(?:authorization|cookie|token|secret|api-?key|signature|password|credential)[\w-]*"
#: ``'Name': b'value'`` / ``"Name": "value"`` (dict reprs of header mappings).
_QUOTED_HEADER = re.compile(rf"""(?i)(['"]{_HEADER_NAME}['"]\s*:\s*b?)(['"])(.*?)(?<!\\)\2""")
#: ``Name: value`` and ``Name=value`` at a line start (raw header dumps, canonical requests).
_LINE_HEADER = re.compile(rf"(?im)^(\s*(?:header:\s*|send:\s*)?{_HEADER_NAME}\s*[:=][ \t]*\n?)(\S.*)$")
#: Lower-case words one of which every header/signature pattern above contains.
_TRIGGERS = ("authorization", "cookie", "token", "secret", "key", "signature", "password", "credential")
#: botocore's ``Signature:\n<hex>`` and ``Signature=<hex>`` inside an Authorization value.
_SIGNATURE = re.compile(r"(?i)(signature[:=]\s*)([0-9a-f]{16,})")


def get_logger(name: str = "remote_store") -> logging.Logger:
    """Return ``logging.getLogger(name)``; ``name`` is ``remote_store`` or ``remote_store.<part>``."""
    return logging.getLogger(name)


def redact_value(value: str) -> None:
    """Register ``value`` (a configured credential) so no log record shows it, and install
    the redacting LogRecord factory if it is not installed yet. Idempotent; thread-safe."""
    global _installed, _ordered
    if not isinstance(value, str):
        return
    with _lock:
        if len(value) >= MIN_REDACTED_LENGTH and value not in _values:
            _values.add(value)
            quoted = urllib.parse.quote(value, safe="")
            if quoted != value:
                _values.add(quoted)
            _ordered = tuple(sorted(_values, key=len, reverse=True))
        if not _installed:
            _install()
            _installed = True


def redact_text(text: str) -> str:
    """Return ``text`` with registered secret values and credential patterns masked."""
    for v in _ordered:
        if v in text:
            text = text.replace(v, _MASK)
    lower = text.lower()
    if any(word in lower for word in _TRIGGERS):  # cheap pre-check: most records hold none
        text = _QUOTED_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{_MASK}{m.group(2)}", text)
        text = _LINE_HEADER.sub(lambda m: f"{m.group(1)}{_MASK}", text)
        text = _SIGNATURE.sub(lambda m: f"{m.group(1)}{_MASK}", text)
    if "=" in text or "://" in text:
        text = mask_url(text)
    return text


def _install() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    factory.__remote_store_redaction__ = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's business, not ours
        return
    cleaned = redact_text(message)
    if cleaned != message:
        record.msg = cleaned
        record.args = None
