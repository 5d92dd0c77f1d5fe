"""Smoke entries with a method, a body, headers, a timeout and a retry rule, against real services."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promotion.sample.server import serving
from tests.e2e.conftest import SmokeProject
from tests.e2e.faults import Faults
from tests.e2e.hostile import Seen, hostile_app
from tests.e2e.test_hostile_service import REPORTS, channels, leaks

API_KEY = "KEY-Sp/ec+ial=Ab12cd"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "smoke.md"


def documented_entry() -> str:
    """The real-world entry of docs/smoke.md, without its ``[tool.promotion.smoke]`` line."""
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("```toml\n[tool.promotion.smoke]\n", 1)[1].split("```", 1)[0]
    return block


FEEDBACK = documented_entry()


def smoke(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-m", "smoke", f"--base-url={url}", "--junitxml=junit.xml", *args)


def test_the_documented_post_with_a_json_body_and_headers_passes(
    smoke_project: SmokeProject, sample_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMOKE_API_KEY", API_KEY)
    result = smoke(smoke_project(FEEDBACK), sample_url, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*smoke::POST /api/feedback PASSED*"])


def test_without_its_header_the_post_fails_naming_the_status(
    smoke_project: SmokeProject, sample_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester = smoke_project(
        'endpoints = [{ path = "/api/feedback", method = "POST", expect = 201, body_json = { message = "hi" } }]'
    )
    result = smoke(pytester, sample_url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*POST /api/feedback answered 401, expected 201*"])


def test_a_text_body_and_an_invalid_json_body_reach_the_service(
    smoke_project: SmokeProject, sample_url: str
) -> None:
    pytester = smoke_project(
        """endpoints = [
  { path = "/api/feedback", method = "POST", expect = 415, body = "plain words", headers = { "X-Api-Key" = "public-demo" } },
  { path = "/api/feedback", method = "PUT", expect = 405 },
  { path = "/api/feedback", method = "PATCH", expect = 405, body_json = [1, 2] },
]"""
    )
    smoke(pytester, sample_url).assert_outcomes(passed=3)


def test_an_empty_message_is_refused_by_the_service(smoke_project: SmokeProject, sample_url: str) -> None:
    pytester = smoke_project(
        'endpoints = [{ path = "/api/feedback", method = "POST", expect = 201, body_json = { message = "" },'
        ' headers = { "X-Api-Key" = "public-demo" } }]'
    )
    result = smoke(pytester, sample_url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*answered 422, expected 201*", "*body: *message must be a non-empty string*"]
    )


def test_a_missing_header_variable_is_a_usage_error_naming_it(
    smoke_project: SmokeProject, sample_url: str
) -> None:
    result = smoke(smoke_project(FEEDBACK), sample_url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*endpoints[[]1[]].headers in *pyproject.toml: header 'X-Api-Key' reads the environment variable "
            "SMOKE_API_KEY, which is not set*"
        ]
    )


def test_timeout_ms_bounds_one_entry(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    pytester = smoke_project(
        'retries = 0\nendpoints = [{ path = "/slow", params = { ms = 1500 }, timeout_ms = 200 }, '
        '{ path = "/slow-fine", params = { ms = 50 }, timeout_ms = 1000 }]'
    )
    result = smoke(pytester, url)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*GET /slow: no answer: read timeout after 0.2 s*"])


def test_a_post_is_not_retried_unless_the_entry_says_so(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    result = smoke(smoke_project('backoff = 0.01\nendpoints = [{ path = "/flaky", method = "POST" }]'), url)
    result.assert_outcomes(failed=1)
    assert faults.hits["/flaky"] == 1
    faults.reset()
    pytester = smoke_project(
        'backoff = 0.01\nendpoints = [{ path = "/flaky", method = "POST", retry = true }]'
    )
    smoke(pytester, url).assert_outcomes(passed=1)
    assert faults.hits["/flaky"] == 3


def test_retry_false_sends_a_get_once(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    result = smoke(smoke_project('backoff = 0.01\nendpoints = [{ path = "/flaky", retry = false }]'), url)
    result.assert_outcomes(failed=1)
    assert faults.hits["/flaky"] == 1


def test_a_secret_header_never_reaches_any_channel(
    smoke_project: SmokeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMOKE_API_KEY", API_KEY)
    pytester = smoke_project(
        """timeout = 2
retries = 0
endpoints = [
  { path = "/echo", method = "POST", body_json = { a = 1 }, headers = { "X-Api-Key" = { env = "SMOKE_API_KEY" } } },
  { path = "/echo-json", headers = { "X-Api-Key" = { env = "SMOKE_API_KEY" } } },
]"""
    )
    seen = Seen()
    with serving(hostile_app(seen)) as url:
        result = pytester.runpytest("-m", "smoke", f"--base-url={url}", *REPORTS)
    result.assert_outcomes(failed=2)
    assert "***" in result.stdout.str()  # the echoed key was there, and scrubbed
    assert leaks(channels(pytester, result), [API_KEY]) == []


def test_the_readme_entry_passes_against_the_sample_as_written(
    smoke_project: SmokeProject, sample_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    entry = readme.split("```toml\n[[tool.promotion.smoke.endpoints]]\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("SMOKE_API_KEY", "readme-key-93e1c0")
    pytester = smoke_project("")
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n\n[[tool.promotion.smoke.endpoints]]\n" + entry)
    result = pytester.runpytest("-m", "smoke", f"--base-url={sample_url}", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["pyproject.toml::smoke::POST /api/feedback PASSED*"])
