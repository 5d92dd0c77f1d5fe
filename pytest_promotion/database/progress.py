"""What a person watching a rollback sees: a live line on a terminal, one line per phase in a log.

A rollback runs during an incident. On a terminal the safety dump and the restore show bytes of
SQL, rate and (for the restore) share of the backup and ETA on one rewritten line; without a
terminal (CI logs) each phase prints one line with its duration when it ends. A few lines of
code do this; a progress library would add a dependency for no gain. Nothing here sees a URL.
"""

from __future__ import annotations

import time
from typing import TextIO

from pytest_promotion.database.restore import Progress
from pytest_promotion.database.units import human_age, human_size

_REFRESH_SECONDS = 0.2


class Phases:
    """Reports the phases of one command on ``stream`` (stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self._shown = 0
        self._last = 0.0

    def done(self, name: str, seconds: float, detail: str = "") -> None:
        """One line for a finished phase: ``phase restore: 1.70 s (109.1 MiB of SQL, 64.2 MiB/s)``."""
        self._clear()
        suffix = f" ({detail})" if detail else ""
        self.stream.write(f"phase {name}: {seconds:.2f} s{suffix}\n")
        self.stream.flush()

    def show(self, text: str, *, force: bool = False) -> None:
        """Rewrite the live line (terminals only, at most five times a second)."""
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self._last < _REFRESH_SECONDS:
            return
        self._last = now
        self.stream.write("\r" + text.ljust(self._shown))
        self._shown = len(text)
        self.stream.flush()

    def _clear(self) -> None:
        if self.live and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def dump_progress(self, written: int, started: float) -> None:
        """The safety dump so far: bytes of SQL and rate (its total is not known in advance)."""
        elapsed = max(time.perf_counter() - started, 1e-9)
        self.show(f"safety dump: {human_size(written)} of SQL, {rate(written, elapsed)}")

    def restore_progress(self) -> Progress | None:
        """The restore's live line: SQL replayed, share of the backup read, rate, ETA."""
        if not self.live:
            return None
        started = time.perf_counter()

        def report(sent: int, consumed: int, total: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            share = consumed / total if total else 1.0
            eta = elapsed * (1 - share) / share if share > 0 else 0.0
            self.show(
                f"restore: {human_size(sent)} of SQL, {share:.0%} of the backup, "
                f"{rate(sent, elapsed)}, ETA {human_age(eta)}"
            )

        return report


def rate(size: float, seconds: float) -> str:
    """``64.2 MiB/s``."""
    return f"{human_size(size / max(seconds, 1e-9))}/s"
