"""Stage results, counts and THE verdict: the launch gate block, the step summary and the exit status.

A required stage passes only when every check it expects ran and passed. The expected checks come
from the configuration alone, before collection (:class:`Plan`); what happened to each comes from
the reports (:class:`Results`), which carry the check's id in ``user_properties`` under xdist too.
Anything that keeps an expected check from passing — a deselection (``-k``, ``-m``, ``--deselect``,
``--lf``), a skip or xfail mark, a run stopped early (``-x``, ``--maxfail``), a check never
collected — fails the stage, and the verdict names the checks. Everything that reports on the gate
reads :func:`verdict`, so the printed verdict and the exit status cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from pytest_promotion.core.checks import STAGES, Check, check_id_of
from pytest_promotion.core.pytest_private import Expression
from pytest_promotion.core.text import listed, plural

PASSED, FAILED, ERROR, SKIPPED, XFAILED, XPASSED = (
    "passed",
    "failed",
    "error",
    "skipped",
    "xfailed",
    "xpassed",
)
_RANK = {PASSED: 0, SKIPPED: 1, XFAILED: 2, XPASSED: 2, ERROR: 3, FAILED: 4}
COLLECT_ONLY = "--collect-only runs no check, so none can pass: run without it for a verdict"
NOTHING_REQUIRED = (
    "no stage is required: there is no migrations folder, and neither LAUNCH_POST_DEPLOY_SMOKE nor "
    "LAUNCH_VALIDATE_ADMIN_CONTROLS is true, so the gate would check nothing"
)


@dataclass(frozen=True)
class Plan:
    """What the gate expects, computed from the configuration before collection."""

    checks: Mapping[str, tuple[Check, ...]]
    """Every generated check, per stage, in item order."""
    required: Mapping[str, bool]
    idle: Mapping[str, str] = field(default_factory=dict)
    """Why a stage that is not required does not run (``not required``, ``nothing configured``)."""
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Unmet prerequisites of each required stage, worded as what to set."""


def outcome_of(report: pytest.TestReport) -> str | None:
    """What one phase's report says about its check; None for a phase that decides nothing."""
    if report.outcome == "rerun" or (report.when != "call" and report.passed):  # type: ignore[comparison-overlap]
        return None
    if hasattr(report, "wasxfail"):
        return XFAILED if report.skipped else XPASSED if report.passed else FAILED
    if report.failed:
        return FAILED if report.when == "call" else ERROR
    return SKIPPED if report.skipped else PASSED


@dataclass
class Results:
    """What happened to each generated check in this run (merged from xdist workers)."""

    outcomes: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    deselected: set[str] = field(default_factory=set)
    collection_errors: int = 0

    def record(self, report: pytest.TestReport) -> None:
        """Take one phase's report of a generated item; the worst phase decides."""
        check = check_id_of(report)
        outcome = outcome_of(report)
        if check is None or outcome is None:
            return
        if check not in self.outcomes or _RANK[outcome] >= _RANK[self.outcomes[check]]:
            self.outcomes[check] = outcome
            if outcome == SKIPPED and isinstance(report.longrepr, tuple):
                self.reasons[check] = str(report.longrepr[2]).removeprefix("Skipped: ")

    def deselect(self, items: Iterable[pytest.Item]) -> None:
        """Remember which generated checks were deselected (by ``-k``, ``-m``, ``--deselect``, ``--lf``)."""
        self.deselected.update(check for item in items if (check := check_id_of(item)) is not None)

    def export(self) -> dict[str, Any]:
        """What a worker hands the controller: its deselections (its reports travel on their own)."""
        return {"deselected": sorted(self.deselected)}

    def merge(self, data: Mapping[str, Any]) -> None:
        """Take in a worker's :meth:`export`."""
        self.deselected.update(data.get("deselected", ()))

    def counts(self, stage: str) -> Counter[str]:
        """Outcomes of the stage's checks that reported."""
        prefix = f"{stage}::"
        return Counter(outcome for check, outcome in self.outcomes.items() if check.startswith(prefix))


@dataclass(frozen=True)
class StageVerdict:
    """One stage's line in the verdict."""

    stage: str
    required: bool
    passed: bool
    detail: str
    left_out: bool = False
    """Some expected check did not run (deselected, skipped, never collected, ``--collect-only``)."""

    @property
    def title(self) -> str:
        """``admin controls``."""
        return STAGES[self.stage]

    @property
    def line(self) -> str:
        """``  admin controls     FAILED: 3 of 12 expected checks did not run (…)``."""
        return f"  {self.title:<18} {self.detail}"

    def run_lines(self) -> list[str]:
        """What a run of this stage alone (``pytest -m migrations``) adds when checks were left out."""
        if not self.left_out:
            return []  # its failed items and the stage's own section already say what failed
        return [
            f"{self.title} {self.detail}",
            f"`-m {self.stage}` runs the {self.title} stage: it passes only when every one of its "
            "expected checks ran and passed. To look at some of them alone, leave -m out (pytest -k NAME).",
        ]


@dataclass(frozen=True)
class Verdict:
    """Every stage's verdict and the gate's."""

    stages: tuple[StageVerdict, ...]
    passed: bool
    problem: str | None = None
    """Why the gate failed apart from its stages (nothing required, collection errors)."""

    @property
    def headline(self) -> str:
        """``LAUNCH GATE PASSED`` or ``LAUNCH GATE FAILED``."""
        return "LAUNCH GATE PASSED" if self.passed else "LAUNCH GATE FAILED"

    def lines(self) -> list[str]:
        """The verdict block: one line per stage, the problem if any, then the headline."""
        lines = [stage.line for stage in self.stages]
        if self.problem:
            lines.append(f"  {self.problem}")
        return [*lines, self.headline]


def _not_run(checks: tuple[Check, ...], results: Results) -> dict[str, list[str]]:
    """Expected checks that did not pass without failing, grouped by why."""
    why: dict[str, list[str]] = {}
    for check in checks:
        outcome = results.outcomes.get(check.id)
        if outcome in (PASSED, FAILED, ERROR):
            continue
        if outcome is None:
            kind = "deselected" if check.id in results.deselected else "not run"
        elif outcome == SKIPPED:
            reason = results.reasons.get(check.id, "").split(":")[0].strip()  # "needs an organization"
            kind = f"skipped ({reason})" if reason else "skipped"
        else:
            kind = outcome
        why.setdefault(kind, []).append(check.name)
    return why


def stage_verdict(stage: str, plan: Plan, results: Results, problems: Iterable[str] = ()) -> StageVerdict:
    """A stage's verdict: passed only when every expected check ran and passed, and nothing else failed."""
    if not plan.required.get(stage, False):
        return StageVerdict(stage, False, True, plan.idle.get(stage, "not required"))
    checks = plan.checks.get(stage, ())
    parts = [f"needs {need}" for need in plan.missing.get(stage, ())]
    counts = results.counts(stage)
    failed = [c.name for c in checks if results.outcomes.get(c.id) in (FAILED, ERROR)]
    if counts[FAILED] + counts[ERROR]:  # a generated item outside the plan counts too
        parts.append(f"{counts[FAILED] + counts[ERROR]} failed" + (f" ({listed(failed)})" if failed else ""))
    why = _not_run(checks, results)
    if why:
        count = sum(len(names) for names in why.values())
        shown = "; ".join(f"{kind}: {listed(names)}" for kind, names in why.items())
        parts.append(f"{count} of {len(checks)} expected checks did not run ({shown})")
    parts += list(problems)
    if parts:
        return StageVerdict(stage, True, False, "FAILED: " + "; ".join(parts), left_out=bool(why))
    return StageVerdict(stage, True, True, f"passed ({plural(len(checks), 'check')})")


def verdict(
    plan: Plan,
    results: Results,
    problems: Mapping[str, list[str]] | None = None,
    *,
    collect_only: bool = False,
) -> Verdict:
    """THE verdict of a launch-gate run (``collect_only``: nothing ran, and the block says why)."""
    problems = problems or {}
    stages = tuple(stage_verdict(stage, plan, results, problems.get(stage, ())) for stage in STAGES)
    problem = None
    if not any(plan.required.get(stage, False) for stage in STAGES):
        problem = NOTHING_REQUIRED
    elif collect_only:
        problem = COLLECT_ONLY
    elif results.collection_errors:
        problem = f"{plural(results.collection_errors, 'collection error')}: fix them and run again"
    return Verdict(stages, all(stage.passed for stage in stages) and problem is None, problem)


def asks_for_stage(markexpr: str, marker: str) -> bool:
    """Whether ``-m markexpr`` selects the stage's items and not unmarked tests: a run *of* that stage.

    ``-m migrations`` and ``-m "migrations or smoke"`` ask for the migration stage; no ``-m``,
    ``-m "not migrations"`` and ``-m "not slow"`` (which keep unmarked tests too) do not.
    """
    if not markexpr.strip():
        return False
    try:
        expression = Expression.compile(markexpr)
    except SyntaxError:  # pytest reports the bad expression itself
        return False

    def only(name: str | None) -> Callable[..., bool]:
        return lambda found, /, **kwargs: found == name and not kwargs

    return expression.evaluate(only(marker)) and not expression.evaluate(only(None))


def stage_run_verdict(
    stage: str, plan: Plan, results: Results, problems: Iterable[str] = (), *, collect_only: bool = False
) -> StageVerdict:
    """The verdict of a run of one stage (``pytest -m migrations``): the launch gate's, for that stage alone."""
    if collect_only:
        return StageVerdict(stage, True, False, f"FAILED: {COLLECT_ONLY}", left_out=True)
    return stage_verdict(stage, replace(plan, required={stage: True}), results, problems)
