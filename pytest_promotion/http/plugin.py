"""Hooks of the smoke gate, registered only when ``[tool.promotion.smoke]`` lists endpoints."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_promotion.http.items import PromotionFile, SmokeItem
from pytest_promotion.http.latency import Latency, latency_lines
from pytest_promotion.http.run import SmokeRun
from pytest_promotion.migrations.items import plural

STORE_KEY = "promotion_smoke_store"  # the shared exchange folder, in xdist's workerinput


class SmokePlugin:
    """Collects ``pyproject.toml``'s smoke items, sends their requests ahead, sums up latencies."""

    def __init__(self, run: SmokeRun, pyproject: Path, *, owns_store: bool) -> None:
        self.run = run
        self.pyproject = pyproject
        self.owns_store = owns_store
        self.latencies: list[Latency] = []

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        """Turn the project's ``pyproject.toml`` into the smoke and budget items."""
        if file_path == self.pyproject:
            return PromotionFile.from_parent(parent, path=file_path, run=self.run)
        return None

    def pytest_report_header(self, config: pytest.Config) -> str:
        """Name the target, the entry count, and how requests are sent (never a credential)."""
        target = self.run.target
        smoke = target.config
        roles = [
            f"{role} {c.kind}" + (" (session token also set; bearer wins)" if c.bearer and c.session else "")
            for role, c in (("admin", target.admin), ("member", target.member))
            if c.kind
        ]
        auth = "credentials: " + ", ".join(roles) if roles else "no credentials"
        return (
            f"promotion: smoke {target.shown_url} ({target.base_url_source}), "
            f"{plural(len(smoke.endpoints), 'endpoint')}, {auth}, concurrency {smoke.concurrency}, "
            f"timeout {smoke.timeout:g} s, retries {smoke.retries}"
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Hand the shared exchange folder to each xdist worker."""
        node.workerinput[STORE_KEY] = str(self.run.store.directory)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Remember the selected smoke items: their requests go out together."""
        self.run.selected = [
            (item.nodeid, self.run.call_for(item.endpoint))
            for item in session.items
            if isinstance(item, SmokeItem)
            and item.endpoint is not None
            and self.run.missing(item.endpoint) is None
        ]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep each endpoint's latency; under xdist the reports carry it to the controller."""
        if report.when == "call":
            found = Latency.from_report(report)
            if found is not None:
                self.latencies.append(found)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The slowest endpoints against their budgets."""
        lines = latency_lines(self.latencies)
        if lines:
            terminalreporter.section("endpoint latency")
            for line in lines:
                terminalreporter.write_line(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Close connections; the process that made the exchange folder removes it."""
        self.run.close()
        if self.owns_store:
            shutil.rmtree(self.run.store.directory, ignore_errors=True)
