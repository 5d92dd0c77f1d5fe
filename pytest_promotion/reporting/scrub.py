"""Secrets scrubbed from each report channel; the plugin's hooks call these on every configured run.

Scrubbing is part of the plugin's own hooks, not a plugin of its own, so nothing (``-p no:…``)
can switch it off while the checks still run. It happens in ``pytest_runtest_makereport``,
before any reporter (terminal, JUnit XML, the
xdist channel to the controller) sees the report: failure text, skip reasons, captured output and
logs, and ``record_property`` values. Everything else that reaches the terminal — every plugin's
header (pytest-base-url prints the base URL as given, password included) and summary sections —
passes through the scrubbing terminal writer.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pytest_promotion.core.failures import FailureRepr, TerminalWriter
from pytest_promotion.core.redact import Redactor


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


def scrub_metadata(config: pytest.Config, redactor: Redactor) -> None:
    """Scrub what pytest-metadata holds (pytest-base-url puts the base URL there, password included).

    pytest-html and other reports print it as the run's environment.
    """
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:
        return
    metadata = config.stash.get(metadata_key, None)
    if isinstance(metadata, dict):
        _scrub_in_place(metadata, redactor)


def _scrub_in_place(data: dict[Any, Any], redactor: Redactor) -> None:
    for key, value in list(data.items()):
        if isinstance(value, dict):
            _scrub_in_place(value, redactor)
        elif isinstance(value, str):
            data[key] = redactor.scrub(value)


def scrub_session_output(config: pytest.Config, redactor: Redactor) -> None:
    """Scrub the terminal, the environment metadata, and what pytest's logging plugin writes."""
    if not redactor:
        return
    scrub_metadata(config, redactor)
    if config.pluginmanager.has_plugin("terminalreporter"):
        scrub_terminal(config.get_terminal_writer(), redactor)
    logging_plugin = config.pluginmanager.get_plugin("logging-plugin")
    if logging_plugin is None:
        return
    for name in ("log_cli_handler", "log_file_handler"):
        handler = getattr(logging_plugin, name, None)
        if isinstance(handler, logging.Handler):
            handler.addFilter(ScrubbingFilter(redactor))
