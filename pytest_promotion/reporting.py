"""Hooks every run gets: secrets scrubbed from each report channel, failures shipped whole by xdist.

Scrubbing happens in ``pytest_runtest_makereport``, before any reporter (terminal, JUnit XML, the
xdist channel to the controller) sees the report: failure text, skip reasons, captured output and
logs, and ``record_property`` values. Everything else that reaches the terminal — every plugin's
header (pytest-base-url prints the base URL as given, password included) and summary sections —
passes through the scrubbing terminal writer.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import pytest
from _pytest._io import TerminalWriter

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


def scrub_terminal(writer: TerminalWriter, redactor: Redactor) -> None:
    """Scrub everything written to the terminal.

    Reports are scrubbed at the source, but summary sections (every plugin's) and node ids that a
    user built from a secret reach the terminal by other paths; this writer is where they all meet.
    """
    write = writer.write

    def scrubbed(msg: str, *, flush: bool = False, **markup: bool) -> None:
        write(redactor.scrub(msg) if redactor.holds_secret(msg) else msg, flush=flush, **markup)

    writer.write = scrubbed  # type: ignore[method-assign]


class ScrubbingFilter(logging.Filter):
    """Scrubs log records on their way to the live log (``--log-cli-level``) and ``--log-file``."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a record whose message holds a secret; never drop one."""
        message = record.getMessage()
        if self.redactor.holds_secret(message):
            record.msg, record.args = self.redactor.scrub(message), None
        if record.exc_text and self.redactor.holds_secret(record.exc_text):
            record.exc_text = self.redactor.scrub(record.exc_text)
        return True


class ReportingPlugin:
    """Registered on every run; holds this run's redactor."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Scrub the terminal, and what pytest's logging plugin writes straight to it or a log file."""
        if not self.redactor:
            return
        if session.config.pluginmanager.has_plugin("terminalreporter"):
            scrub_terminal(session.config.get_terminal_writer(), self.redactor)
        logging_plugin = session.config.pluginmanager.get_plugin("logging-plugin")
        if logging_plugin is None:
            return
        for name in ("log_cli_handler", "log_file_handler"):
            handler = getattr(logging_plugin, name, None)
            if isinstance(handler, logging.Handler):
                handler.addFilter(ScrubbingFilter(self.redactor))

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

    def pytest_report_to_serializable(self, config: pytest.Config, report: pytest.TestReport) -> Any:
        """Keep a generated item's one-line failure summary when xdist ships the report."""
        return to_serializable(report)

    def pytest_report_from_serializable(self, config: pytest.Config, data: dict[str, Any]) -> Any:
        """Rebuild a generated item's failure on the controller."""
        return from_serializable(data)
