"""Secrets never leak and credentials never stray, against a hostile service on 127.0.0.1.

Every channel a run writes — stdout, stderr, JUnit, the log file, the step summary, the migrations
report and a pytest-html report, with ``-rA -vv --tb=long -l`` — is searched for every token and
password in every form (raw, repr- and JSON-escaped, percent-encoded in both hex cases, base64).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest

from pytest_promotion.sample.server import serving
from tests.conftest import INIT, add_migration
from tests.e2e.hostile import COOKIE, OFREP_KEY, Capture, Seen, capture_server, hostile_app

ADMIN = "ADMTOK-Sp/ec+ial=Zq9w"
MEMBER = "MEMTOK-x/y+z=Kd3pQ"
PASSWORD = "PW-Sp/ec+ial=Hh42"
DB_PASSWORD = "DBPW-q/r+s=Tt88"
VARIABLES = (
    "LAUNCH_ADMIN_BEARER_TOKEN",
    "LAUNCH_ADMIN_SESSION_TOKEN",
    "LAUNCH_MEMBER_BEARER_TOKEN",
    "LAUNCH_MEMBER_SESSION_TOKEN",
    "LAUNCH_POST_DEPLOY_SMOKE",
    "LAUNCH_VALIDATE_ADMIN_CONTROLS",
    "SMOKE_BASE_URL",
    "PYTEST_BASE_URL",
    "SMOKE_ORGANIZATION_ID",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)
PROJECT = """[tool.pytest.ini_options]
testpaths = ["checks"]

[tool.promotion]
migrations_dir = "prisma/migrations"

[tool.promotion.smoke]
timeout = 2
retries = 1
backoff = 0.05
endpoints = [
  { path = "/echo", requires = ["auth"] },
  { path = "/echo-json", requires = ["auth"] },
  "/retry-after",
  "/trickle",
  "/big",
]

[tool.promotion.policy]
admin_only = ["/echo", "/admin"]
"""


def secret_forms(value: str) -> set[str]:
    """Every form of ``value`` that must never appear, worked out here independently of the scrubber."""
    raw = value.encode()
    found = {value, repr(value)[1:-1], json.dumps(value)[1:-1], quote(value), quote_plus(value)}
    for form in (quote(value, safe=""), quote_plus(value)):
        found |= {form, re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), form)}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        found.add(encode(raw).decode())
        for offset in range(3):  # inside a longer base64 text, at each alignment
            text = encode(b"\0" * offset + raw).decode()
            found.add(text[-(-4 * offset // 3) : ((offset + len(raw)) // 3) * 4])
    return {form for form in found if len(form) >= 8}


def leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    return [
        f"{form!r} ({secret[:3]}…) in {channel}"
        for secret in secrets
        for form in secret_forms(secret)
        for channel, text in texts.items()
        if form in text
    ]


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Seen]]:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    seen = Seen()
    with serving(hostile_app(seen)) as url:
        yield url, seen


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", pyproject=PROJECT)
    (pytester.path / "checks").mkdir()
    add_migration(pytester, "20240101000000_init", INIT)
    add_migration(pytester, "20240201000000_purge", f'DELETE FROM "User" WHERE "bio" = \'{ADMIN}\';\n')
    return pytester


def channels(pytester: pytest.Pytester, result: pytest.RunResult) -> dict[str, str]:
    found = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    for name in ("junit.xml", "run.log", "summary.md", "report.json", "report.html"):
        path = pytester.path / name
        found[name] = path.read_text(encoding="utf-8") if path.exists() else ""
    return found


REPORTS = ("-rA", "-vv", "--tb=long", "-l", "--junitxml=junit.xml", "--log-file=run.log", "--log-level=DEBUG")
HTML = (
    "-p",
    "metadata",
    "-p",
    "html",
    "--html=report.html",
)  # by their entry-point names, as users have them


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_no_token_reaches_any_channel(
    project: pytest.Pytester,
    hostile: tuple[str, Seen],
    monkeypatch: pytest.MonkeyPatch,
    workers: list[str],
) -> None:
    url, _ = hostile
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN)
    monkeypatch.setenv("LAUNCH_MEMBER_BEARER_TOKEN", MEMBER)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:{quote(DB_PASSWORD, safe='')}@127.0.0.1:5432/app")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project.path / "summary.md"))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    (project.path / "summary.md").write_text("")
    result = project.runpytest(
        f"--base-url={url}", *REPORTS, *HTML, "--migrations-report=report.json", *workers
    )
    texts = channels(project, result)
    assert "pyproject.toml::smoke::GET /echo" in texts["stdout"]  # the checks ran and failed on the echo
    assert "GET /echo answered 500" in texts["stdout"]
    assert "Environment" in texts["report.html"] or "environment" in texts["report.html"].lower()
    assert leaks(texts, [ADMIN, MEMBER, DB_PASSWORD]) == []
    assert "Traceback" not in texts["stdout"] + texts["junit.xml"]
    assert "GET /trickle: no complete answer within 2 s" in texts["stdout"]
    assert "GET /big: answered 200 with a body over 1,048,576 bytes" in texts["stdout"]
    assert "GET /retry-after answered 503, expected 200 (" in texts["stdout"]


@pytest.mark.parametrize("path", ["/ofrep-echo", "/ofrep-refuse"])
def test_no_token_an_ofrep_flag_service_echoes_reaches_any_channel(
    pytester: pytest.Pytester, hostile: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    url, seen = hostile
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN)
    monkeypatch.setenv("FEATURE_FLAG_ENV_OVERRIDES_JSON", '{"new_editor": true, "old": 1}')
    pytester.makefile(
        ".toml",
        pyproject=f'[tool.promotion.smoke]\nflag_source = "ofrep"\nflags_path = "{path}"\ntimeout = 2\n',
    )
    result = pytester.runpytest(f"--base-url={url}", "-m", "flags", *REPORTS, *HTML)
    result.assert_outcomes(failed=3)  # new_editor, old and drift (beta is targeted) — or all three refused
    assert [seen_path for seen_path, _ in seen.cookies].count(path) == 1  # asked once, not per item
    texts = channels(pytester, result)
    assert leaks(texts, [ADMIN]) == []
    assert "Traceback" not in texts["stdout"] + texts["junit.xml"]


@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
def test_flags_headers_carry_a_flag_services_own_key_and_never_show_it(
    pytester: pytest.Pytester, hostile: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch, keyed: bool
) -> None:
    url, _ = hostile
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN)
    monkeypatch.setenv("OFREP_API_KEY", OFREP_KEY if keyed else "not-the-key-51")
    monkeypatch.setenv("FEATURE_FLAG_ENV_OVERRIDES_JSON", '{"new_editor": true}')
    headers = 'flags_headers = { "X-API-Key" = { env = "OFREP_API_KEY" } }'
    pytester.makefile(
        ".toml",
        pyproject=f'[tool.promotion.smoke]\nflag_source = "ofrep"\nflags_path = "/ofrep-keyed"\n{headers}\n',
    )
    result = pytester.runpytest(f"--base-url={url}", "-m", "flags", *REPORTS, *HTML)
    if keyed:
        result.assert_outcomes(passed=2)
    else:
        result.assert_outcomes(failed=2)
        result.stdout.fnmatch_lines(["POST /ofrep-keyed answered 401: bad key *, expected 200"])
    assert leaks(channels(pytester, result), [ADMIN, OFREP_KEY, "not-the-key-51"]) == []


def test_no_base_url_password_reaches_any_channel(
    project: pytest.Pytester, hostile: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = hostile
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project.path / "summary.md"))
    (project.path / "summary.md").write_text("")
    with_password = url.replace("http://", f"http://deploy:{quote(PASSWORD, safe='')}@")
    result = project.runpytest(f"--base-url={with_password}", *REPORTS, *HTML)
    texts = channels(project, result)
    assert "Base URL" in texts["report.html"]  # pytest-base-url's metadata, shown scrubbed
    assert leaks(texts, [PASSWORD]) == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("NLTOK-f00d\n", "has leading or trailing whitespace"),
        (" NLTOK-f00d", "has leading or trailing whitespace"),
        ("NLTOK-fööd", "non-ASCII"),
        ("NLTOK-f0\x07d", "control character"),
    ],
)
def test_a_malformed_token_is_a_usage_error_that_never_shows_it(
    project: pytest.Pytester,
    hostile: tuple[str, Seen],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    problem: str,
) -> None:
    url, _ = hostile
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", value)
    result = project.runpytest(f"--base-url={url}", "-m", "smoke")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "environment variable LAUNCH_ADMIN_BEARER_TOKEN" in err
    assert problem in err
    assert "NLTOK" not in err + result.stdout.str()


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("PROMOTION_SMOKE__TIMEOUT", "inf", "PROMOTION_SMOKE__TIMEOUT"),
        ("PROMOTION_SMOKE__TIMEOUT", "nan", "PROMOTION_SMOKE__TIMEOUT"),
    ],
)
def test_an_unbounded_timeout_is_a_usage_error(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = project.runpytest("-m", "smoke")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert named in result.stderr.str()


def test_a_deny_list_that_lets_a_caller_in_is_a_usage_error(project: pytest.Pytester) -> None:
    path = project.path / "pyproject.toml"
    path.write_text(path.read_text() + "\nmember_deny = [403, 200]\n")
    result = project.runpytest("-m", "admin_policy")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*member_deny*lists 200, which is not a refusal*"])


def test_a_base_url_with_surrounding_whitespace_works(
    project: pytest.Pytester, hostile: tuple[str, Seen]
) -> None:
    url, _ = hostile
    result = project.runpytest(f"--base-url=  {url}\n", "-m", "smoke", "-k", "big or trickle or retry")
    assert "missing an 'http://' protocol" not in result.stdout.str()
    result.assert_outcomes(failed=3)


# Credentials that must not go where they should not: a capture server on 127.0.0.2 proves it.


@pytest.fixture
def capture(hostile: tuple[str, Seen]) -> Iterator[Capture]:
    with capture_server() as found:
        yield found


def assert_nothing_secret(capture: Capture) -> None:
    received = bytes(capture.received).decode("latin-1")
    assert [
        form for secret in (ADMIN, MEMBER, PASSWORD) for form in secret_forms(secret) if form in received
    ] == []


@pytest.mark.parametrize("host", ["127.attacker.invalid", "localhost.attacker.invalid", "127.0.0.1.nip.io"])
def test_a_name_that_looks_like_loopback_gets_no_token(
    project: pytest.Pytester, capture: Capture, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN)
    monkeypatch.setenv("HTTP_PROXY", capture.url)  # anything sent anywhere would reach the capture server
    result = project.runpytest(f"--base-url=http://{host}:{capture.port}", "-m", "smoke")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is plain http to a non-loopback host, and credentials are configured*"])
    assert_nothing_secret(capture)


def test_a_url_password_is_never_sent_over_plain_http_to_another_host(
    project: pytest.Pytester, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", capture.url)
    result = project.runpytest(
        f"--base-url=http://deploy:{quote(PASSWORD, safe='')}@app.invalid", "-m", "smoke"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is plain http to a non-loopback host, and the URL carries a password*"])
    assert PASSWORD not in result.stderr.str()
    assert_nothing_secret(capture)


def test_a_proxy_never_sees_credentials_sent_over_plain_http(
    project: pytest.Pytester, hostile: tuple[str, Seen], capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = hostile
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN)
    monkeypatch.setenv("LAUNCH_MEMBER_BEARER_TOKEN", MEMBER)
    for name in ("HTTP_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, capture.url)
    url, seen = hostile
    result = project.runpytest(f"--base-url={url}", "-m", "admin_policy")
    result.assert_outcomes(passed=2, failed=6)  # the echo fails every role; the service got the requests
    assert len(seen.cookies) == 8  # sent straight to the service …
    assert capture.received == bytearray()  # … and nothing through the proxy


def test_url_credentials_and_role_tokens_are_refused_together(
    project: pytest.Pytester, hostile: tuple[str, Seen], capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = hostile
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN)
    with_password = url.replace("http://", f"http://u:{quote(PASSWORD, safe='')}@")
    result = project.runpytest(f"--base-url={with_password}", "-m", "smoke")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*carries user:password credentials, and LAUNCH_*_TOKEN credentials are set too*"]
    )
    assert seen.cookies == []  # nothing was sent at all
    assert PASSWORD not in result.stderr.str()


def test_a_cookie_the_service_sets_never_reaches_another_role(
    project: pytest.Pytester, hostile: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = hostile
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN)
    monkeypatch.setenv("LAUNCH_MEMBER_BEARER_TOKEN", MEMBER)
    path = project.path / "pyproject.toml"
    text = path.read_text().replace('  "/retry-after",\n  "/trickle",\n  "/big",\n', '  "/set-cookie",\n')
    path.write_text(text.replace('admin_only = ["/echo", "/admin"]', 'admin_only = ["/admin"]'))
    result = project.runpytest(f"--base-url={url}", "-m", "smoke or admin_policy", "-p", "no:randomly")
    assert any(p == "/set-cookie" for p, _ in seen.cookies)  # the cookie was offered
    assert [(p, c) for p, c in seen.cookies if COOKIE.split("=")[1] in c] == []
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the echo entries fail, the rest pass
