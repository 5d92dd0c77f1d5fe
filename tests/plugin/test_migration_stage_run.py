"""``pytest -m migrations`` is the CI stage that gates migrations: it passes only when every one was checked.

Before, the stage job of the documented workflow (``pytest -m migrations --junitxml=…``) went
green with most migrations never looked at: ``-k``, ``--deselect``, ``--ignore`` (beside a user
test marked ``migrations``), a skipping ``conftest.py`` or ``--collect-only``, each also from
``addopts`` — and the deploy that needs the job then ran the unreviewed migration. A run whose
``-m`` expression selects the migration items is that stage, so it now fails, naming what was
not checked, like the launch gate. Runs that do not ask for the stage (no ``-m``, ``-m "not
migrations"``, ``-m "not slow"``) and ``--update-baseline`` (which accepts, never gates) are as before.
"""

from __future__ import annotations

import pytest

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
