"""``flag_source = "ofrep"``: the same flag checks against the sample's OpenFeature (OFREP) endpoint.

The sample service evaluates its flags over ``POST /ofrep/v1/evaluate/flags`` with the organization
as ``targetingKey`` (an org override answers ``TARGETING_MATCH``, the environment's ``STATIC``, the
stored value ``DEFAULT``). Each drift is made the way it happens — the service started with another
configuration than the checks — and must fail exactly the item that names it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.overrides import (
    FLAG_ITEMS,
    REALISTIC,
    Service,
    assert_drift_fails_only,
    configure,
    drifted,
    run,
)

OFREP = 'flag_source = "ofrep"'


@pytest.fixture
def project(override_project: pytest.Pytester) -> pytest.Pytester:
    """The override project, reading its flags over OFREP."""
    pyproject = override_project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n" + OFREP + "\n")
    return override_project


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_every_flag_item_passes_when_the_flag_service_evaluates_the_same_overrides(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, override_service: Service, workers: list[str]
) -> None:
    configure(monkeypatch, REALISTIC)
    with override_service(REALISTIC) as url:
        result = run(project, url, "-m", "flags", "-v", *workers)
    result.assert_outcomes(passed=len(FLAG_ITEMS))
    for name in FLAG_ITEMS:
        result.stdout.fnmatch_lines([f"*pyproject.toml::flags::{name}*"])


@pytest.mark.parametrize(
    ("service_config", "failing", "message"),
    [
        pytest.param(
            drifted(lambda c: c["flags_env"].update(new_editor=False)),
            "flag new_editor",
            "flag new_editor: expected true (environment override), the service evaluates false "
            "(reason STATIC, variant environment-override)",
            id="env-value",
        ),
        pytest.param(
            drifted(lambda c: c["flags_org"]["org_acme"].pop("ai_summaries")),
            "flag ai_summaries",
            "flag ai_summaries: expected true (organization override), the service evaluates false "
            "(reason DEFAULT, variant stored)",
            id="org-override-missing",
        ),
        pytest.param(
            # the same value, but for everyone: the organization is not targeted
            drifted(
                lambda c: (
                    c["flags_org"]["org_acme"].pop("export_limit"),
                    c["flags_env"].update(export_limit=20000),
                )
            ),
            "flag export_limit",
            "The service does not target organization org_acme with this flag, so its override is not applied.",
            id="same-value-not-targeted",
        ),
        pytest.param(
            drifted(lambda c: c["flags_org"]["org_acme"].update(new_editor=True)),
            "flag new_editor",
            "A targeting rule for organization org_acme decided it: the deployed FEATURE_FLAG_ORG_OVERRIDES_JSON*",
            id="foreign-org-override",
        ),
        pytest.param(
            drifted(lambda c: c["flags_org"]["org_acme"].update(beta_banner=True)),
            "drift",
            "the service targets 1 flag(s) at this organization that this configuration does not override:",
            id="stale-targeting",
        ),
    ],
)
def test_a_drifted_flag_service_fails_exactly_the_item_that_drifted(
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    override_service: Service,
    service_config: dict[str, Any],
    failing: str,
    message: str,
) -> None:
    assert_drift_fails_only(
        project,
        monkeypatch,
        override_service,
        service_config,
        (failing, message, len(FLAG_ITEMS)),
        "-m",
        "flags",
    )


def test_a_flag_the_service_does_not_evaluate_fails_its_item(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, override_service: Service
) -> None:
    configure(monkeypatch, {"flags_env": {"brand_new": True}})
    with override_service({}) as url:
        result = run(project, url, "-m", "flags")
    result.assert_outcomes(passed=1, failed=1)  # drift passes
    result.stdout.fnmatch_lines(
        ["*flag brand_new: expected true (environment override), the service does not evaluate it*"]
    )


def flags_at(
    path: str, project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, service: Service
) -> pytest.RunResult:
    """The flag checks of one env override, with the OFREP source pointed at ``path``."""
    configure(monkeypatch, {"flags_env": {"new_editor": True}})
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'flags_path = "{path}"\n')
    with service({}) as url:
        return run(project, url, "-m", "flags")


def test_a_path_that_does_not_speak_ofrep_fails_every_item_saying_where_to_look(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, override_service: Service
) -> None:
    result = flags_at("/ofrep/v2/nothing", project, monkeypatch, override_service)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "POST /ofrep/v2/nothing answered 404, expected 200",
            "Nothing answers OFREP there: set flags_path in ?tool.promotion.smoke? to*",
        ]
    )


def test_the_resolved_report_is_not_mistaken_for_ofrep(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, override_service: Service
) -> None:
    result = flags_at("/api/dashboard/feature-flags/resolved", project, monkeypatch, override_service)
    result.assert_outcomes(failed=2)  # GET-only endpoint: a POST is refused
    result.stdout.fnmatch_lines(["POST /api/dashboard/feature-flags/resolved answered 405*"])


def test_the_sample_speaks_ofrep_for_one_flag_and_refuses_a_bad_context(override_service: Service) -> None:
    with override_service(REALISTIC) as url:
        acme = {"context": {"targetingKey": "org_acme"}}
        one = httpx.post(f"{url}/ofrep/v1/evaluate/flags/ai_summaries", json=acme)
        missing = httpx.post(f"{url}/ofrep/v1/evaluate/flags/no_such_flag", json=acme)
        bad = httpx.post(f"{url}/ofrep/v1/evaluate/flags", json={"context": ["org_acme"]})
        anyone = httpx.post(f"{url}/ofrep/v1/evaluate/flags/export_limit", json={"context": {}})
    assert one.json() == {
        "key": "ai_summaries",
        "value": True,
        "reason": "TARGETING_MATCH",
        "variant": "organization-override",
        "metadata": {},
    }
    assert (missing.status_code, missing.json()["errorCode"]) == (404, "FLAG_NOT_FOUND")
    assert (bad.status_code, bad.json()["errorCode"]) == (400, "INVALID_CONTEXT")
    assert (anyone.json()["value"], anyone.json()["reason"]) == (5000, "STATIC")
