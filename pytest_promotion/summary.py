"""The GitHub Actions job summary: with ``GITHUB_STEP_SUMMARY`` set, the run appends Markdown to it.

Three parts, each only when the run has something for it: the verdict of every gate stage that
ran (and the launch gate's overall verdict), the risky statements the baseline does not accept,
and the slowest endpoints against their budgets. Everything comes from what the controller
already has — reports (which carry marks and ``record_property`` values under pytest-xdist too)
and the migration gate's outcome — and every line passes through the run's redactor.

The file is appended to, never truncated: one step may run pytest more than once, and each run
adds its own block. It is written once, by the controller, at the end of the session.
"""

from __future__ import annotations

import re
import shlex
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_promotion.http.latency import SHOWN, Latency
from pytest_promotion.migrations.gate import GateConfig, Outcome
from pytest_promotion.migrations.items import plural, shorten
from pytest_promotion.migrations.plugin import MigrationGatePlugin
from pytest_promotion.migrations.report import summary_lines
from pytest_promotion.policy.gate import STAGES, LaunchGatePlugin, stage_outcome
from pytest_promotion.redact import Redactor
from pytest_promotion.settings import PromotionSettings

PLUGIN_NAME = "promotion-step-summary"
RISKY_SHOWN = 50
_VERDICTS = {"passed": "✅ passed", "failed": "❌ failed", "skipped": "⏭️ skipped"}


def configure_step_summary(config: pytest.Config, settings: PromotionSettings, redactor: Redactor) -> None:
    """Register the summary writer when ``GITHUB_STEP_SUMMARY`` is set (on the controller only)."""
    if settings.github_step_summary is None or hasattr(config, "workerinput"):
        return
    path = config.invocation_params.dir / settings.github_step_summary
    config.pluginmanager.register(StepSummaryPlugin(path=path, redactor=redactor), PLUGIN_NAME)


def stage_verdict(counts: Counter[str]) -> str:
    """``failed`` when anything failed or errored, ``passed`` when something passed, else ``skipped``."""
    if counts["failed"] or counts["error"]:
        return "failed"
    return "passed" if counts["passed"] else "skipped"


def cell(text: str) -> str:
    """Plain text safe inside a Markdown table cell."""
    return re.sub(r"\r\n|\r|\n", "<br>", text.replace("|", r"\|"))


def code(text: str) -> str:
    """Text as a code span safe inside a Markdown table cell (nothing in it is rendered)."""
    flat = " ".join(text.split()).replace("|", r"\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def stage_lines(counts: dict[str, Counter[str]], launch_verdict: str | None) -> Iterator[str]:
    """The stage table, then the launch gate's verdict in bold."""
    ran = [stage for stage in STAGES if sum(counts.get(stage, Counter()).values())]
    if ran:
        yield "| stage | verdict | counts |"
        yield "|---|---|---|"
        for stage in ran:
            shown = ", ".join(f"{n} {kind}" for kind, n in sorted(counts[stage].items()) if n)
            yield f"| {cell(STAGES[stage])} (`{stage}`) | {_VERDICTS[stage_verdict(counts[stage])]} | {shown} |"
    if launch_verdict is not None:
        yield ""
        yield f"**{cell(launch_verdict.strip())}**"


def risky_lines(outcome: Outcome, gate: GateConfig, redactor: Redactor) -> Iterator[str]:
    """The findings the baseline does not accept, ``file:line``, rule and statement, at most 50."""
    baseline = gate.display(gate.baseline_path)
    if outcome.refresh is not None:  # --update-baseline: nothing is new any more
        yield from (cell(line) for line in summary_lines(outcome, gate))
        return
    if not outcome.new:
        found = plural(len(outcome.baselined), "risky statement")
        yield f"None: {found} found, all reviewed in {code(baseline)}."
        return
    yield "| file:line | rule | statement |"
    yield "|---|---|---|"
    for finding in outcome.new[:RISKY_SHOWN]:
        where = f"{gate.display(gate.migrations_dir / finding.path)}:{finding.line}" + (
            f" {finding.where}" if finding.where else ""  # a Prisma 8 operation and step
        )
        statement = shorten(redactor.scrub(finding.statement), 200)  # scrub before a cut splits a secret
        yield f"| {code(where)} | {code(finding.rule)} | {code(statement)} |"
    if len(outcome.new) > RISKY_SHOWN:
        yield ""
        yield f"… and {len(outcome.new) - RISKY_SHOWN} more (see the job log or `--migrations-report`)."
    yield ""
    yield f"Review them, then accept with: {code(gate.accept_command)}"


def latency_table(latencies: list[Latency], redactor: Redactor) -> Iterator[str]:
    """The slowest endpoints against their budgets, at most ``SHOWN`` rows."""
    yield "| endpoint | latency ms | budget ms | within budget |"
    yield "|---|--:|--:|:-:|"
    for found in sorted(latencies, key=lambda found: (-found.latency_ms, found.nodeid))[:SHOWN]:
        budget, within = "—", "—"
        if found.budget_ms is not None:
            budget = f"{found.budget_ms:.0f}"
            within = "✅" if found.latency_ms <= found.budget_ms else "❌ over"
        yield f"| {code(redactor.scrub(found.nodeid))} | {found.latency_ms:.0f} | {budget} | {within} |"
    if len(latencies) > SHOWN:
        yield ""
        yield f"({len(latencies) - SHOWN} faster endpoints not shown)"


def render_summary(
    *,
    command: Iterable[str],
    counts: dict[str, Counter[str]],
    launch_verdict: str | None,
    gate: tuple[Outcome, GateConfig] | None,
    latencies: list[Latency],
    redactor: Redactor,
) -> str:
    """The Markdown block of one run, scrubbed; empty when the run has nothing to summarise."""
    stages = list(stage_lines(counts, launch_verdict))
    if not stages and gate is None and not latencies:
        return ""
    lines = ["", "## Promotion gate", "", code(redactor.scrub(shlex.join(["pytest", *command]))), ""]
    lines += stages or ["No gate stage ran."]
    if gate is not None:
        lines += ["", "### New risky statements", "", *risky_lines(*gate, redactor)]
    if latencies:
        lines += ["", "### Slowest endpoints", "", *latency_table(latencies, redactor)]
    return "\n".join(redactor.scrub(line) for line in lines) + "\n"


@dataclass(eq=False)  # pluggy keeps plugins in sets: identity, not field equality
class StepSummaryPlugin:
    """Counts outcomes per stage and keeps latencies, then appends the summary once at the end."""

    path: Path
    redactor: Redactor
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    latencies: list[Latency] = field(default_factory=list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count each report for its stage and keep its latency (xdist ships both to the controller)."""
        counted = stage_outcome(report)
        if counted is not None:
            self.counts.setdefault(counted[0], Counter())[counted[1]] += 1
        if report.when == "call" and (found := Latency.from_report(report)) is not None:
            self.latencies.append(found)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Append the Markdown, after the migration gate has computed its outcome."""
        config = session.config
        gates = config.pluginmanager.get_plugin("promotion-migrations")
        launch = config.pluginmanager.get_plugin("promotion-launch-gate")
        gate = None  # the outcome the gate's terminal summary shows, merged from xdist workers
        if isinstance(gates, MigrationGatePlugin) and gates.outcome is not None:
            gate = (gates.outcome, gates.run.config)
        text = render_summary(
            command=config.invocation_params.args,
            counts=self.counts,
            launch_verdict=launch.verdict_lines()[-1] if isinstance(launch, LaunchGatePlugin) else None,
            gate=gate,
            latencies=self.latencies,
            redactor=self.redactor,
        )
        if not text:
            return
        try:
            with self.path.open("a", encoding="utf-8") as summary:  # append: steps share the file
                summary.write(text)
        except OSError as exc:
            warnings.warn(
                pytest.PytestWarning(
                    f"GITHUB_STEP_SUMMARY: could not append the promotion summary to {self.path} "
                    f"({exc.strerror or exc}). Point GITHUB_STEP_SUMMARY at a writable file, or unset it."
                ),
                stacklevel=1,
            )
