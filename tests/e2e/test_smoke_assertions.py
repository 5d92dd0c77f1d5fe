"""Response assertions — JSON values, headers, body text — passing and failing against the sample."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SmokeProject


def smoke(pytester: pytest.Pytester, url: str) -> pytest.RunResult:
    return pytester.runpytest("-m", "smoke", f"--base-url={url}", "-rA")


def test_every_assertion_kind_passes_when_the_answer_holds_it(
    smoke_project: SmokeProject, sample_url: str
) -> None:
    pytester = smoke_project(
        """endpoints = [
  { path = "/api/health", json = { status = "ok", database = "re:^o.$" }, headers_expect = { "Content-Type" = "application/json*" }, body_contains = ["status", "ok"] },
  { path = "/api/feedback", method = "POST", expect = 201, body_json = { message = "seventeen chars!!" }, headers = { "X-Api-Key" = "demo", "X-Client" = "smoke" }, json = { "feedback.length" = 17, "feedback.message" = "re:^seventeen", client = "smoke" }, headers_expect = { "x-feedback-id" = "fb_*" } },
  { path = "/api/dashboard/customer-success/health", json = { "accounts.0.id" = "re:^org_" } },
]"""
    )
    smoke(pytester, sample_url).assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("entry", "lines"),
    [
        (
            'json = { status = "degraded" }',
            [
                "GET /api/health answered 200 (* ms, 1 attempt), but:",
                '  json status: expected "degraded", got "ok"',
            ],
        ),
        ('json = { "checks.db" = "up" }', ['*json checks.db: missing, expected "up"*']),
        ('json = { status = "re:^fail" }', ['*json status: expected a match for /^fail/, got "ok"*']),
        ("json = { status = true }", ['*json status: expected true, got "ok"*']),
        (
            'headers_expect = { "content-type" = "text/html*" }',
            ["*header content-type: expected 'text/html*', got 'application/json'*"],
        ),
        ('headers_expect = { "X-Cache" = "*" }', ["*header X-Cache: missing, expected '*'*"]),
        ('body_contains = "healthy"', ["*body does not contain 'healthy'*", '*body: {"status":"ok"*']),
    ],
)
def test_each_assertion_kind_fails_showing_path_expected_and_actual(
    smoke_project: SmokeProject, sample_url: str, entry: str, lines: list[str]
) -> None:
    pytester = smoke_project(f'endpoints = [{{ path = "/api/health", {entry} }}]')
    result = smoke(pytester, sample_url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(lines)


def test_a_bad_regular_expression_is_a_usage_error_naming_the_entry(
    smoke_project: SmokeProject, sample_url: str
) -> None:
    pytester = smoke_project('endpoints = ["/a", { path = "/api/health", json = { status = "re:(" } }]')
    result = smoke(pytester, sample_url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*endpoints[[]1[]].json_values*'re:(' is not a valid regular expression*"])


def test_the_latency_table_shows_the_entry_budget_under_smoke(
    smoke_project: SmokeProject, sample_url: str
) -> None:
    pytester = smoke_project(
        'default_budget_ms = 7000\nendpoints = [{ path = "/api/health", budget_ms = 5000 }, "/api/analytics"]'
    )
    result = pytester.runpytest("-m", "smoke", f"--base-url={sample_url}", "--junitxml=junit.xml")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*ms   5000 ms        pyproject.toml::smoke::GET /api/health"])
    result.stdout.fnmatch_lines(["*ms   7000 ms        pyproject.toml::smoke::GET /api/analytics"])
    assert '<property name="budget_ms" value="5000.0"' in (pytester.path / "junit.xml").read_text()
