"""``pytest -m flags`` / ``-m entitlements`` against the sample service, in step and drifted.

Drift is simulated the way it happens: the service is started with one configuration and the
checks run with another. Each drift must fail exactly the item that names it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pytest_promotion.sample.app import create_app
from pytest_promotion.sample.server import serving
from pytest_promotion.settings import load_settings
from tests.e2e.conftest import SmokeProject

VARIABLES = {
    "flags_env": "FEATURE_FLAG_ENV_OVERRIDES_JSON",
    "flags_org": "FEATURE_FLAG_ORG_OVERRIDES_JSON",
    "entitlements_env": "ENTITLEMENT_ENV_OVERRIDES_JSON",
    "entitlements_org": "ENTITLEMENT_ORG_OVERRIDES_JSON",
}
REALISTIC: dict[str, Any] = {
    "flags_env": {"new_editor": True, "export_limit": 5000},
    "flags_org": {
        "org_acme": {"ai_summaries": True, "export_limit": 20000},
        "org_globex": {"new_editor": False},
    },
    "entitlements_env": {"seat_limit": 40, "features": ["sso"], "usage_caps": {"exports": None}},
    "entitlements_org": {
        "org_acme": {"seat_limit": 60, "features": ["priority_support"], "usage_caps": {"api_calls": 250000}},
        "org_globex": {"seat_limit": 3},
    },
}
FLAG_ITEMS = ["flag ai_summaries", "flag export_limit", "flag new_editor", "drift"]
ENTITLEMENT_ITEMS = [
    "entitlement seat_limit",
    "entitlement features",
    "entitlement usage cap api_calls",
    "entitlement usage cap exports",
]

Service = Callable[[Mapping[str, Any]], Any]


def configure(monkeypatch: pytest.MonkeyPatch, config: Mapping[str, Any]) -> None:
    """Set (or clear) the four override variables from ``config``."""
    for key, variable in VARIABLES.items():
        if key in config:
            monkeypatch.setenv(variable, json.dumps(config[key]))
        else:
            monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def service(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Mapping[str, Any]], Any]:
    """Start the sample service with an override configuration of its own."""

    @contextmanager
    def start(config: Mapping[str, Any]) -> Iterator[str]:
        with monkeypatch.context() as scoped:
            configure(scoped, config)
            settings = load_settings(pyproject=None, options={})
        database = tmp_path_factory.mktemp("sample") / "sample.sqlite3"
        with serving(create_app(settings, database)) as url:
            yield url

    return start


@pytest.fixture
def checks(smoke_project: SmokeProject, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project that declares no smoke endpoints: the override variables alone enable the checks."""
    for variable in VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("SMOKE_ORGANIZATION_ID", "org_acme")
    return smoke_project("")


def run(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest(f"--base-url={url}", "-m", "flags or entitlements", "-p", "no:randomly", *args)


def failed_names(junit: Path) -> list[str]:
    root = ET.parse(junit).getroot()
    return sorted(case.get("name", "") for case in root.iter("testcase") if case.find("failure") is not None)


def test_every_item_passes_when_the_service_resolves_the_same_configuration(
    checks: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, service: Service
) -> None:
    configure(monkeypatch, REALISTIC)
    with service(REALISTIC) as url:
        result = run(checks, url, "-v", "--junitxml=junit.xml")
    result.assert_outcomes(passed=len(FLAG_ITEMS) + len(ENTITLEMENT_ITEMS))
    for name in FLAG_ITEMS:
        result.stdout.fnmatch_lines([f"pyproject.toml::flags::{name} PASSED*"])
    for name in ENTITLEMENT_ITEMS:
        result.stdout.fnmatch_lines([f"pyproject.toml::entitlements::{name} PASSED*"])


def drifted(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    config = json.loads(json.dumps(REALISTIC))
    change(config)
    return config


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
    checks: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    service: Service,
    service_config: dict[str, Any],
    failing: str,
    message: str,
) -> None:
    configure(monkeypatch, REALISTIC)
    with service(service_config) as url:
        result = run(checks, url, "--junitxml=junit.xml")
    result.assert_outcomes(passed=len(FLAG_ITEMS) + len(ENTITLEMENT_ITEMS) - 1, failed=1)
    assert failed_names(checks.path / "junit.xml") == [failing]
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str()


def test_without_overrides_the_items_say_so(
    checks: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, service: Service
) -> None:
    with service({}) as url:
        result = run(checks, url, "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*no overrides configured: set FEATURE_FLAG_ENV_OVERRIDES_JSON or FEATURE_FLAG_ORG_OVERRIDES_JSON*",
            "*no overrides configured: set ENTITLEMENT_ENV_OVERRIDES_JSON or ENTITLEMENT_ORG_OVERRIDES_JSON*",
        ]
    )


def test_without_an_organization_org_overrides_are_skipped_naming_the_variable(
    checks: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, service: Service
) -> None:
    configure(monkeypatch, REALISTIC)
    monkeypatch.delenv("SMOKE_ORGANIZATION_ID")
    with service(REALISTIC) as url:
        result = run(checks, url, "-rs")
    # env flags (new_editor, export_limit) and drift run; the org overrides and entitlements wait for an org
    result.assert_outcomes(passed=3, skipped=1 + 3)
    result.stdout.fnmatch_lines(
        ["*FEATURE_FLAG_ORG_OVERRIDES_JSON is set but needs an organization: set SMOKE_ORGANIZATION_ID*"]
    )


def test_a_service_without_the_endpoint_fails_every_item_with_its_status(
    checks: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, service: Service
) -> None:
    configure(monkeypatch, {"flags_env": {"new_editor": True}})
    (checks.path / "pyproject.toml").write_text(
        (checks.path / "pyproject.toml").read_text() + '\nflags_path = "/api/flags/not-here"\n'
    )
    with service({}) as url:
        result = run(checks, url, "-m", "flags")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["GET /api/flags/not-here answered 404, expected 200*"])
