"""Each injected fault gives its verdict and message, and no secret reaches stdout or JUnit."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.e2e.conftest import SmokeProject
from tests.e2e.faults import Faults

TOKEN = "tok-SECRET-93f1c0"


def run(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "-m", "smoke or perf_budget", f"--base-url={url}", "--junitxml=junit.xml", *args
    )


def junit(pytester: pytest.Pytester) -> str:
    return (pytester.path / "junit.xml").read_text()


def test_an_error_status_fails_with_method_path_status_and_a_short_body(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    result = run(smoke_project('endpoints = ["/error"]'), url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "GET /error answered 500, expected 200 (* ms, 1 attempt)",
            "body: internal error: xxx*",
            "FAILED pyproject.toml::smoke::GET /error - GET /error answered 500, expected 200",
        ]
    )
    body_line = next(line for line in result.outlines if line.startswith("body: "))
    assert len(body_line) <= len("body: ") + 500
    assert faults.hits["/error"] == 1  # a 500 is not transient: no retry


def test_503_twice_then_200_passes_after_retries(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    pytester = smoke_project('endpoints = ["/flaky"]\nbackoff = 0.01')
    run(pytester, url).assert_outcomes(passed=1)
    assert faults.hits["/flaky"] == 3


def test_503_beyond_the_retries_fails(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    result = run(smoke_project('endpoints = ["/flaky"]\nbackoff = 0.01\nretries = 1'), url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["GET /flaky answered 503, expected 200 (* ms, 2 attempts)"])


def test_a_slow_endpoint_fails_its_budget_showing_every_sample(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    pytester = smoke_project(
        'samples = 3\nendpoints = [{ path = "/slow", params = { ms = 120 }, budget_ms = 50 }]'
    )
    result = run(pytester, url)
    result.assert_outcomes(passed=1, failed=1)  # the smoke item passes; its budget fails
    result.stdout.fnmatch_lines(
        [
            "GET /slow: median * ms over its 50 ms budget",
            "samples (ms): *, *, *; warm-up * ms",
            "*OVER*pyproject.toml::perf_budget::GET /slow?ms=120",
        ]
    )
    assert faults.hits["/slow"] == 1 + 1 + 3  # smoke, warm-up, samples


def test_a_redirect_to_another_host_is_not_followed(
    smoke_project: SmokeProject,
    fault_service: tuple[str, Faults],
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _ = fault_service
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", TOKEN)
    pytester = smoke_project(
        'endpoints = [{ path = "/redirect-away", requires = ["auth"], follow_redirects = true }]'
    )
    result = run(pytester, url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*redirected to another origin (http://127.0.0.1:*); not followed*"])
    assert faults.hits["/redirect-away"] == 1


def test_a_redirect_is_reported_when_the_entry_does_not_follow_it(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    result = run(
        smoke_project(
            'endpoints = ["/redirect-away", { path = "/redirect-away", expect = 302, method = "POST" }]'
        ),
        url,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "GET /redirect-away answered 302, expected 200*",
            "redirect to http://*/ok-elsewhere was not followed*",
        ]
    )


@pytest.mark.parametrize("credential", ["LAUNCH_ADMIN_BEARER_TOKEN", "LAUNCH_ADMIN_SESSION_TOKEN"])
def test_a_body_echoing_the_token_is_scrubbed_everywhere(
    smoke_project: SmokeProject,
    fault_service: tuple[str, Faults],
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
    credential: str,
) -> None:
    url, _ = fault_service
    monkeypatch.setenv(credential, TOKEN)
    pytester = smoke_project('endpoints = [{ path = "/echo-auth", requires = ["auth"] }]')
    pytester.makepyfile(
        test_own=f"""
        import logging
        def test_user_leaks_it():
            print("token is {TOKEN}")
            logging.getLogger("app").warning("sent {TOKEN}")
            assert "{TOKEN}" == "nope"
        """
    )
    result = pytester.runpytest(
        "-m",
        "smoke or not smoke",
        f"--base-url={url}",
        "--junitxml=junit.xml",
        "-rA",
        "test_own.py",
        "pyproject.toml",
    )
    result.assert_outcomes(failed=2, skipped=2)  # skipped: no flag or entitlement overrides configured
    result.stdout.fnmatch_lines(["body: auth=* cookie=*"])
    assert "***" in result.stdout.str()
    assert TOKEN not in result.stdout.str()
    assert TOKEN not in junit(pytester)


def test_an_unreachable_host_fails_after_retries(smoke_project: SmokeProject) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the run: nothing listens there
    result = run(smoke_project('endpoints = ["/api/health"]\nbackoff = 0.01'), f"http://127.0.0.1:{port}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["GET /api/health: no answer: *onnect* (expected 200; * ms, 3 attempts)"])


def test_wait_healthy_fails_its_own_item_and_every_smoke_item_fast(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    pytester = smoke_project('health_path = "/never-healthy"\nendpoints = ["/ok", "/ok/2"]')
    result = run(pytester, url, "--wait-healthy=1")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "http://127.0.0.1:* never became healthy: GET /never-healthy gave no 2xx within 1 s (* attempts; last: answered 503)",
            "FAILED pyproject.toml::smoke::wait healthy GET /never-healthy - *",
            "FAILED pyproject.toml::smoke::GET /ok - GET /ok: not sent*",
        ]
    )
    assert faults.hits["/ok"] == 0


def test_wait_healthy_passes_once_the_service_answers(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    pytester = smoke_project('health_path = "/flaky"\nendpoints = ["/ok"]')
    run(pytester, url, "--wait-healthy=10").assert_outcomes(passed=2)
    assert faults.hits["/flaky"] == 3


def test_requests_go_out_concurrently_and_bounded(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    gather = ", ".join(f'{{ path = "/gather/{n}", params = {{ until = 32 }} }}' for n in range(40))
    run(smoke_project(f"endpoints = [{gather}]"), url).assert_outcomes(passed=40)
    assert faults.max_in_flight == 32  # 32 at once, never more
    faults.reset()
    entries = ", ".join(f'{{ path = "/slow/{n}", params = {{ ms = 150 }} }}' for n in range(40))
    pytester = smoke_project(f"endpoints = [{entries}]")
    run(pytester, url, "--promotion-concurrency=8", "-n", "2").assert_outcomes(passed=40)
    assert 4 <= faults.max_in_flight <= 8  # the two workers share the bound
    faults.reset()
    few = ", ".join(f'{{ path = "/slow/{n}", params = {{ ms = 150 }} }}' for n in range(4))
    one_at_a_time = smoke_project(f"endpoints = [{few}]")  # four suffice to show there is no overlap
    run(one_at_a_time, url, "--promotion-concurrency=1").assert_outcomes(passed=4)
    assert faults.max_in_flight == 1


def test_under_xdist_each_request_is_sent_once(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    entries = ", ".join(f'{{ path = "/slow/{n}", params = {{ ms = 100 }} }}' for n in range(12))
    pytester = smoke_project(f'endpoints = [{entries}, "/error"]')
    result = run(pytester, url, "-n", "2")
    result.assert_outcomes(passed=12, failed=1)
    result.stdout.fnmatch_lines(
        [
            "GET /error answered 500, expected 200*",
            "*endpoint latency*",
            "*1?? ms*pyproject.toml::smoke::GET /slow/*",
        ]
    )
    assert all(faults.hits[f"/slow/{n}"] == 1 for n in range(12))
    assert faults.max_in_flight > 1
    names = Path(pytester.path / "junit.xml").read_text().count("<testcase ")
    assert names == 13


def test_credentials_in_the_base_url_become_basic_auth_and_stay_hidden(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    with_password = url.replace("http://", "http://deploy:pa55-SECRET@")
    pytester = smoke_project('endpoints = ["/echo-auth"]')
    result = run(pytester, with_password)
    result.assert_outcomes(failed=1)
    assert "auth=Basic ***" in result.stdout.str()
    result.stdout.fnmatch_lines(["baseurl: http://deploy:***@127.0.0.1:*"])
    assert "pa55-SECRET" not in result.stdout.str() + junit(pytester)


def test_missing_json_keys_fail(
    smoke_project: SmokeProject, fault_service: tuple[str, Faults], faults: Faults
) -> None:
    url, _ = fault_service
    result = run(smoke_project('endpoints = [{ path = "/ok", json = ["status", "version"] }]'), url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["GET /ok answered 200 without version in its JSON body*"])
