"""The one frozen run object every hook reads, built once per process from the validated settings.

Building it is where the heavy imports happen (pydantic, pydantic-settings, httpx, sqlparse): the
plugin module imports this one only when the run has work for a feature, so an unrelated project
pays nothing for having the plugin installed. The object is frozen; the few things that grow
during the session (reports per check, latencies, the migration outcome) live in :class:`Tally`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_promotion.configure import gate_run, given_options, secret_values
from pytest_promotion.core.checks import Check
from pytest_promotion.core.redact import Redactor
from pytest_promotion.core.xdist import is_worker
from pytest_promotion.database.drill import (
    DRILL_CHECK,
    ITEM_NAME,
    DrillConfig,
    RestoreDrillItem,
    drill_config,
    drill_header,
)
from pytest_promotion.launch.plan import plan
from pytest_promotion.launch.prerequisites import prerequisites_group
from pytest_promotion.migrations.gate import GateRun, Outcome
from pytest_promotion.migrations.items import migration_checks
from pytest_promotion.migrations.session import header as gate_header
from pytest_promotion.migrations.session import strict_problems
from pytest_promotion.overrides.groups import entitlements_group, flags_group
from pytest_promotion.overrides.items import entitlement_checks, flag_checks
from pytest_promotion.policy.items import policy_checks, policy_group
from pytest_promotion.probe import project_file
from pytest_promotion.service.client import Call
from pytest_promotion.service.configure import header as service_header
from pytest_promotion.service.configure import resolve_base_url, service_run
from pytest_promotion.service.items import GeneratedItem, Group
from pytest_promotion.service.latency import Latency
from pytest_promotion.service.needs import Available
from pytest_promotion.service.run import ServiceRun
from pytest_promotion.settings import PromotionSettings, load_settings
from pytest_promotion.smoke.items import budget_checks, budget_group, smoke_checks, smoke_group
from pytest_promotion.stages import (
    Plan,
    Results,
    StageVerdict,
    Verdict,
    asks_for_stage,
    stage_run_verdict,
    verdict,
)


@dataclass
class Tally:
    """What the session adds up as it goes: outcomes per check, latencies, the migration outcome."""

    results: Results = field(default_factory=Results)
    latencies: list[Latency] = field(default_factory=list)
    migration_outcome: Outcome | None = None
    verdict: Verdict | None = None
    """The launch gate's verdict, computed once at the end of the session."""
    stage_verdicts: tuple[StageVerdict, ...] = ()
    """The verdicts of the stages this run is a run of (``pytest -m migrations``), computed at the end."""
    baseline_error: str | None = None
    """Why ``--update-baseline`` could not write the baseline (its lock timed out, …)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Run:
    """Everything this pytest process was configured with, resolved once in ``pytest_configure``."""

    settings: PromotionSettings
    pyproject: Path | None
    redactor: Redactor
    gate: GateRun | None
    """The migration gate; None when there is no migrations folder."""
    service: ServiceRun | None
    """The remote checks; None when nothing is declared that talks to the deployed service."""
    owns_store: bool
    groups: tuple[Group, ...]
    """``pyproject.toml``'s children, in order."""
    plan: Plan
    launch_gate: bool
    collect_only: bool = False
    """``--collect-only``: no check runs, which the verdict names."""
    stage_runs: tuple[str, ...] = ()
    """The configured stages ``-m`` asks for (``pytest -m migrations``, ``-m smoke``), outside the
    launch gate and ``--update-baseline``: like the gate, each passes only when all its checks did."""
    drill: DrillConfig | None
    step_summary: Path | None
    tally: Tally = field(default_factory=Tally)

    def verdict(self) -> Verdict:
        """THE verdict: every report of the gate reads this."""
        problems = {}
        if self.gate is not None:
            problems["migrations"] = strict_problems(self.gate, self.tally.migration_outcome)
        return verdict(self.plan, self.tally.results, problems, collect_only=self.collect_only)

    def stage_run_verdicts(self) -> tuple[StageVerdict, ...]:
        """The verdict of each stage this run is a run of: every expected check ran, and passed."""
        problems = (
            {"migrations": strict_problems(self.gate, self.tally.migration_outcome)} if self.gate else {}
        )
        return tuple(
            stage_run_verdict(
                stage, self.plan, self.tally.results, problems.get(stage, ()), collect_only=self.collect_only
            )
            for stage in self.stage_runs
        )


def build_run(config: pytest.Config) -> Run:
    """Validate the settings and build the run; a :class:`ConfigError` for bad configuration."""
    pyproject = project_file(config)
    settings = load_settings(pyproject=pyproject, options=given_options(config))
    base_url = resolve_base_url(config, settings)
    redactor = Redactor.of(secret_values(settings, base_url[0]))
    gate = gate_run(config, settings)
    overrides = settings.overrides()
    # A base URL alone is enough: the override checks then say "no overrides configured".
    remote = bool(
        settings.smoke.endpoints
        or settings.policy.endpoints
        or not overrides.is_empty_flags
        or not overrides.is_empty_entitlements
        or base_url[0] is not None
    )
    service: ServiceRun | None = None
    owns_store = False
    if pyproject is not None and remote:
        service, owns_store = service_run(
            config,
            settings,
            base_url=base_url,
            redactor=redactor,
            allow_insecure_http=bool(config.getoption("promotion_allow_insecure_http")),
        )
    checks: dict[str, tuple[Check, ...]] = {}
    if gate is not None:
        checks["migrations"] = migration_checks(gate.config.migrations_dir)
    groups: list[Group] = []
    if service is not None:
        organization = settings.organization_id
        checks["smoke"] = smoke_checks(service.target.config)
        checks["perf_budget"] = budget_checks(service.target.config)
        checks["admin_policy"] = policy_checks(settings.policy)
        checks["flags"] = flag_checks(overrides, organization)
        checks["entitlements"] = entitlement_checks(overrides, organization)
        groups += [
            smoke_group(service, checks["smoke"]),
            budget_group(service, checks["perf_budget"]),
            policy_group(service, checks["admin_policy"]),
            flags_group(service, checks["flags"]),
            entitlements_group(service, checks["entitlements"]),
        ]
    available = (
        service.target.available
        if service is not None
        else Available(base_url=base_url[0] is not None, admin=False, member=False, organization=False)
    )
    launch_gate = bool(config.getoption("launch_gate"))
    declared = {
        "perf_budget": bool(checks.get("perf_budget")),
        "flags": not overrides.is_empty_flags,
        "entitlements": not overrides.is_empty_entitlements,
    }
    the_plan = plan(
        checks,
        available=available,
        has_migrations=gate is not None,
        post_deploy_smoke=settings.launch_post_deploy_smoke,
        admin_controls=settings.launch_validate_admin_controls,
        declared=declared,
    )
    if launch_gate:
        groups.append(prerequisites_group(the_plan))
    drill = drill_config(config, settings)
    if drill is not None:
        groups.append(
            Group(
                DRILL_CHECK.stage,
                (DRILL_CHECK,),
                lambda parent, check: RestoreDrillItem.from_parent(parent, name=ITEM_NAME, drill=drill),
            )
        )
    summary = None
    if settings.github_step_summary is not None and not is_worker(config):
        summary = config.invocation_params.dir / settings.github_step_summary
    return Run(
        settings=settings,
        pyproject=pyproject,
        redactor=redactor,
        gate=gate,
        service=service,
        owns_store=owns_store,
        groups=tuple(groups),
        plan=the_plan,
        launch_gate=launch_gate,
        collect_only=bool(config.option.collectonly),
        stage_runs=()
        if launch_gate or config.getoption("update_baseline")
        else tuple(
            stage
            for stage, expected in checks.items()
            if expected and declared.get(stage, True) and asks_for_stage(config.option.markexpr or "", stage)
        ),
        drill=drill,
        step_summary=summary,
    )


def collection_targets(run: Run) -> list[Path]:
    """What pytest must collect for the generated checks: the migrations folder and pyproject.toml."""
    targets = []
    if run.gate is not None:
        targets.append(run.gate.config.migrations_dir)
    if run.pyproject is not None and run.groups:
        targets.append(run.pyproject)
    return targets


def add_collection_targets(config: pytest.Config, targets: list[Path]) -> None:
    """Make pytest collect the generated checks even when ``testpaths`` does not reach them.

    The one way generated items enter a session: their files join the paths pytest collects, and
    the collect hooks turn them into collectors. Only when pytest chose the paths itself, or under
    ``--launch-gate`` (which deselects everything else anyway): explicit paths mean the user asked
    for those tests alone.
    """
    if config.args_source is pytest.Config.ArgsSource.ARGS and not config.getoption("launch_gate"):
        return
    here = config.invocation_params.dir
    covered = [(here / arg.split("::")[0]).resolve() for arg in config.args]
    for target in targets:
        if not any(target == path or target.is_relative_to(path) for path in covered):
            config.args.append(str(target))


def header_lines(run: Run) -> list[str]:
    """The report header: what the run gates, the target it checks, the drill."""
    lines = []
    if run.gate is not None:
        lines.append(gate_header(run.gate))
    if run.service is not None:
        lines.append(service_header(run.service))
    if run.drill is not None:
        lines.append(drill_header(run.drill))
    return lines


def calls_ahead(items: list[pytest.Item]) -> list[tuple[str, Call]]:
    """The selected items' requests that go out together, ahead of the items."""
    return [
        (item.nodeid, call) for item in items if isinstance(item, GeneratedItem) and (call := item.ahead())
    ]
