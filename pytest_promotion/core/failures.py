"""How every generated item reports a failure: a few plain lines, never a Python traceback.

This is the one module that touches pytest's private API (``_pytest``): the terminal repr and
file-location types a report's ``longrepr`` needs, the terminal writer type, and the report JSON
round trip xdist uses. ``tests/unit/test_pytest_api.py`` pins every name used here and fails when
another module imports ``_pytest``.

A first run over a real project fails hundreds of items at once; each must read as what failed,
where, and what to do next. ``reprcrash`` carries a one-line summary so that pytest's short test
summary (printed in full under ``CI=true``) and JUnit's ``message`` stay one line.
"""

from __future__ import annotations

from typing import Any

import pytest
from _pytest._code.code import ReprFileLocation, TerminalRepr
from _pytest._io import TerminalWriter

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
