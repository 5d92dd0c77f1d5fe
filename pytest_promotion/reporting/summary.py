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
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from pytest_promotion.core.checks import STAGES
from pytest_promotion.core.redact import Redactor
from pytest_promotion.core.text import plural, shorten
from pytest_promotion.migrations.gate import GateConfig, Outcome
from pytest_promotion.migrations.report import summary_lines
from pytest_promotion.service.latency import SHOWN, Latency, any_retried
from pytest_promotion.stages import FAILED, PASSED, Results, StageVerdict, Verdict

RISKY_SHOWN = 50
_VERDICTS = {"passed": "✅ passed", "failed": "❌ failed", "skipped": "⏭️ skipped"}


def counts_verdict(results: Results, stage: str) -> str:
    """Outside the gate: ``failed`` when anything failed, ``passed`` when something passed, else ``skipped``."""
    counts = results.counts(stage)
    if counts[FAILED] or counts["error"]:
        return "failed"
    return "passed" if counts[PASSED] else "skipped"


def cell(text: str) -> str:
    """Plain text safe inside a Markdown table cell."""
    return re.sub(r"\r\n|\r|\n", "<br>", text.replace("|", r"\|"))


def code(text: str) -> str:
    """Text as a code span safe inside a Markdown table cell (nothing in it is rendered)."""
    flat = " ".join(text.split()).replace("|", r"\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def stage_lines(
    results: Results, launch: Verdict | None, stage_verdicts: Iterable[StageVerdict] = ()
) -> Iterator[str]:
    """The stage table, then the launch gate's verdict in bold (the same verdict the terminal shows).

    Outside the gate, a stage this run is a run of (``stage_verdicts``, ``pytest -m migrations``) shows its
    verdict, as the terminal does; any other stage that ran shows what its items did.
    """
    if launch is not None:
        yield "| stage | verdict |"
        yield "|---|---|"
        for judged in launch.stages:
            mark = "✅ " if judged.passed and judged.required else "" if judged.passed else "❌ "
            yield f"| {cell(judged.title)} (`{judged.stage}`) | {cell(mark + judged.detail)} |"
        if launch.problem:
            yield ""
            yield cell(launch.problem)
        yield ""
        yield f"**{launch.headline}**"
        return
    verdicts = {verdict.stage: verdict for verdict in stage_verdicts}
    ran = [stage for stage in STAGES if stage in verdicts or results.counts(stage).total()]
    if ran:
        yield "| stage | verdict | counts |"
        yield "|---|---|---|"
        for stage in ran:
            counts = results.counts(stage)
            shown = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()) if n) or "none ran"
            if stage in verdicts:
                mark = "✅ " if verdicts[stage].passed else "❌ "
                verdict = cell(mark + verdicts[stage].detail)
            else:
                verdict = _VERDICTS[counts_verdict(results, stage)]
            yield f"| {cell(STAGES[stage])} (`{stage}`) | {verdict} | {shown} |"


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
    retried = any_retried(latencies)
    yield "| endpoint | latency ms | budget ms | within budget |" + (" retried |" if retried else "")
    yield "|---|--:|--:|:-:|" + ("---|" if retried else "")
    for found in sorted(latencies, key=lambda found: (-found.latency_ms, found.nodeid))[:SHOWN]:
        budget, within = "—", "—"
        if found.budget_ms is not None:
            budget = f"{found.budget_ms:.0f}"
            within = "✅" if found.latency_ms <= found.budget_ms else "❌ over"
        row = f"| {code(redactor.scrub(found.nodeid))} | {found.latency_ms:.0f} | {budget} | {within} |"
        if retried:
            row += (
                f" {found.statuses} in {found.total_ms:.0f} ms |"
                if found.attempts > 1 and found.total_ms
                else " |"
            )
        yield row
    if len(latencies) > SHOWN:
        yield ""
        yield f"({len(latencies) - SHOWN} faster endpoints not shown)"


def render_summary(
    *,
    command: Iterable[str],
    results: Results,
    launch: Verdict | None,
    gate: tuple[Outcome, GateConfig] | None,
    stage_verdicts: Iterable[StageVerdict] = (),
    latencies: list[Latency],
    redactor: Redactor,
) -> str:
    """The Markdown block of one run, scrubbed; empty when the run has nothing to summarise."""
    stages = list(stage_lines(results, launch, stage_verdicts))
    if not stages and gate is None and not latencies:
        return ""
    lines = ["", "## Promotion gate", "", code(redactor.scrub(shlex.join(["pytest", *command]))), ""]
    lines += stages or ["No gate stage ran."]
    if gate is not None:
        lines += ["", "### New risky statements", "", *risky_lines(*gate, redactor)]
    if latencies:
        lines += ["", "### Slowest endpoints", "", *latency_table(latencies, redactor)]
    return "\n".join(redactor.scrub(line) for line in lines) + "\n"


def append_step_summary(path: Path, text: str) -> None:
    """Append the block (steps share the file); a warning, not a failure, when it cannot be written."""
    if not text:
        return
    try:
        with path.open("a", encoding="utf-8") as summary:
            summary.write(text)
    except OSError as exc:
        warnings.warn(
            pytest.PytestWarning(
                f"GITHUB_STEP_SUMMARY: could not append the promotion summary to {path} "
                f"({exc.strerror or exc}). Point GITHUB_STEP_SUMMARY at a writable file, or unset it."
            ),
            stacklevel=1,
        )
