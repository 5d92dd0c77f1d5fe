"""--launch-gate: required stages, prerequisites that fail instead of skipping, one verdict block."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_promotion.sample.app import create_app
from pytest_promotion.sample.server import serving
from pytest_promotion.settings import load_settings
from tests.conftest import INIT, add_migration

ADMIN, MEMBER = "gate-admin-1f2e", "gate-member-3d4c"
PROJECT = """[tool.pytest.ini_options]
testpaths = ["checks"]

[tool.promotion]
migrations_dir = "prisma/migrations"

[tool.promotion.smoke]
endpoints = ["/api/health", { path = "/api/dashboard/ops/incidents", requires = ["auth"] }]

[tool.promotion.policy]
admin_only = ["/api/dashboard/ops/incidents"]
"""
VARIABLES = (
    "LAUNCH_POST_DEPLOY_SMOKE",
    "LAUNCH_VALIDATE_ADMIN_CONTROLS",
    "LAUNCH_ADMIN_BEARER_TOKEN",
    "LAUNCH_ADMIN_SESSION_TOKEN",
    "LAUNCH_MEMBER_BEARER_TOKEN",
    "LAUNCH_MEMBER_SESSION_TOKEN",
    "SMOKE_BASE_URL",
    "PYTEST_BASE_URL",
)


@pytest.fixture
def gate(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    pytester.makefile(".toml", pyproject=PROJECT)
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "test_unit.py").write_text("def test_unit():\n    pass\n")
    add_migration(pytester, "20240101000000_init", INIT)
    return pytester


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN)
    monkeypatch.setenv("LAUNCH_MEMBER_BEARER_TOKEN", MEMBER)
    database = tmp_path_factory.mktemp("sample") / "sample.sqlite3"
    with serving(create_app(load_settings(pyproject=None, options={}), database)) as url:
        yield url


def test_without_flags_only_migrations_run_and_the_rest_is_not_required(gate: pytest.Pytester) -> None:
    result = gate.runpytest("--launch-gate")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*launch gate*",
            "  migration safety   passed (1 check)",
            "  post-deploy smoke  not required",
            "  latency budgets    not required",
            "  admin controls     not required",
            "  feature flags      not required",
            "  entitlements       not required",
            "LAUNCH GATE PASSED",
        ]
    )
    assert result.ret == 0


def test_collect_only_fails_the_gate_saying_nothing_ran(gate: pytest.Pytester) -> None:
    result = gate.runpytest("--launch-gate", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "  migration safety   FAILED: 1 of 1 expected checks did not run*",
            "  --collect-only runs no check, so none can pass: run without it for a verdict",
            "LAUNCH GATE FAILED",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize(
    ("smoke", "admin"),
    [("true", "false"), ("false", "YES"), ("1", "1")],
)
def test_required_stages_without_prerequisites_fail_naming_the_variables(
    gate: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, smoke: str, admin: str
) -> None:
    monkeypatch.setenv("LAUNCH_POST_DEPLOY_SMOKE", smoke)
    monkeypatch.setenv("LAUNCH_VALIDATE_ADMIN_CONTROLS", admin)
    result = gate.runpytest("--launch-gate", "-rs")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert ("smoke stage is required and needs a base URL" in out) == (smoke in {"true", "1"})
    assert ("admin controls stage is required and needs member credentials" in out) == (admin in {"YES", "1"})
    if admin in {"YES", "1"}:
        result.stdout.fnmatch_lines(
            ["*needs admin credentials: set LAUNCH_ADMIN_BEARER_TOKEN or LAUNCH_ADMIN_SESSION_TOKEN*"]
        )
    result.stdout.fnmatch_lines(["LAUNCH GATE FAILED"])
    assert "test_unit" not in out


@pytest.mark.parametrize(("smoke", "admin"), [("true", "false"), ("false", "true"), ("true", "true")])
def test_required_stages_pass_against_the_sample(
    gate: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, service: str, smoke: str, admin: str
) -> None:
    monkeypatch.setenv("LAUNCH_POST_DEPLOY_SMOKE", smoke)
    monkeypatch.setenv("LAUNCH_VALIDATE_ADMIN_CONTROLS", admin)
    result = gate.runpytest("--launch-gate", f"--base-url={service}", "--junitxml=junit.xml")
    expected = 1 + (2 if smoke == "true" else 0) + (4 if admin == "true" else 0)
    result.assert_outcomes(passed=expected)
    result.stdout.fnmatch_lines(["LAUNCH GATE PASSED"])
    for token in (ADMIN, MEMBER):
        assert token not in result.stdout.str() + (gate.path / "junit.xml").read_text()


def test_marks_still_select_inside_a_gate_run(
    gate: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    monkeypatch.setenv("LAUNCH_POST_DEPLOY_SMOKE", "true")
    result = gate.runpytest("--launch-gate", f"--base-url={service}", "-m", "smoke")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "  migration safety   FAILED: 1 of 1 expected checks did not run (deselected: 20240101000000_init)",
            "  post-deploy smoke  passed (2 checks)",
            "LAUNCH GATE FAILED",
        ]
    )


def test_a_bad_flag_value_is_a_usage_error(gate: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAUNCH_POST_DEPLOY_SMOKE", "sometimes")
    result = gate.runpytest("--launch-gate")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*environment variable LAUNCH_POST_DEPLOY_SMOKE: must be true/false, 1/0 or yes/no*"]
    )


def test_the_verdict_is_the_same_under_xdist(
    gate: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    monkeypatch.setenv("LAUNCH_POST_DEPLOY_SMOKE", "true")
    monkeypatch.setenv("LAUNCH_VALIDATE_ADMIN_CONTROLS", "true")
    result = gate.runpytest("--launch-gate", f"--base-url={service}", "-n", "2")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(
        [
            "  migration safety   passed (1 check)",
            "  post-deploy smoke  passed (2 checks)",
            "  admin controls     passed (4 checks)",
            "LAUNCH GATE PASSED",
        ]
    )


def test_with_a_base_url_only_the_missing_credentials_fail(
    gate: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    monkeypatch.delenv("LAUNCH_MEMBER_BEARER_TOKEN")
    monkeypatch.setenv("LAUNCH_ADMIN_SESSION_TOKEN", "also-set-9z")
    monkeypatch.setenv("LAUNCH_VALIDATE_ADMIN_CONTROLS", "true")
    result = gate.runpytest("--launch-gate", f"--base-url={service}", "-rs")
    result.assert_outcomes(
        passed=4, failed=1, skipped=1
    )  # migration, admin/anonymous/invalid; member skipped
    result.stdout.fnmatch_lines(
        [
            "*credentials: admin bearer (session token also set; bearer wins)*",
            "_* admin_policy needs member credentials _*",
            "launch gate: the admin controls stage is required and needs member credentials: "
            "set LAUNCH_MEMBER_BEARER_TOKEN or LAUNCH_MEMBER_SESSION_TOKEN",
            "  admin controls     FAILED: needs member credentials: set LAUNCH_MEMBER_BEARER_TOKEN or "
            "LAUNCH_MEMBER_SESSION_TOKEN; 1 of 4 expected checks did not run (skipped (needs member "
            "credentials): member: GET /api/dashboard/ops/incidents)",
        ]
    )
    assert "also-set-9z" not in result.stdout.str()


def test_declared_budgets_and_overrides_join_the_post_deploy_stage(
    gate: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (gate.path / "pyproject.toml").read_text()
    gate.path.joinpath("pyproject.toml").write_text(
        text.replace('endpoints = ["/api/health",', 'endpoints = [{ path = "/api/health", budget_ms = 300 },')
    )
    monkeypatch.setenv("LAUNCH_POST_DEPLOY_SMOKE", "true")
    monkeypatch.setenv("FEATURE_FLAG_ENV_OVERRIDES_JSON", '{"new_editor": true}')
    monkeypatch.delenv("ENTITLEMENT_ENV_OVERRIDES_JSON", raising=False)
    monkeypatch.delenv("ENTITLEMENT_ORG_OVERRIDES_JSON", raising=False)
    result = gate.runpytest("--launch-gate", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "launch gate: the latency budgets stage is required and needs a base URL*",
            "launch gate: the feature flags stage is required and needs a base URL*",
            "  entitlements       nothing configured",
            "LAUNCH GATE FAILED",
        ],
        consecutive=False,
    )
