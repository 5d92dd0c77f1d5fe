"""GITHUB_STEP_SUMMARY: one appended Markdown block per run, with xdist too, and never a secret."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_promotion.reporting.summary import cell, code
from pytest_promotion.run import Run
from pytest_promotion.sample.app import create_app
from pytest_promotion.sample.server import serving
from pytest_promotion.settings import load_settings
from pytest_promotion.stash import RUN_KEY
from tests.conftest import DROP_BIO, INIT, add_migration

TOKEN = "tok-SUMMARY-7c1a9e"
PROJECT = """[tool.pytest.ini_options]
testpaths = ["checks"]

[tool.promotion]
migrations_dir = "prisma/migrations"

[tool.promotion.smoke]
samples = 2
endpoints = [
  { path = "/api/health", budget_ms = 5000 },
  { path = "/api/dashboard/ops/incidents", requires = ["auth"] },
]
"""
# A user's own smoke check whose id and output carry the token (a parametrized credential).
PROBE = """
import os

import pytest


@pytest.mark.smoke
@pytest.mark.parametrize("token", [os.environ["LAUNCH_ADMIN_BEARER_TOKEN"]])
def test_probe(token, record_property):
    print("probing with", token)
    record_property("latency_ms", 1.5)


def test_unit():
    pass
"""
VARIABLES = (
    "GITHUB_STEP_SUMMARY",
    "GITHUB_ACTIONS",
    "LAUNCH_POST_DEPLOY_SMOKE",
    "LAUNCH_VALIDATE_ADMIN_CONTROLS",
    "LAUNCH_ADMIN_SESSION_TOKEN",
    "LAUNCH_MEMBER_BEARER_TOKEN",
    "LAUNCH_MEMBER_SESSION_TOKEN",
    "SMOKE_BASE_URL",
    "PYTEST_BASE_URL",
)
WORKERS = pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Migrations (one risky unaccepted, one holding the token), smoke entries and a user probe."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", TOKEN)
    pytester.makefile(".toml", pyproject=PROJECT)
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "test_probe.py").write_text(PROBE)
    add_migration(pytester, "20240101000000_init", INIT)
    add_migration(pytester, "20240201000000_drop_bio", "-- AlterTable\n" + DROP_BIO)
    add_migration(pytester, "20240301000000_purge", f'DELETE FROM "User" WHERE "bio" = \'{TOKEN}\';\n')
    return pytester


@pytest.fixture
def service(project: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample service, accepting the admin token, on 127.0.0.1."""
    database = tmp_path_factory.mktemp("sample") / "sample.sqlite3"
    with serving(create_app(load_settings(pyproject=None, options={}), database)) as url:
        yield url


def summary_file(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, before: str = "") -> Path:
    """A step summary file (with what earlier steps wrote), named by GITHUB_STEP_SUMMARY."""
    path = pytester.path / "step-summary.md"
    path.write_text(before, encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    return path


@WORKERS
def test_the_summary_has_stages_new_risky_statements_and_endpoints(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, service: str, workers: list[str]
) -> None:
    earlier = "# Build\n\nearlier step output\n"
    path = summary_file(project, monkeypatch, earlier)
    result = project.runpytest(f"--base-url={service}", *workers)
    outcomes = result.parseoutcomes()  # the override stages add skipped "nothing configured" items
    assert (outcomes["passed"], outcomes["failed"]) == (6, 2)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(earlier)
    block = text[len(earlier) :]
    assert block.count("## Promotion gate") == 1
    assert f"`pytest --base-url={service}{' -n 2' if workers else ''} " in block
    stages = [
        "| stage | verdict | counts |",
        "|---|---|---|",
        "| migration safety (`migrations`) | ❌ failed | 2 failed, 1 passed |",
        "| post-deploy smoke (`smoke`) | ✅ passed | 2 passed |",  # the user's smoke-marked probe is not a check
        "| latency budgets (`perf_budget`) | ✅ passed | 1 passed |",
    ]
    assert "\n".join(stages) in block
    risky = [
        "### New risky statements",
        "",
        "| file:line | rule | statement |",
        "|---|---|---|",
        '| `prisma/migrations/20240201000000_drop_bio/migration.sql:2` | `drop-column` | `ALTER TABLE "User" DROP COLUMN "bio"` |',
        "| `prisma/migrations/20240301000000_purge/migration.sql:1` | `delete-from` | "
        '`DELETE FROM "User" WHERE "bio" = \'***\'` |',
        "",
        "Review them, then accept with: `pytest -m migrations --update-baseline`",
    ]
    assert "\n".join(risky) in block
    endpoints = block.split("### Slowest endpoints\n\n")[1].splitlines()
    assert endpoints[:2] == ["| endpoint | latency ms | budget ms | within budget |", "|---|--:|--:|:-:|"]
    rows = {re.sub(r"\| \d+ \|", "| N |", row) for row in endpoints[2:]}
    assert rows == {
        "| `pyproject.toml::smoke::GET /api/health` | N | 5000 | ✅ |",  # the entry's budget (issue 17)
        "| `pyproject.toml::smoke::GET /api/dashboard/ops/incidents` | N | — | — |",
        "| `pyproject.toml::perf_budget::GET /api/health` | N | 5000 | ✅ |",
        "| `checks/test_probe.py::test_probe[***]` | N | — | — |",
    }
    assert TOKEN not in text
    assert block.endswith("|\n")


def test_each_run_appends_its_own_block(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    path = summary_file(project, monkeypatch, "earlier\n")
    project.runpytest("-m", "migrations")
    first = path.read_text(encoding="utf-8")
    project.runpytest("-m", "migrations")
    second = path.read_text(encoding="utf-8")
    assert second == first + first.removeprefix("earlier\n")
    assert second.count("## Promotion gate") == 2


def test_the_launch_gate_verdict_is_shown_in_bold(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = summary_file(project, monkeypatch)
    project.runpytest("--launch-gate")
    text = path.read_text(encoding="utf-8")
    assert (
        "| migration safety (`migrations`) | ❌ FAILED: 2 failed (20240201000000_drop_bio, 20240301000000_purge) |\n"
        "| post-deploy smoke (`smoke`) | not required |\n" in text
    )
    assert "| entitlements (`entitlements`) | not required |\n\n**LAUNCH GATE FAILED**\n" in text


def test_accepted_findings_are_not_listed_and_the_cap_is_fifty(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.runpytest("-m", "migrations", "--update-baseline")
    add_migration(
        project,
        "20240401000000_many",
        "".join(f'DELETE FROM "User" WHERE "id" = \'{n}\';\n' for n in range(53)),
    )
    path = summary_file(project, monkeypatch)
    project.runpytest("-m", "migrations", "-p", "no:randomly")
    text = path.read_text(encoding="utf-8")
    assert "drop_bio" not in text
    assert "20240401000000_many/migration.sql:50`" in text
    assert "20240401000000_many/migration.sql:51`" not in text
    assert "… and 3 more" in text


def test_update_baseline_reports_the_refresh(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = summary_file(project, monkeypatch)
    project.runpytest("-m", "migrations", "--update-baseline")
    text = path.read_text(encoding="utf-8")
    assert "baseline: 2 added, 0 removed, 0 kept (baselines/migration-safety-baseline.json)" in text
    assert "file:line" not in text


@pytest.mark.parametrize("value", [None, "", "  "], ids=["unset", "empty", "blank"])
def test_without_github_step_summary_nothing_is_written(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", value)
    before = sorted(project.path.rglob("*"))
    project.runpytest("-m", "migrations", "-p", "no:cacheprovider").assert_outcomes(passed=1, failed=2)
    assert sorted(project.path.rglob("*")) == before
    run = project.parseconfigure().stash[RUN_KEY]
    assert isinstance(run, Run)
    assert run.step_summary is None


def test_a_run_without_gate_items_writes_nothing(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = summary_file(project, monkeypatch, "earlier\n")
    project.runpytest("checks/test_probe.py::test_unit").assert_outcomes(passed=1)
    assert path.read_text(encoding="utf-8") == "earlier\n"


def test_an_unwritable_summary_is_a_warning_not_a_crash(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project.path / "no-such-folder" / "summary.md"))
    result = project.runpytest("-m", "migrations")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        ["*PytestWarning: GITHUB_STEP_SUMMARY: could not append the promotion summary to *summary.md*"]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "INTERNALERROR" not in result.stdout.str()


def test_cells_escape_pipes_newlines_and_backticks() -> None:
    assert cell("a|b\nc\r\nd") == r"a\|b<br>c<br>d"
    assert code('SELECT "a|b"\n  FROM t') == r'`SELECT "a\|b" FROM t`'
    assert code("`id` = 1") == "`` `id` = 1 ``"
