"""The launch gate's plan: which stages are required, the checks each expects, what each lacks.

Computed once, from the configuration alone, before collection: ``LAUNCH_POST_DEPLOY_SMOKE``
requires everything that talks to the deployed service (smoke, and the latency budgets and
override checks when any are declared), ``LAUNCH_VALIDATE_ADMIN_CONTROLS`` the access policy, and
migration safety is required wherever a migrations folder exists. A stage's missing prerequisites
are the unmet needs of its expected checks (:func:`pytest_promotion.service.needs.missing`), so the
skips, the prerequisite items and the verdict all agree.
"""

from __future__ import annotations

from collections.abc import Mapping

from pytest_promotion.core.checks import STAGES, Check
from pytest_promotion.service.needs import Available, missing
from pytest_promotion.stages import Plan

NOTHING_DECLARED = {
    "smoke": "endpoints: list them in [tool.promotion.smoke]",
    "admin_policy": "admin-only endpoints: list them in [tool.promotion.policy]",
}


def plan(
    checks: Mapping[str, tuple[Check, ...]],
    *,
    available: Available,
    has_migrations: bool,
    post_deploy_smoke: bool,
    admin_controls: bool,
    declared: Mapping[str, bool],
) -> Plan:
    """Required stages, their expected checks and missing prerequisites.

    ``declared`` says whether latency budgets, flag overrides and entitlement overrides are
    configured at all; a stage that is not declared has only a placeholder check.
    """
    required = {
        "migrations": has_migrations,
        "smoke": post_deploy_smoke,
        "admin_policy": admin_controls,
        **{
            stage: post_deploy_smoke and declared.get(stage, False)
            for stage in ("perf_budget", "flags", "entitlements")
        },
    }
    idle = {stage: "not required" for stage in STAGES if not required[stage]}
    if not has_migrations:
        idle["migrations"] = "nothing configured (no migrations folder)"
    if post_deploy_smoke:
        idle.update({stage: "nothing configured" for stage, known in declared.items() if not known})
    lacking: dict[str, tuple[str, ...]] = {}
    for stage in STAGES:
        if not required[stage]:
            continue
        expected = checks.get(stage, ())
        needs = {need for check in expected for need in check.needs}
        found = missing(needs, available)
        if not expected and stage in NOTHING_DECLARED:
            found.insert(0, NOTHING_DECLARED[stage])
        lacking[stage] = tuple(found)
    return Plan(checks=dict(checks), required=required, idle=idle, missing=lacking)
