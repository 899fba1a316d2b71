"""Progress display of ``cp``/``put``/``get``: one overall bar (files and bytes) on a TTY.

A ``tqdm`` bar when tqdm is installed, else a stdlib one-line display; nothing when stderr
is not a TTY (piped, redirected) or with ``-q``.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

from remote_store._cli._output import human

#: Single-file transfers shorter than this (bytes) never draw a progress bar.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024
#: Clock of the stdlib display (seconds); a module attribute so tests can drive it.
_clock = time.monotonic


class Bar(Protocol):
    """What the copy engine reports to: totals, then running counts."""

    def set_total(self, files: int, nbytes: int) -> None:
        """Set the expected number of files and bytes."""

    def update(self, n: int) -> None:
        """Count ``n`` more bytes copied."""

    def set_done(self, files: int, nbytes: int) -> None:
        """Set the running counts (files finished, bytes copied)."""

    def finish(self) -> None:
        """Remove the bar."""


class Progress:
    """A stdlib one-line progress display on ``stream`` (stderr), redrawn at most every 0.2 s.

    Shown only when ``stream`` is a TTY and the transfer is more than one file or at least
    `PROGRESS_MIN_BYTES` (or of unknown size). `finish` clears the line.

    Args:
        label: What is being transferred (an address).
        total: Expected bytes, or None when unknown.
        stream: Where to draw (default ``sys.stderr``).
        enabled: Force on/off; None = on when ``stream.isatty()``.
        files_total: Files in the transfer.
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        files_total: int = 1,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._wanted = enabled
        self.label = label
        self.done = 0
        self.files_done = 0
        self._start = _clock()
        self._last = 0.0
        self._drawn = False
        self.total: int | None = None
        self.files_total = 1
        self.enabled = False
        self.set_total(files_total, total)

    def set_total(self, files: int, nbytes: int | None) -> None:
        """Set the expected files and bytes (None = unknown); decides whether the bar shows."""
        self.files_total, self.total = files, nbytes
        self.enabled = self._wanted and (files > 1 or nbytes is None or nbytes >= PROGRESS_MIN_BYTES)

    def update(self, n: int) -> None:
        """Count ``n`` more bytes; redraw if due."""
        self.set_done(self.files_done, self.done + n)

    def set_done(self, files: int, nbytes: int) -> None:
        """Set the running counts; redraw if due (and always when the last file finished)."""
        self.files_done, self.done = files, nbytes
        if not self.enabled:
            return
        now = _clock()
        if now - self._last >= 0.2 or (self.files_total > 1 and files == self.files_total):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self._start, 1e-6)
        if self.total:
            pct = 100.0 * self.done / self.total
            text = f"{human(self.done)} / {human(self.total)} {pct:5.1f}%"
        else:
            text = human(self.done)
        files = f"{self.files_done}/{self.files_total} files  " if self.files_total > 1 else ""
        self.stream.write(f"\r{files}{text}  {human(rate)}/s  {self.label}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """Erase the progress line (if one was drawn)."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


class TqdmProgress:
    """The same display drawn by ``tqdm`` (bytes bar, files in the postfix) on ``stream``.

    Args:
        label: What is being transferred (the bar's description).
        stream: The TTY to draw on.
        tqdm_cls: The ``tqdm`` class.
    """

    def __init__(self, label: str, stream: TextIO, tqdm_cls: Any) -> None:
        self._bar: Any = tqdm_cls(
            total=0, unit="B", unit_scale=True, unit_divisor=1024, desc=label, leave=False, file=stream
        )
        self.files_total = 1
        self._files = 0

    def set_total(self, files: int, nbytes: int | None) -> None:
        """Set the expected files and bytes (None = unknown)."""
        self.files_total = files
        self._bar.total = nbytes
        self._bar.refresh()

    def update(self, n: int) -> None:
        """Count ``n`` more bytes."""
        self._bar.update(n)

    def set_done(self, files: int, nbytes: int) -> None:
        """Set the running counts."""
        self._bar.update(nbytes - self._bar.n)
        if files != self._files:
            self._files = files
            self._bar.set_postfix_str(f"{files}/{self.files_total} files", refresh=False)

    def finish(self) -> None:
        """Close the bar (it leaves no line behind)."""
        self._bar.close()


def make_bar(label: str, stream: TextIO, *, quiet: bool, files: int, nbytes: int | None) -> Bar:
    """The progress display for one command: tqdm or stdlib on a TTY, else a silent one.

    Args:
        label: Description (the destination address).
        stream: Where to draw (stderr).
        quiet: ``-q``: never draw.
        files: Files in the transfer.
        nbytes: Bytes expected (None = unknown).
    """
    tty = not quiet and bool(getattr(stream, "isatty", lambda: False)())
    if tty and (files > 1 or nbytes is None or nbytes >= PROGRESS_MIN_BYTES):
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            bar = TqdmProgress(label, stream, tqdm)
            bar.set_total(files, nbytes)
            return bar
    return Progress(label, nbytes, stream, tty, files)
