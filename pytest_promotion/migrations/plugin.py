"""Hooks of the migration gate, registered by the main plugin only when there is a folder to gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_promotion.errors import ConfigError
from pytest_promotion.migrations.baseline import baseline_lock, load_baseline, render, write_atomic
from pytest_promotion.migrations.cache import CACHE_KEY, merged
from pytest_promotion.migrations.gate import GateRun, Outcome
from pytest_promotion.migrations.items import MigrationsDirectory, plural
from pytest_promotion.migrations.report import github_annotations, summary_lines, write_report

WORKER_OUTPUT_KEY = "promotion_migrations"


def is_worker(config: pytest.Config) -> bool:
    """True inside a pytest-xdist worker: only the controller writes files."""
    return hasattr(config, "workerinput")


class MigrationGatePlugin:
    """Collects the migrations folder and reports the gate's outcome at the end of the run."""

    def __init__(self, run: GateRun) -> None:
        self.run = run
        self.outcome: Outcome | None = None
        self.baseline_error: str | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        """Turn the configured migrations folder into one item per migration."""
        if path == self.run.config.migrations_dir:
            return MigrationsDirectory.from_parent(parent, path=path, run=self.run)
        return None

    def pytest_report_header(self, config: pytest.Config) -> str:
        """Name the folder, dialect, baseline and rules this run gates with."""
        gate = self.run.config
        rules = ", ".join(rule.id for rule in gate.rules)
        return (
            f"promotion: migrations {gate.display(gate.migrations_dir)} ({gate.dialect.name}), "
            f"baseline {gate.display(gate.baseline_path)} ({plural(len(self.run.entries), 'entry', 'entries')}), rules: {rules}"
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Merge a finished xdist worker's results into the controller's run."""
        self.run.merge(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, {}))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Workers hand their results over; the controller writes baseline, report and cache once."""
        config = session.config
        if is_worker(config):
            config.workeroutput[WORKER_OUTPUT_KEY] = self.run.export()  # type: ignore[attr-defined]
            return
        if not self.run.results and not self.run.unreadable:
            return
        gate = self.run.config
        if gate.update:
            try:
                outcome = self.outcome = self._refresh_baseline()
            except ConfigError as exc:  # the lock timed out, or the file became invalid meanwhile
                self.baseline_error = str(exc)
                session.exitstatus = pytest.ExitCode.USAGE_ERROR
                return
        else:
            outcome = self.outcome = self.run.outcome()
        write_report(outcome, gate)
        cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
        if self.run.new_cache and cache is not None:
            cache.set(CACHE_KEY, merged(self.run.cached, self.run.new_cache))
        if (
            gate.strict
            and outcome.stale
            and outcome.refresh is None
            and session.exitstatus == pytest.ExitCode.OK
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _refresh_baseline(self) -> Outcome:
        """Re-read, merge and write the baseline under its lock, so concurrent refreshes add up."""
        gate = self.run.config
        with baseline_lock(gate.baseline_path):
            self.run.reload(load_baseline(gate.baseline_path))
            outcome = self.run.outcome()
            if outcome.refresh is not None:
                write_atomic(gate.baseline_path, render(outcome.refresh.entries))
        return outcome

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The gate's summary section, and GitHub annotations when running in Actions."""
        if self.baseline_error is not None:
            terminalreporter.section("migration safety")
            terminalreporter.write_line(f"baseline not written: {self.baseline_error}")
        if self.outcome is None:
            return
        gate = self.run.config
        terminalreporter.section("migration safety")
        for line in summary_lines(self.outcome, gate):
            terminalreporter.write_line(line)
        if gate.annotations and self.outcome.refresh is None:
            for line in github_annotations(self.outcome, gate):
                terminalreporter.write_line(line)
