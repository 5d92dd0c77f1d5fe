"""The migration gate's part of a session: its header line, the end-of-run outcome and files.

Plain functions the plugin's hooks call. Workers export their results through ``workeroutput``;
the controller merges them and alone computes the outcome and writes baseline, report and cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pytest_promotion.core.text import plural, shorten
from pytest_promotion.migrations.annotations import capped_annotations
from pytest_promotion.migrations.baseline import Entry, baseline_lock, load_baseline, render, write_atomic
from pytest_promotion.migrations.cache import CACHE_KEY, merged
from pytest_promotion.migrations.gate import GateRun, Outcome
from pytest_promotion.migrations.prisma8 import is_prisma8_dir
from pytest_promotion.migrations.report import summary_lines, write_report
from pytest_promotion.migrations.sarif import write_sarif


def header(run: GateRun) -> str:
    """Name the folder, dialect, baseline and rules this run gates with."""
    gate = run.config
    rules = ", ".join(rule.id for rule in gate.rules)
    layout = "Prisma 8 packages" if is_prisma8_dir(gate.migrations_dir) else gate.dialect.name
    return (
        f"promotion: migrations {gate.display(gate.migrations_dir)} ({layout}), "
        f"baseline {gate.display(gate.baseline_path)} ({plural(len(run.entries), 'entry', 'entries')}), rules: {rules}"
    )


def finish(run: GateRun, config: pytest.Config, scrub: Callable[[str], str] = str) -> Outcome | None:
    """Compute the outcome and write the refreshed baseline, the (scrubbed) report and the scan cache.

    With ``--update-baseline`` the baseline is re-read, merged and written under its file lock, so
    two concurrent partial refreshes end with the union of both. A :class:`ConfigError` (the lock
    timed out, or the file became invalid meanwhile) leaves the baseline as it was.
    """
    if not run.results and not run.unreadable:
        return None
    gate = run.config
    if gate.update:
        with baseline_lock(gate.baseline_path):
            run.reload(load_baseline(gate.baseline_path))
            outcome = run.outcome()
            if outcome.refresh is not None:
                write_atomic(gate.baseline_path, render(outcome.refresh.entries))
    else:
        outcome = run.outcome()
    write_report(outcome, gate, scrub)
    write_sarif(outcome, gate, run.entries, scrub)
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    if run.new_cache and cache is not None:
        cache.set(CACHE_KEY, merged(run.cached, run.new_cache))
    return outcome


def strict_problems(run: GateRun, outcome: Outcome | None) -> list[str]:
    """Why the migration stage fails beyond its items: stale entries (``--strict-baseline``) and
    entries without a reason (``require_reasons``)."""
    if outcome is None or outcome.refresh is not None:
        return []
    problems = []
    if run.config.strict and outcome.stale:
        problems.append(
            f"{plural(len(outcome.stale), 'stale baseline entry', 'stale baseline entries')} (--strict-baseline)"
        )
    if unreasoned := missing_reasons(run):
        count = plural(len(unreasoned), "baseline entry", "baseline entries")
        problems.append(
            f"{count} without a reason in {run.config.display(run.config.baseline_path)} (require_reasons)"
        )
    return problems


def missing_reasons(run: GateRun) -> list[Entry]:
    """Baseline entries whose ``reason`` is empty, when ``require_reasons`` asks for one."""
    if not run.config.require_reasons:
        return []
    return [entry for entry in run.entries if not (entry.reason or "").strip()]


def summary(run: GateRun, outcome: Outcome) -> Iterator[str]:
    """The gate's summary section, and GitHub annotations when running in Actions."""
    gate = run.config
    yield from summary_lines(outcome, gate)
    if outcome.refresh is None and (unreasoned := missing_reasons(run)):
        baseline = gate.display(gate.baseline_path)
        yield (
            f"{plural(len(unreasoned), 'baseline entry', 'baseline entries')} in {baseline} "
            f"{'has' if len(unreasoned) == 1 else 'have'} no reason (fails the run: require_reasons = true):"
        )
        for e in unreasoned:
            where = f"{e.migration}:{e.line}" if e.line is not None else e.migration
            yield f"  {where}: {e.rule} — {shorten(e.statement, 120)}"
        yield f'Write why each was accepted in its "reason" in {baseline}, then run again.'
    if gate.annotations and outcome.refresh is None:
        yield from capped_annotations(outcome, gate)
