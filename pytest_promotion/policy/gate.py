"""``--launch-gate``: the seed's ``launch:gate``, with stages that can be required.

Migration safety always runs; ``LAUNCH_POST_DEPLOY_SMOKE`` requires the smoke stage and
``LAUNCH_VALIDATE_ADMIN_CONTROLS`` the access-policy stage. A required stage that cannot run —
no base URL, no credentials, nothing declared — fails with one item per missing prerequisite,
naming the variables, instead of skipping. The run ends with one verdict block.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_promotion.failures import FailureRepr
from pytest_promotion.overrides.config import Overrides
from pytest_promotion.policy.matrix import VARIABLES
from pytest_promotion.settings import PromotionSettings

STAGES = {
    "migrations": "migration safety",
    "smoke": "post-deploy smoke",
    "perf_budget": "latency budgets",
    "admin_policy": "admin controls",
    "flags": "feature flags",
    "entitlements": "entitlements",
}
NO_BASE_URL = "a base URL: pass --base-url, or set SMOKE_BASE_URL or PYTEST_BASE_URL"
NO_ORGANIZATION = "an organization: set SMOKE_ORGANIZATION_ID"


@dataclass(frozen=True)
class Stages:
    """Which stages this gate run requires, what each one lacks, and why the others do not run."""

    required: dict[str, bool]
    missing: dict[str, list[str]]
    idle: dict[str, str] = field(default_factory=dict)


def plan(settings: PromotionSettings, *, base_url: str | None, has_migrations: bool) -> Stages:
    """The stages required by the LAUNCH_* flags and their missing prerequisites.

    ``LAUNCH_POST_DEPLOY_SMOKE`` governs everything that talks to the deployed service: the smoke
    items, and the latency budgets and override checks when any are declared or configured.
    """
    post_deploy = settings.launch_post_deploy_smoke
    endpoints = settings.smoke.endpoints
    overrides = Overrides.of(settings)
    declared = {
        "perf_budget": settings.smoke.default_budget_ms is not None or any(e.budget_ms for e in endpoints),
        "flags": not overrides.is_empty_flags,
        "entitlements": not overrides.is_empty_entitlements,
    }
    required = {
        "migrations": True,
        "smoke": post_deploy,
        "admin_policy": settings.launch_validate_admin_controls,
        **{stage: post_deploy and known for stage, known in declared.items()},
    }
    idle = {stage: "not required" for stage, needed in required.items() if not needed}
    if post_deploy:
        idle.update({stage: "nothing configured" for stage, known in declared.items() if not known})
    missing: dict[str, list[str]] = {stage: [] for stage in STAGES}
    if not has_migrations:
        missing["migrations"].append("a migrations folder: set migrations_dir in [tool.promotion]")
    if required["smoke"]:
        if not endpoints:
            missing["smoke"].append("endpoints: list them in [tool.promotion.smoke]")
        if any("auth" in e.requires for e in endpoints) and not (
            settings.admin_bearer_token or settings.admin_session_token
        ):
            missing["smoke"].append(f"admin credentials: set {VARIABLES['admin']}")
        if any("organization_id" in e.requires for e in endpoints) and not settings.organization_id:
            missing["smoke"].append(NO_ORGANIZATION)
    if required["admin_policy"]:
        if not settings.policy.endpoints:
            missing["admin_policy"].append("admin-only endpoints: list them in [tool.promotion.policy]")
        if not (settings.admin_bearer_token or settings.admin_session_token):
            missing["admin_policy"].append(f"admin credentials: set {VARIABLES['admin']}")
        if not (settings.member_bearer_token or settings.member_session_token):
            missing["admin_policy"].append(f"member credentials: set {VARIABLES['member']}")
    for stage, org_layer in (("flags", overrides.flags_org), ("entitlements", overrides.entitlements_org)):
        if required[stage] and org_layer and not settings.organization_id:
            missing[stage].append(NO_ORGANIZATION)
    for stage in ("smoke", "perf_budget", "admin_policy", "flags", "entitlements"):
        if required[stage] and base_url is None:
            missing[stage].insert(0, NO_BASE_URL)
    return Stages(required=required, missing=missing, idle=idle)


class PrerequisiteMissing(Exception):
    """A required stage cannot run."""


class PrerequisiteItem(pytest.Item):
    """Fails: a required stage lacks something; the name says what."""

    def __init__(self, *, stage: str, need: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.stage = stage
        self.need = need
        self.add_marker(stage)

    def runtest(self) -> None:
        """Always fails: the stage is required and cannot run."""
        raise PrerequisiteMissing(
            f"launch gate: the {STAGES[self.stage]} stage is required and needs {self.need}"
        )

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: str | None = None
    ) -> FailureRepr:
        """The one line that says what to set."""
        return FailureRepr(str(excinfo.value), str(self.path), 0, str(excinfo.value))

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at the project file."""
        return self.path, 0, self.name


class PrerequisiteFile(pytest.File):
    """``launch-gate::…``: the prerequisite items, collected from the project's pyproject.toml."""

    def __init__(self, *, stages: Stages, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.stages = stages

    def collect(self) -> Iterator[pytest.Item]:
        """One failing item per missing prerequisite of a required stage."""
        for stage, needs in self.stages.missing.items():
            if self.stages.required[stage]:
                for need in needs:
                    name = f"{stage} needs {need.split(':')[0]}"
                    yield PrerequisiteItem.from_parent(self, name=name, stage=stage, need=need)


def stage_of(keywords: object) -> str | None:
    """The gate stage an item or report belongs to, by its marks."""
    return next((stage for stage in STAGES if stage in keywords), None)  # type: ignore[operator]


def stage_outcome(report: pytest.TestReport) -> tuple[str, str] | None:
    """The stage and outcome one report counts for (a setup error or skip counts; a passed setup not)."""
    stage = stage_of(report.keywords)
    if stage is None or (report.when != "call" and not (report.failed or report.skipped)):
        return None
    return stage, "error" if report.failed and report.when != "call" else report.outcome


@dataclass(eq=False)  # pluggy keeps plugins in sets: identity, not field equality
class LaunchGatePlugin:
    """Selects the required stages, adds the prerequisite items, prints the verdict block."""

    stages: Stages
    pyproject: Path | None
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        """The prerequisite items live beside the checks, in the project's pyproject.toml."""
        if file_path == self.pyproject:
            return PrerequisiteFile.from_parent(parent, path=file_path, stages=self.stages)
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Keep only the items of required stages (``-m`` still narrows them afterwards)."""
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            stage = stage_of(item.keywords)
            (keep if stage is not None and self.stages.required[stage] else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count outcomes per stage (reports carry their marks as keywords, under xdist too)."""
        counted = stage_outcome(report)
        if counted is not None:
            self.counts.setdefault(counted[0], Counter())[counted[1]] += 1

    def verdict_lines(self) -> list[str]:
        """One line per stage, then the overall verdict."""
        lines, failed = [], False
        for stage, title in STAGES.items():
            counts = self.counts.get(stage, Counter())
            if not self.stages.required[stage]:
                lines.append(f"  {title:<18} {self.stages.idle.get(stage, 'not required')}")
                continue
            bad = counts["failed"] + counts["error"]
            state = "passed" if counts["passed"] and not bad else "FAILED"
            failed = failed or state != "passed"
            shown = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n) or "no items ran"
            lines.append(f"  {title:<18} {state} ({shown})")
        lines.append("LAUNCH GATE FAILED" if failed else "LAUNCH GATE PASSED")
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The verdict block, last."""
        terminalreporter.section("launch gate")
        for line in self.verdict_lines():
            terminalreporter.write_line(line)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """A required stage with nothing run fails the run too."""
        if hasattr(session.config, "workerinput"):
            return
        if self.verdict_lines()[-1] == "LAUNCH GATE FAILED" and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
