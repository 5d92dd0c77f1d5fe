"""Bad smoke configuration is one usage error naming the entry, field, variable or option."""

from __future__ import annotations

import pytest

PROJECT = '[tool.pytest.ini_options]\ntestpaths = ["checks"]\n\n[tool.promotion.smoke]\n{smoke}\n'


@pytest.fixture
def smoke(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in ("SMOKE_BASE_URL", "PYTEST_BASE_URL", "LAUNCH_ADMIN_BEARER_TOKEN", "SMOKE_ORGANIZATION_ID"):
        monkeypatch.delenv(name, raising=False)
    (pytester.path / "checks").mkdir()
    return pytester


def write(pytester: pytest.Pytester, smoke: str, extra: str = "") -> None:
    pytester.makefile(".toml", pyproject=PROJECT.format(smoke=smoke) + extra)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            '["/ok", { path = "/a", expect = "ok" }]',
            "*[[]tool.promotion.smoke[]] endpoints[[]1[]].expect*: must be a status code or a list of them*",
        ),
        (
            '["/ok", { path = "/a", metod = "GET" }]',
            "*[[]tool.promotion.smoke[]] endpoints[[]1[]] in *pyproject.toml has an unknown key 'metod'*",
        ),
        ('["api/health"]', "*endpoints[[]0[]].path*must be a path starting with '/'*"),
        ('[{ path = "/a", method = "FETCH" }]', "*endpoints[[]0[]].method*must be one of GET*"),
        (
            '[{ path = "/a", requires = ["admin"] }]',
            "*endpoints[[]0[]].requires[[]0[]]*'auth' or 'organization_id'*",
        ),
        ('[{ path = "/a", params = { o = "{org}" } }]', "*only placeholder is {organization_id}*"),
        ('["/a", "/a"]', "*endpoints*lists 'GET /a' more than once*"),
        ('[{ path = "/a", budget_ms = 0 }]', "*endpoints[[]0[]].budget_ms*greater than 0*"),
    ],
)
def test_a_malformed_entry_names_its_index_and_field(
    smoke: pytest.Pytester, entries: str, message: str
) -> None:
    write(smoke, f"endpoints = {entries}")
    result = smoke.runpytest("-m", "smoke")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("url", ["ftp://host/x", "127.0.0.1:8000", "https://", "http://host:99999"])
def test_a_base_url_without_http_scheme_or_host_is_a_usage_error(smoke: pytest.Pytester, url: str) -> None:
    write(smoke, 'endpoints = ["/ok"]')
    result = smoke.runpytest("-m", "smoke", f"--base-url={url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--base-url: the base URL * is not an http(s) URL with a host*"])


def test_smoke_base_url_names_itself_and_hides_its_password(
    smoke: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(smoke, 'endpoints = ["/ok"]')
    monkeypatch.setenv("SMOKE_BASE_URL", "ftp://u:hunter2@host")
    result = smoke.runpytest("-m", "smoke")
    result.stderr.fnmatch_lines(["*SMOKE_BASE_URL: the base URL 'ftp://u:***@host'*"])
    assert "hunter2" not in result.stderr.str()


def test_base_url_precedence(smoke: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    smoke.makefile(
        ".toml",
        pyproject=PROJECT.format(smoke='endpoints = ["/ok"]').replace(
            'testpaths = ["checks"]', 'testpaths = ["checks"]\nbase_url = "http://from-ini.test"'
        ),
    )
    assert "smoke http://from-ini.test (ini base_url)" in smoke.runpytest("-m", "smoke", "--co").stdout.str()
    monkeypatch.setenv("SMOKE_BASE_URL", "http://from-smoke.test")
    assert (
        "smoke http://from-smoke.test (SMOKE_BASE_URL)" in smoke.runpytest("-m", "smoke", "--co").stdout.str()
    )
    monkeypatch.setenv("PYTEST_BASE_URL", "http://from-pytest.test")
    assert "(PYTEST_BASE_URL)" in smoke.runpytest("-m", "smoke", "--co").stdout.str()
    out = smoke.runpytest("-m", "smoke", "--co", "--base-url=http://given.test").stdout.str()
    assert "smoke http://given.test (--base-url)" in out


def test_a_token_written_in_pyproject_is_refused(smoke: pytest.Pytester) -> None:
    smoke.makefile(
        ".toml",
        pyproject=PROJECT.format(smoke='endpoints = ["/ok"]').replace(
            "[tool.promotion.smoke]", '[tool.promotion]\nadmin_bearer_token = "abc"\n\n[tool.promotion.smoke]'
        ),
    )
    result = smoke.runpytest("-m", "smoke")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is read from the environment only*set LAUNCH_ADMIN_BEARER_TOKEN instead*"])


def test_an_empty_token_variable_counts_as_unset(
    smoke: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(smoke, 'endpoints = [{ path = "/ok", requires = ["auth"] }]')
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", "")
    result = smoke.runpytest("-m", "smoke", "--base-url=http://127.0.0.1:9", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs admin credentials: set LAUNCH_ADMIN_BEARER_TOKEN*"])


def test_options_are_validated_like_the_table(smoke: pytest.Pytester) -> None:
    write(smoke, 'endpoints = ["/ok"]')
    result = smoke.runpytest("-m", "smoke", "--promotion-concurrency=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*option --promotion-concurrency: Input should be greater than or equal to 1*"]
    )


def test_items_are_named_by_method_and_path_in_the_written_order(smoke: pytest.Pytester) -> None:
    write(
        smoke,
        'default_budget_ms = 500\nendpoints = ["/b", { path = "/a", method = "post" }, '
        '{ path = "/s", params = { organization_id = "{organization_id}", page = 2 } }]',
    )
    (smoke.path / "checks" / "test_app.py").write_text("def test_app():\n    pass\n")
    result = smoke.runpytest("--co", "-q", "-m", "smoke or perf_budget")
    result.stdout.fnmatch_lines(
        [
            "pyproject.toml::smoke::GET /b",
            "pyproject.toml::smoke::POST /a",
            "pyproject.toml::smoke::GET /s?organization_id={organization_id}&page=2",
            "pyproject.toml::perf_budget::GET /b",
            "pyproject.toml::perf_budget::POST /a",
            "pyproject.toml::perf_budget::GET /s?organization_id={organization_id}&page=2",
        ]
    )
