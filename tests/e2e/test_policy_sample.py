"""The access-policy matrix against the sample service, with its policy intact and broken."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_promotion.sample.app import create_app
from pytest_promotion.sample.auth import Role
from pytest_promotion.sample.server import serving
from pytest_promotion.settings import load_settings
from tests.e2e.conftest import ADMIN_SESSION, ADMIN_TOKEN, MEMBER_TOKEN, SmokeProject

ROOT = Path(__file__).resolve().parents[2]
MEMBER_SESSION = "sess-member-9a8b7c"


def policy_table() -> str:
    """The root pyproject's ``[tool.promotion.policy]`` body, as written."""
    body = (
        (ROOT / "examples" / "storyengine" / "pyproject.toml")
        .read_text()
        .split("[tool.promotion.policy]\n", 1)[1]
    )
    return body.split("\n[", 1)[0]


def project(smoke_project: SmokeProject) -> pytest.Pytester:
    pytester = smoke_project('endpoints = ["/api/health"]')
    text = (pytester.path / "pyproject.toml").read_text()
    (pytester.path / "pyproject.toml").write_text(text + "\n[tool.promotion.policy]\n" + policy_table())
    return pytester


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("LAUNCH_ADMIN_SESSION_TOKEN", ADMIN_SESSION)
    monkeypatch.setenv("LAUNCH_MEMBER_BEARER_TOKEN", MEMBER_TOKEN)
    monkeypatch.setenv("LAUNCH_MEMBER_SESSION_TOKEN", MEMBER_SESSION)


@pytest.fixture
def broken_sample(tokens: None, tmp_path: Path) -> Iterator[str]:
    """The sample with a member let into incidents and anonymous callers into sessions."""
    loosened = {
        "/api/dashboard/ops/incidents": {Role.MEMBER},
        "/api/dashboard/security/sessions": {Role.ANONYMOUS},
    }
    app = create_app(load_settings(pyproject=None, options={}), tmp_path / "sample.sqlite3", loosened)
    with serving(app) as url:
        yield url


def test_the_policy_holds_on_the_sample(smoke_project: SmokeProject, tokens: None, tmp_path: Path) -> None:
    # Same tokens in the service and the checks; the session variant is tested below.
    app = create_app(load_settings(pyproject=None, options={}), tmp_path / "sample.sqlite3")
    pytester = project(smoke_project)
    with serving(app) as url:
        result = pytester.runpytest("-m", "admin_policy", f"--base-url={url}", "--junitxml=junit.xml")
    result.assert_outcomes(passed=12)
    names = [case.get("name") for case in ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")]
    assert names[:4] == [
        "admin: GET /api/dashboard/ops/incidents",
        "member: GET /api/dashboard/ops/incidents",
        "anonymous: GET /api/dashboard/ops/incidents",
        "invalid-token: GET /api/dashboard/ops/incidents",
    ]
    for token in (ADMIN_TOKEN, MEMBER_TOKEN):
        assert token not in result.stdout.str() + (pytester.path / "junit.xml").read_text()


def test_session_tokens_are_sent_as_the_cookie(
    smoke_project: SmokeProject, tokens: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = create_app(load_settings(pyproject=None, options={}), tmp_path / "sample.sqlite3")
    monkeypatch.delenv("LAUNCH_ADMIN_BEARER_TOKEN")
    monkeypatch.delenv("LAUNCH_MEMBER_BEARER_TOKEN")
    pytester = project(smoke_project)
    with serving(app) as url:
        result = pytester.runpytest("-m", "admin_policy", f"--base-url={url}")
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(["*credentials: admin session, member session*"])


def test_a_broken_policy_fails_exactly_those_items(smoke_project: SmokeProject, broken_sample: str) -> None:
    pytester = project(smoke_project)
    result = pytester.runpytest("-m", "admin_policy", f"--base-url={broken_sample}", "--junitxml=junit.xml")
    result.assert_outcomes(passed=10, failed=2)
    result.stdout.fnmatch_lines(
        [
            "member reached an admin-only endpoint: GET /api/dashboard/ops/incidents answered 200 (* ms)",
            "*must refuse a member with 403. Do not promote this build.",
            "anonymous caller reached an admin-only endpoint: GET /api/dashboard/security/sessions answered 200*",
        ]
    )
    failed = sorted(line.split(" - ")[0] for line in result.outlines if line.startswith("FAILED "))
    assert failed == [
        "FAILED pyproject.toml::admin_policy::anonymous: GET /api/dashboard/security/sessions",
        "FAILED pyproject.toml::admin_policy::member: GET /api/dashboard/ops/incidents",
    ]
    output = result.stdout.str() + (pytester.path / "junit.xml").read_text()
    assert ADMIN_TOKEN not in output
    assert MEMBER_TOKEN not in output


def test_missing_member_credentials_skip_naming_the_variables(
    smoke_project: SmokeProject, monkeypatch: pytest.MonkeyPatch, sample_url: str
) -> None:
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN_TOKEN)
    pytester = project(smoke_project)
    result = pytester.runpytest("-m", "admin_policy", f"--base-url={sample_url}", "-rs")
    result.assert_outcomes(passed=9, skipped=3)
    result.stdout.fnmatch_lines(
        ["*needs member credentials: set LAUNCH_MEMBER_BEARER_TOKEN or LAUNCH_MEMBER_SESSION_TOKEN*"]
    )


def test_credentials_never_go_to_a_non_loopback_http_url(smoke_project: SmokeProject, tokens: None) -> None:
    pytester = project(smoke_project)
    result = pytester.runpytest("-m", "admin_policy", "--base-url=http://staging.example.com")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*plain http to a non-loopback host*--promotion-allow-insecure-http*"])
    collected = pytester.runpytest(
        "-m",
        "admin_policy",
        "--co",
        "--base-url=http://staging.example.com",
        "--promotion-allow-insecure-http",
    )
    assert collected.ret == pytest.ExitCode.TESTS_FAILED  # configured, no usage error; but no check ran
    collected.stdout.fnmatch_lines(["admin controls FAILED: --collect-only runs no check*"])


def test_role_fixtures_for_users_own_policy_tests(
    smoke_project: SmokeProject, tokens: None, tmp_path: Path
) -> None:
    pytester = project(smoke_project)
    (pytester.path / "checks" / "test_own.py").write_text(
        "def test_roles(admin_client, member_client, anonymous_client):\n"
        "    path = '/api/dashboard/support/impersonation/sessions'\n"
        "    assert admin_client.get(path).status_code == 200\n"
        "    assert member_client.get(path).status_code == 403\n"
        "    assert anonymous_client.get(path).status_code == 401\n"
    )
    app = create_app(load_settings(pyproject=None, options={}), tmp_path / "sample.sqlite3")
    with serving(app) as url:
        pytester.runpytest("checks", f"--base-url={url}").assert_outcomes(passed=1)
