"""A run of a stage (``pytest -m migrations``, ``-m smoke``) passes only when every check it expects did.

Before, the stage job of the documented workflow (``pytest -m migrations --junitxml=…``) went
green with most migrations never looked at: ``-k``, ``--deselect``, ``--ignore`` (beside a user
test marked ``migrations``), a skipping ``conftest.py`` or ``--collect-only``, each also from
``addopts`` — and the deploy that needs the job then ran the unreviewed migration. A run whose
``-m`` expression selects the migration items is that stage, so it now fails, naming what was
not checked, like the launch gate. Runs that do not ask for the stage (no ``-m``, ``-m "not
migrations"``, ``-m "not slow"``) and ``--update-baseline`` (which accepts, never gates) are as before.
The same holds for the remote stages: ``pytest -m smoke`` without a base URL skipped every item
and passed; a ``-k`` narrowed the smoke list unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_promotion.sample.app import create_app
from pytest_promotion.sample.server import serving
from pytest_promotion.settings import load_settings
from tests.conftest import DROP_BIO, add_migration

WORKERS = pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])
DROP = "20240201000000_drop_bio"
USER_TEST = "import pytest\n\n@pytest.mark.migrations\ndef test_marked():\n    pass\n"


@pytest.fixture
def risky(project: pytest.Pytester) -> pytest.Pytester:
    """Two migrations: ``init`` (safe) and ``drop_bio`` (an unreviewed DROP COLUMN), and a user test."""
    add_migration(project, DROP, DROP_BIO)
    (project.path / "checks" / "test_marked.py").write_text(USER_TEST)
    return project


def stage_line(result: pytest.RunResult) -> str:
    """The migration safety section's verdict line."""
    return next(line for line in result.stdout.lines if line.startswith("migration safety FAILED"))


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["-k", "not drop_bio"], "deselected: 20240201000000_drop_bio"),
        (["--deselect", f"prisma/migrations::{DROP}"], "deselected: 20240201000000_drop_bio"),
    ],
    ids=["-k", "--deselect"],
)
@WORKERS
def test_leaving_migrations_out_fails_the_stage_naming_them(
    risky: pytest.Pytester, args: list[str], why: str, workers: list[str]
) -> None:
    result = risky.runpytest("-m", "migrations", *args, *workers)

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "expected checks did not run" in stage_line(result)
    assert why in stage_line(result)


@WORKERS
def test_ignoring_the_migrations_folder_fails_the_stage(risky: pytest.Pytester, workers: list[str]) -> None:
    text = (risky.path / "pyproject.toml").read_text()
    (risky.path / "pyproject.toml").write_text(
        text.replace('testpaths = ["checks"]\n', "")
    )  # pytest walks "."

    result = risky.runpytest("-m", "migrations", "--ignore=prisma/migrations", *workers)

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "2 of 2 expected checks did not run (not run: 20240101000000_init, 20240201000000_drop_bio)" in (
        stage_line(result)
    )


def test_the_same_options_from_addopts_fail_it_too(risky: pytest.Pytester) -> None:
    text = (risky.path / "pyproject.toml").read_text()
    (risky.path / "pyproject.toml").write_text(
        text.replace(
            "[tool.pytest.ini_options]\n", "[tool.pytest.ini_options]\naddopts = \"-k 'not drop_bio'\"\n"
        )
    )

    result = risky.runpytest("-m", "migrations")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "1 of 2 expected checks did not run (deselected: 20240201000000_drop_bio)" in stage_line(result)


@WORKERS
def test_a_conftest_that_skips_the_risky_migration_fails_the_stage(
    risky: pytest.Pytester, workers: list[str]
) -> None:
    risky.makeconftest(
        """
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        if "drop_bio" in item.nodeid:
            item.add_marker(pytest.mark.skip(reason="flaky"))
"""
    )
    result = risky.runpytest("-m", "migrations", *workers)

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "skipped (flaky): 20240201000000_drop_bio" in stage_line(result)


def test_collect_only_is_no_pass(risky: pytest.Pytester) -> None:
    result = risky.runpytest("-m", "migrations", "--collect-only")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "--collect-only runs no check" in stage_line(result)


@WORKERS
def test_a_complete_run_is_judged_by_its_items_alone(project: pytest.Pytester, workers: list[str]) -> None:
    (project.path / "checks" / "test_marked.py").write_text(USER_TEST)

    result = project.runpytest("-m", "migrations", *workers)

    assert result.ret == pytest.ExitCode.OK
    assert not [line for line in result.stdout.lines if "migration safety FAILED" in line]


@pytest.mark.parametrize(
    "args",
    [["-k", "not drop_bio"], ["-m", "not migrations"], ["-m", "not slow", "-k", "not drop_bio"]],
    ids=["no -m", "-m not migrations", "-m not slow"],
)
def test_runs_that_do_not_ask_for_the_stage_are_not_judged_by_it(
    risky: pytest.Pytester, args: list[str]
) -> None:
    result = risky.runpytest(*args)

    assert result.ret == pytest.ExitCode.OK
    assert "migration safety FAILED" not in result.stdout.str()


def test_a_partial_update_of_the_baseline_still_works(risky: pytest.Pytester) -> None:
    result = risky.runpytest("-m", "migrations", "--update-baseline", "-k", "drop_bio")

    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["baseline: 1 added*"])


SMOKE_PROJECT = """[tool.pytest.ini_options]
testpaths = ["checks"]

[tool.promotion.smoke]
endpoints = ["/api/health", {{ path = "/api/analytics", budget_ms = 5000 }}]
"""


@pytest.fixture
def smoke(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[pytest.Pytester, str]]:
    """A project with two smoke entries (one with a budget), and the sample service to check."""
    for name in ("SMOKE_BASE_URL", "PYTEST_BASE_URL", "SMOKE_ORGANIZATION_ID", "SMOKE_EXPECTED_REVISION"):
        monkeypatch.delenv(name, raising=False)
    pytester.makefile(".toml", pyproject=SMOKE_PROJECT.format())
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "test_marked.py").write_text(USER_TEST.replace("migrations", "smoke"))
    app = create_app(
        load_settings(pyproject=None, options={}), tmp_path_factory.mktemp("sample") / "s.sqlite3"
    )
    with serving(app) as url:
        yield pytester, url


def test_a_smoke_run_without_a_base_url_fails_instead_of_skipping_to_green(
    smoke: tuple[pytest.Pytester, str],
) -> None:
    pytester, _ = smoke

    result = pytester.runpytest("-m", "smoke")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    line = next(line for line in result.stdout.lines if line.startswith("post-deploy smoke FAILED"))
    assert "2 of 2 expected checks did not run (skipped (needs a base URL" in line


@WORKERS
def test_deselecting_a_smoke_entry_fails_the_smoke_run(
    smoke: tuple[pytest.Pytester, str], workers: list[str]
) -> None:
    pytester, url = smoke

    whole = pytester.runpytest("-m", "smoke or perf_budget", f"--base-url={url}", *workers)
    narrowed = pytester.runpytest("-m", "smoke", f"--base-url={url}", "-k", "health", *workers)

    assert whole.ret == pytest.ExitCode.OK, whole.stdout.str()
    assert narrowed.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        "post-deploy smoke FAILED: 1 of 2 expected checks did not run (deselected: GET /api/analytics)"
        in (narrowed.stdout.lines)
    )


def test_the_job_summary_says_what_the_exit_status_says(
    risky: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = risky.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    result = risky.runpytest("-m", "migrations", "-k", "not drop_bio")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    row = next(line for line in summary.read_text().splitlines() if "(`migrations`)" in line)
    assert "❌ FAILED: 1 of 2 expected checks did not run (deselected: 20240201000000_drop_bio)" in row
