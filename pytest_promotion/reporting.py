"""Hooks every run gets: secrets scrubbed from each report channel, failures shipped whole by xdist.

Scrubbing happens in ``pytest_runtest_makereport``, before any reporter (terminal, JUnit XML, the
xdist channel to the controller) sees the report: failure text, skip reasons, captured output and
logs, and ``record_property`` values. Report headers from every plugin pass through it too —
pytest-base-url prints the base URL as given, password included.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from pytest_promotion.failures import FailureRepr, from_serializable, to_serializable
from pytest_promotion.redact import Redactor


def scrub_report(report: pytest.TestReport | pytest.CollectReport, redactor: Redactor) -> None:
    """Take every secret out of a report, in place."""
    if not redactor:
        return
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        path, line, reason = longrepr
        report.longrepr = (path, line, redactor.scrub(reason))
    elif longrepr is not None:
        text = str(longrepr)
        if redactor.holds_secret(text):
            crash = getattr(longrepr, "reprcrash", None)
            summary = redactor.scrub(crash.message) if crash is not None else ""
            report.longrepr = FailureRepr(
                redactor.scrub(text),
                crash.path if crash is not None else "",
                crash.lineno if crash is not None else 0,
                summary.splitlines()[0] if summary else "",
            )
    report.sections = [(title, redactor.scrub(content)) for title, content in report.sections]
    if isinstance(report, pytest.TestReport):
        report.user_properties = [
            (name, redactor.scrub(value) if isinstance(value, str) else _scrub_value(value, redactor))
            for name, value in report.user_properties
        ]


def _scrub_value(value: object, redactor: Redactor) -> object:
    text = str(value)
    return redactor.scrub(text) if redactor.holds_secret(text) else value


class ReportingPlugin:
    """Registered on every run; holds this run's redactor."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Scrub each test report before any reporter sees it."""
        report = yield
        scrub_report(report, self.redactor)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """Scrub collection errors too."""
        report = yield
        scrub_report(report, self.redactor)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_report_header(
        self, config: pytest.Config
    ) -> Generator[None, list[str | list[str]], list[str | list[str]]]:
        """Scrub every plugin's header lines."""
        lines = yield
        return [
            [self.redactor.scrub(part) for part in line]
            if isinstance(line, list)
            else self.redactor.scrub(line)
            for line in lines
        ]

    def pytest_report_to_serializable(self, config: pytest.Config, report: pytest.TestReport) -> Any:
        """Keep a generated item's one-line failure summary when xdist ships the report."""
        return to_serializable(report)

    def pytest_report_from_serializable(self, config: pytest.Config, data: dict[str, Any]) -> Any:
        """Rebuild a generated item's failure on the controller."""
        return from_serializable(data)
