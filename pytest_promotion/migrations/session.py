"""The migration gate's part of a session: its header line, the end-of-run outcome and files.

Plain functions the plugin's hooks call. Workers export their results through ``workeroutput``;
the controller merges them and alone computes the outcome and writes baseline, report and cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pytest_promotion.core.text import plural
from pytest_promotion.migrations.annotations import capped_annotations
from pytest_promotion.migrations.baseline import render, write_atomic
from pytest_promotion.migrations.cache import CACHE_KEY, merged
from pytest_promotion.migrations.gate import GateRun, Outcome
from pytest_promotion.migrations.report import summary_lines, write_report
from pytest_promotion.migrations.sarif import write_sarif


def header(run: GateRun) -> str:
    """Name the folder, dialect, baseline and rules this run gates with."""
    gate = run.config
    rules = ", ".join(rule.id for rule in gate.rules)
    return (
        f"promotion: migrations {gate.display(gate.migrations_dir)} ({gate.dialect.name}), "
        f"baseline {gate.display(gate.baseline_path)} ({plural(len(run.entries), 'entry', 'entries')}), rules: {rules}"
    )


def finish(run: GateRun, config: pytest.Config, scrub: Callable[[str], str] = str) -> Outcome | None:
    """Compute the outcome and write the refreshed baseline, the (scrubbed) report and the scan cache."""
    if not run.results and not run.unreadable:
        return None
    outcome = run.outcome()
    gate = run.config
    if outcome.refresh is not None:
        write_atomic(gate.baseline_path, render(outcome.refresh.entries))
    write_report(outcome, gate, scrub)
    write_sarif(outcome, gate, run.entries, scrub)
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    if run.new_cache and cache is not None:
        cache.set(CACHE_KEY, merged(run.cached, run.new_cache))
    return outcome


def strict_problems(run: GateRun, outcome: Outcome | None) -> list[str]:
    """Why ``--strict-baseline`` fails the migration stage: stale baseline entries."""
    if outcome is None or not run.config.strict or not outcome.stale or outcome.refresh is not None:
        return []
    return [
        f"{plural(len(outcome.stale), 'stale baseline entry', 'stale baseline entries')} (--strict-baseline)"
    ]


def summary(run: GateRun, outcome: Outcome) -> Iterator[str]:
    """The gate's summary section, and GitHub annotations when running in Actions."""
    gate = run.config
    yield from summary_lines(outcome, gate)
    if gate.annotations and outcome.refresh is None:
        yield from capped_annotations(outcome, gate)
