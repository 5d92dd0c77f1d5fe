"""The root project's seed smoke list, run through pytester against the real sample service."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_SESSION, ADMIN_TOKEN, SmokeProject

ROOT = Path(__file__).resolve().parents[2]
REVISION_WAIT = "wait revision GET /api/health json version.commit"
"""The example waits for the deployed revision (the sample reports ``sample-1``) before its entries."""
SEED_NAMES = [
    "GET /api/health",
    "GET /api/analytics",
    "GET /api/dashboard/home",
    "GET /api/dashboard/feature-flags/resolved",
    "GET /api/dashboard/customer-success/health",
    "GET /api/dashboard/customer-success/renewal-value-report",
    "GET /api/dashboard/ops/diagnostics",
    "GET /api/dashboard/ops/incidents",
    "GET /api/dashboard/security/sessions",
    "GET /api/dashboard/support/impersonation/sessions",
    "GET /api/status/incidents?organization_id={organization_id}",
]


def seed_smoke_table() -> str:
    """The body of the root pyproject's ``[tool.promotion.smoke]`` table, as written."""
    text = (ROOT / "examples" / "storyengine" / "pyproject.toml").read_text()
    body = text.split("[tool.promotion.smoke]\n", 1)[1]
    return body.split("\n[", 1)[0]


@pytest.mark.parametrize("credential", ["bearer", "session"])
def test_seed_list_passes_against_the_sample(
    smoke_project: SmokeProject, sample_url: str, monkeypatch: pytest.MonkeyPatch, credential: str
) -> None:
    if credential == "bearer":
        monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN_TOKEN)
    else:
        monkeypatch.setenv("LAUNCH_ADMIN_SESSION_TOKEN", ADMIN_SESSION)
    monkeypatch.setenv("SMOKE_ORGANIZATION_ID", "org_acme")
    monkeypatch.setenv("SMOKE_EXPECTED_REVISION", "sample-1")
    pytester = smoke_project(seed_smoke_table())
    result = pytester.runpytest("-m", "smoke", f"--base-url={sample_url}", "--junitxml=junit.xml", "-v")
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines([f"*admin {credential}*"])
    cases = ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    names = [case.get("name") for case in cases]
    assert names == [REVISION_WAIT, *SEED_NAMES]
    secret = ADMIN_TOKEN if credential == "bearer" else ADMIN_SESSION
    assert secret not in result.stdout.str()
    assert secret not in (pytester.path / "junit.xml").read_text()


def test_without_credentials_the_admin_endpoints_are_skipped_by_name(
    smoke_project: SmokeProject, sample_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMOKE_BASE_URL", sample_url)
    monkeypatch.setenv("SMOKE_EXPECTED_REVISION", "sample-1")
    pytester = smoke_project(seed_smoke_table())
    result = pytester.runpytest("-m", "smoke", "-rs")
    result.assert_outcomes(passed=8, skipped=4)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]*] pyproject.toml*: needs admin credentials: set LAUNCH_ADMIN_BEARER_TOKEN*",
            "SKIPPED [[]1] pyproject.toml*: needs an organization: set SMOKE_ORGANIZATION_ID",
        ]
    )


def test_budgets_and_latency_properties(smoke_project: SmokeProject, sample_url: str) -> None:
    pytester = smoke_project(seed_smoke_table())
    result = pytester.runpytest("-m", "perf_budget", f"--base-url={sample_url}", "--junitxml=junit.xml")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*endpoint latency*", "*pyproject.toml::perf_budget::GET /api/health*"])
    properties = {
        prop.get("name") for prop in ET.parse(pytester.path / "junit.xml").getroot().iter("property")
    }
    assert {"latency_ms", "budget_ms", "latency_samples_ms"} <= properties


def test_without_a_base_url_every_item_is_skipped_naming_the_options(smoke_project: SmokeProject) -> None:
    pytester = smoke_project(seed_smoke_table())
    result = pytester.runpytest("-m", "smoke", "-rs")
    result.assert_outcomes(skipped=12)  # the revision wait and the 11 entries
    result.stdout.fnmatch_lines(
        ["*needs a base URL: pass --base-url, or set SMOKE_BASE_URL or PYTEST_BASE_URL*"]
    )


def test_users_own_smoke_tests_get_a_client_on_the_base_url(
    smoke_project: SmokeProject, sample_url: str
) -> None:
    pytester = smoke_project('endpoints = ["/api/health"]')
    (pytester.path / "checks" / "test_own.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.smoke\n"
        "def test_home_counts_organizations(promotion_client, base_url):\n"
        '    assert str(promotion_client.base_url).rstrip("/") == base_url\n'
        '    assert promotion_client.get("/api/dashboard/home").json()["organizations"] == 2\n'
    )
    pytester.runpytest("-m", "smoke", f"--base-url={sample_url}").assert_outcomes(passed=2)
    skipped = pytester.runpytest("-m", "smoke", "-rs", "checks")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*needs a base URL: pass --base-url*"])
