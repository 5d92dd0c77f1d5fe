"""How every generated item reports a failure: a few plain lines, never a Python traceback.

The private types a report's ``longrepr`` needs come from core/pytest_private.py; the report JSON
round trip xdist uses (``TestReport._to_json``) is pinned with them in tests/unit/test_architecture.py.

A first run over a real project fails hundreds of items at once; each must read as what failed,
where, and what to do next. ``reprcrash`` carries a one-line summary so that pytest's short test
summary (printed in full under ``CI=true``) and JUnit's ``message`` stay one line.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_promotion.core.pytest_private import ReprFileLocation, TerminalRepr, TerminalWriter

__all__ = ["FailureRepr", "TerminalRepr", "TerminalWriter", "from_serializable", "to_serializable"]

SERIALIZED_KEY = "promotion_failure"  # the one-line summary, in a report xdist ships


class FailureRepr(TerminalRepr):
    """A failure as plain lines, with a one-line summary for the short test summary and JUnit."""

    def __init__(self, text: str, path: str, line: int, summary: str) -> None:
        self.text = text
        self.reprcrash = ReprFileLocation(path, line, summary)

    def toterminal(self, tw: TerminalWriter) -> None:
        """Write the failure text as it is."""
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text


def to_serializable(report: pytest.TestReport) -> dict[str, Any] | None:
    """Keep the one-line summary when xdist ships a report; None for other reports."""
    if not isinstance(report.longrepr, FailureRepr):
        return None
    data: dict[str, Any] = report._to_json()
    crash = report.longrepr.reprcrash
    data[SERIALIZED_KEY] = [crash.path, crash.lineno, crash.message]
    return data


def from_serializable(data: dict[str, Any]) -> pytest.TestReport | None:
    """Rebuild a report that :func:`to_serializable` shipped; None for other reports."""
    if SERIALIZED_KEY not in data or not isinstance(data.get("longrepr"), str):
        return None
    path, line, summary = data.pop(SERIALIZED_KEY)
    report = pytest.TestReport._from_json(data)
    report.longrepr = FailureRepr(data["longrepr"], path, line, summary)
    return report
