"""Honest retries: a pass that needed retries says so everywhere, and strict mode fails it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SmokeProject
from tests.e2e.faults import Faults

FLAKY = 'backoff = 0.01\nendpoints = ["/flaky", "/ok"]'


def smoke(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-m", "smoke", f"--base-url={url}", "--junitxml=junit.xml", *args)


def test_a_pass_after_retries_says_so_in_the_report_junit_table_and_summary(
    smoke_project: SmokeProject,
    fault_service: tuple[str, Faults],
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _ = fault_service
    pytester = smoke_project(FLAKY)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "summary.md"))
    result = smoke(pytester, url, "-rP")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*promotion*", "GET /flaky passed after 3 attempts (503, 503, 200)"])
    result.stdout.fnmatch_lines(
        [
            "*latency    budget*total  retried*item",
            "* ms  503, 503, 200 *pyproject.toml::smoke::GET /flaky",
        ]
    )
    junit = (pytester.path / "junit.xml").read_text()
    assert '<property name="attempts" value="3"' in junit
    assert '<property name="attempt_statuses" value="503, 503, 200"' in junit
    summary = (pytester.path / "summary.md").read_text()
    assert "| within budget | retried |" in summary
    assert "503, 503, 200 in " in summary


def test_without_retries_the_table_has_no_retried_column(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    result = smoke(smoke_project('endpoints = ["/ok"]'), url)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["  latency    budget        item"])


@pytest.mark.parametrize(
    ("setting", "option"), [("", "--promotion-strict-retries"), ("strict_retries = true\n", "")]
)
def test_strict_retries_fail_a_pass_after_retries(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults, setting: str, option: str
) -> None:
    url, _ = fault_service
    result = smoke(smoke_project(setting + FLAKY), url, *([option] if option else []))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "GET /flaky passed after 3 attempts (503, 503, 200) in * ms; with --promotion-strict-retries"
            " (strict_retries) a pass that needed retries is a failure."
        ]
    )
