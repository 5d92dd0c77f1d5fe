"""The run's hooks: one object per configured run, registered by the plugin without a name.

Each hook is a line or two that hands off to the feature functions; the state they read and add
to is the frozen :class:`~pytest_promotion.run.Run` and its :class:`~pytest_promotion.run.Tally`.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_promotion.core.checks import STAGES
from pytest_promotion.core.errors import ConfigError
from pytest_promotion.core.failures import from_serializable, to_serializable
from pytest_promotion.core.xdist import is_worker, worker_output
from pytest_promotion.migrations import session as migrations
from pytest_promotion.migrations.discover import missing_folder_hint
from pytest_promotion.migrations.items import MigrationsDirectory
from pytest_promotion.reporting.scrub import scrub_report, scrub_session_output
from pytest_promotion.reporting.summary import append_step_summary, render_summary
from pytest_promotion.run import Run, calls_ahead, header_lines
from pytest_promotion.service.configure import STORE_KEY
from pytest_promotion.service.items import PromotionFile
from pytest_promotion.service.latency import Latency, latency_lines

WORKER_MIGRATIONS = "promotion_migrations"  # a worker's migration results, in workeroutput
WORKER_RESULTS = "promotion_results"  # a worker's deselected checks, in workeroutput


class RunHooks:
    """The hooks of one configured run."""

    def __init__(self, run: Run, config: pytest.Config) -> None:
        self.run = run
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Scrub the terminal and the log handlers before anything is written."""
        scrub_session_output(session.config, self.run.redactor)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        """What this run gates: folder, baseline and rules; the target; the drill."""
        lines = header_lines(self.run)
        if self.run.gate is None and "migrations_dir" not in self.run.settings.model_fields_set:
            project = self.run.pyproject.parent if self.run.pyproject is not None else config.rootpath
            if (hint := missing_folder_hint(project)) is not None:
                lines.append(hint)
        return lines

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        """The configured migrations folder becomes one item per migration."""
        gate = self.run.gate
        if gate is None or path != gate.config.migrations_dir:
            return None
        checks = self.run.plan.checks.get("migrations", ())
        return MigrationsDirectory.from_parent(parent, path=path, run=gate, checks=checks)

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        """The project's ``pyproject.toml`` becomes the declared remote checks and the gate's prerequisites."""
        if file_path != self.run.pyproject or not self.run.groups:
            return None
        return PromotionFile.from_parent(parent, path=file_path, groups=self.run.groups)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Under ``--launch-gate``, keep only the generated checks of required stages."""
        if not self.run.launch_gate:
            return
        required = self.run.plan.required
        keep = [item for item in items if required.get(getattr(item, "stage", ""), False)]
        if len(keep) != len(items):
            kept = {id(item) for item in keep}
            config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
            items[:] = keep

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Remember deselected checks: the verdict names them."""
        self.run.tally.results.deselect(items)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The selected smoke items' requests go out together, ahead of their items."""
        if self.run.service is not None:
            self.run.service.selected = calls_ahead(session.items)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Scrub each test report before any reporter sees it."""
        report = yield
        scrub_report(report, self.run.redactor)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """Scrub collection errors too."""
        report = yield
        scrub_report(report, self.run.redactor)
        return report

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A collection error fails the gate: something that should have been checked was not."""
        if report.failed:
            self.run.tally.results.collection_errors += 1

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count each report for its check; keep latencies (xdist ships both to the controller)."""
        self.run.tally.results.record(report)
        if report.when == "call" and (found := Latency.from_report(report)) is not None:
            self.run.tally.latencies.append(found)

    def pytest_report_to_serializable(self, config: pytest.Config, report: pytest.TestReport) -> Any:
        """Keep a generated item's one-line failure summary when xdist ships the report."""
        return to_serializable(report)

    def pytest_report_from_serializable(self, config: pytest.Config, data: dict[str, Any]) -> Any:
        """Rebuild a generated item's failure on the controller."""
        return from_serializable(data)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Hand the shared exchange folder to each xdist worker."""
        if self.run.service is not None:
            node.workerinput[STORE_KEY] = str(self.run.service.store.directory)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Merge a finished worker's migration results and deselections into the controller's run."""
        output = getattr(node, "workeroutput", {})
        if self.run.gate is not None:
            self.run.gate.merge(output.get(WORKER_MIGRATIONS, {}))
        self.run.tally.results.merge(output.get(WORKER_RESULTS, {}))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Workers hand over; the controller writes files, decides the verdict and the exit status."""
        run, config = self.run, session.config
        if is_worker(config):
            output = worker_output(config)
            if run.gate is not None:
                output[WORKER_MIGRATIONS] = run.gate.export()
            output[WORKER_RESULTS] = run.tally.results.export()
            return
        if run.gate is not None:
            try:
                run.tally.migration_outcome = migrations.finish(run.gate, config, run.redactor.scrub)
            except ConfigError as exc:  # the baseline lock timed out, or the file changed under us
                run.tally.baseline_error = str(exc)
                session.exitstatus = pytest.ExitCode.USAGE_ERROR
            if migrations.strict_problems(run.gate, run.tally.migration_outcome):
                session.exitstatus = max(session.exitstatus, pytest.ExitCode.TESTS_FAILED)
        if run.stage_runs:
            run.tally.stage_verdicts = run.stage_run_verdicts()
            passed = all(stage.passed for stage in run.tally.stage_verdicts)
            if not passed and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if run.launch_gate:
            verdict = run.tally.verdict = run.verdict()
            if not verdict.passed and session.exitstatus in (
                pytest.ExitCode.OK,
                pytest.ExitCode.NO_TESTS_COLLECTED,
            ):
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            elif verdict.passed and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
                session.exitstatus = pytest.ExitCode.OK
        if run.step_summary is not None:
            gate = None
            if run.gate is not None and run.tally.migration_outcome is not None:
                gate = (run.tally.migration_outcome, run.gate.config)
            text = render_summary(
                command=config.invocation_params.args,
                results=run.tally.results,
                launch=run.tally.verdict,
                gate=gate,
                stage_verdicts=run.tally.stage_verdicts,
                latencies=run.tally.latencies,
                redactor=run.redactor,
            )
            append_step_summary(run.step_summary, text)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The migration gate's section, the slowest endpoints, and the launch gate's verdict last."""
        run = self.run
        if run.tally.baseline_error is not None:
            terminalreporter.section("migration safety")
            terminalreporter.write_line(f"baseline not written: {run.tally.baseline_error}")
        left_out = {stage.stage: stage.run_lines() for stage in run.tally.stage_verdicts if stage.left_out}
        if (run.gate is not None and run.tally.migration_outcome is not None) or "migrations" in left_out:
            terminalreporter.section("migration safety")
        if run.gate is not None and run.tally.migration_outcome is not None:
            for line in migrations.summary(run.gate, run.tally.migration_outcome):
                terminalreporter.write_line(line)
        for line in left_out.pop("migrations", []):
            terminalreporter.write_line(line)
        latency = latency_lines(run.tally.latencies)
        if latency:
            terminalreporter.section("endpoint latency")
            for line in latency:
                terminalreporter.write_line(line)
        for stage, lines in left_out.items():  # a run of a remote stage: its verdict last
            terminalreporter.section(STAGES[stage])
            for line in lines:
                terminalreporter.write_line(line)
        if run.tally.verdict is not None:
            terminalreporter.section("launch gate")
            for line in run.tally.verdict.lines():
                terminalreporter.write_line(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Close connections; the process that made the exchange folder removes it."""
        if self.run.service is not None:
            self.run.service.close()
            if self.run.owns_store:
                shutil.rmtree(self.run.service.store.directory, ignore_errors=True)
