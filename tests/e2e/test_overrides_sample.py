"""``pytest -m flags`` / ``-m entitlements`` against the sample service, in step and drifted.

Drift is simulated the way it happens: the service is started with one configuration and the
checks run with another. Each drift must fail exactly the item that names it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.overrides import (
    ENTITLEMENT_ITEMS,
    FLAG_ITEMS,
    REALISTIC,
    Service,
    assert_drift_fails_only,
    configure,
    drifted,
    run,
)


def test_every_item_passes_when_the_service_resolves_the_same_configuration(
    override_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, override_service: Service
) -> None:
    configure(monkeypatch, REALISTIC)
    with override_service(REALISTIC) as url:
        result = run(override_project, url, "-v", "--junitxml=junit.xml")
    result.assert_outcomes(passed=len(FLAG_ITEMS) + len(ENTITLEMENT_ITEMS))
    for name in FLAG_ITEMS:
        result.stdout.fnmatch_lines([f"pyproject.toml::flags::{name} PASSED*"])
    for name in ENTITLEMENT_ITEMS:
        result.stdout.fnmatch_lines([f"pyproject.toml::entitlements::{name} PASSED*"])


@pytest.mark.parametrize(
    ("service_config", "failing", "message"),
    [
        pytest.param(
            drifted(lambda c: c["flags_env"].update(new_editor=False)),
            "flag new_editor",
            "flag new_editor: expected true from env, the service reports false from env",
            id="env-flag-value",
        ),
        pytest.param(
            drifted(lambda c: c["flags_org"]["org_acme"].pop("ai_summaries")),
            "flag ai_summaries",
            "flag ai_summaries: expected true from org, the service reports false from db",
            id="org-override-missing",
        ),
        pytest.param(
            drifted(lambda c: c["flags_org"]["org_acme"].update(new_editor=True)),
            "flag new_editor",
            "flag new_editor: expected true from env, the service reports true from org",
            id="foreign-org-override",
        ),
        pytest.param(
            drifted(lambda c: c["flags_env"].update(beta_banner=True)),
            "drift",
            "the service applies 1 flag override(s) this configuration does not have:",
            id="stale-env-override",
        ),
        pytest.param(
            drifted(lambda c: c["entitlements_org"]["org_acme"]["usage_caps"].update(api_calls=100000)),
            "entitlement usage cap api_calls",
            "entitlement usage_caps.api_calls: expected 250000 from org, the service reports 100000",
            id="usage-cap",
        ),
        pytest.param(
            drifted(lambda c: c["entitlements_env"]["usage_caps"].update(exports=10)),
            "entitlement usage cap exports",
            "entitlement usage_caps.exports: expected null (unlimited) from env, the service reports 10",
            id="null-cap",
        ),
        pytest.param(
            drifted(lambda c: c["entitlements_org"]["org_acme"].update(features=[])),
            "entitlement features",
            "entitlement features: priority_support not in the reported features*",
            id="feature-missing",
        ),
    ],
)
def test_a_drifted_service_fails_exactly_the_item_that_drifted(
    override_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    override_service: Service,
    service_config: dict[str, Any],
    failing: str,
    message: str,
) -> None:
    assert_drift_fails_only(
        override_project,
        monkeypatch,
        override_service,
        service_config,
        (failing, message, len(FLAG_ITEMS) + len(ENTITLEMENT_ITEMS)),
    )


def test_without_overrides_the_items_say_so(
    override_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, override_service: Service
) -> None:
    with override_service({}) as url:
        result = run(override_project, url, "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*no overrides configured: set FEATURE_FLAG_ENV_OVERRIDES_JSON or FEATURE_FLAG_ORG_OVERRIDES_JSON*",
            "*no overrides configured: set ENTITLEMENT_ENV_OVERRIDES_JSON or ENTITLEMENT_ORG_OVERRIDES_JSON*",
        ]
    )


def test_without_an_organization_org_overrides_are_skipped_naming_the_variable(
    override_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, override_service: Service
) -> None:
    configure(monkeypatch, REALISTIC)
    monkeypatch.delenv("SMOKE_ORGANIZATION_ID")
    with override_service(REALISTIC) as url:
        result = run(override_project, url, "-rs")
    # env flags (new_editor, export_limit) and drift run; the org overrides and entitlements wait for an org
    result.assert_outcomes(passed=3, skipped=1 + 3)
    result.stdout.fnmatch_lines(
        ["*FEATURE_FLAG_ORG_OVERRIDES_JSON is set but needs an organization: set SMOKE_ORGANIZATION_ID*"]
    )


def test_a_service_without_the_endpoint_fails_every_item_with_its_status(
    override_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, override_service: Service
) -> None:
    configure(monkeypatch, {"flags_env": {"new_editor": True}})
    (override_project.path / "pyproject.toml").write_text(
        (override_project.path / "pyproject.toml").read_text() + '\nflags_path = "/api/flags/not-here"\n'
    )
    with override_service({}) as url:
        result = run(override_project, url, "-m", "flags")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["GET /api/flags/not-here answered 404, expected 200*"])
