"""Member endpoints: admins and members are let in; anonymous and invalid-token callers are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promotion.policy.items import policy_checks
from pytest_promotion.sample.app import create_app
from pytest_promotion.sample.auth import Role
from pytest_promotion.sample.server import serving
from pytest_promotion.service.endpoints import PolicyConfig
from pytest_promotion.settings import load_settings
from tests.e2e.conftest import ADMIN_TOKEN, MEMBER_TOKEN, SmokeProject

TEAM = "/api/dashboard/team"


def member_project(smoke_project: SmokeProject) -> pytest.Pytester:
    pytester = smoke_project('endpoints = ["/api/health"]')
    text = (pytester.path / "pyproject.toml").read_text()
    (pytester.path / "pyproject.toml").write_text(text + f'\n[tool.promotion.policy]\nmember = ["{TEAM}"]\n')
    return pytester


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("LAUNCH_MEMBER_BEARER_TOKEN", MEMBER_TOKEN)


def test_a_member_endpoint_plans_four_checks_for_the_launch_gate() -> None:
    checks = policy_checks(PolicyConfig.model_validate({"member": [TEAM]}))
    assert [check.name for check in checks] == [
        f"admin: GET {TEAM}",
        f"member: GET {TEAM}",
        f"anonymous: GET {TEAM}",
        f"invalid-token: GET {TEAM}",
    ]


def test_the_member_policy_holds_on_the_sample(
    smoke_project: SmokeProject, tokens: None, tmp_path: Path
) -> None:
    app = create_app(load_settings(pyproject=None, options={}), tmp_path / "sample.sqlite3")
    with serving(app) as url:
        result = member_project(smoke_project).runpytest("-m", "admin_policy", f"--base-url={url}", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([f"*anonymous: GET {TEAM} PASSED*", f"*invalid-token: GET {TEAM} PASSED*"])


def test_an_anonymous_caller_let_into_a_member_endpoint_fails(
    smoke_project: SmokeProject, tokens: None, tmp_path: Path
) -> None:
    loosened = {TEAM: {Role.ANONYMOUS}}
    app = create_app(load_settings(pyproject=None, options={}), tmp_path / "sample.sqlite3", loosened)
    with serving(app) as url:
        result = member_project(smoke_project).runpytest("-m", "admin_policy", f"--base-url={url}")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [f"*anonymous caller reached a member-only endpoint: GET {TEAM} answered 200*"]
    )
