"""Inputs that used to pass silently or end in INTERNALERROR: each is a clear failure now."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import add_migration


@pytest.fixture
def isolated(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The project, run with plugin autoloading off and only this plugin loaded."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return project


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("-p", "pytest_promotion.plugin", "-m", "migrations", *args)


def _folder(project: pytest.Pytester) -> Path:
    folder = project.path / "prisma" / "migrations" / "20240201000000_broken"
    folder.mkdir(parents=True)
    return folder / "migration.sql"


@pytest.mark.parametrize("kind", ["directory", "dangling-symlink", "fifo"])
def test_unreadable_migration_file_fails_its_item(isolated: pytest.Pytester, kind: str) -> None:
    path = _folder(isolated)
    if kind == "directory":
        path.mkdir()
    elif kind == "dangling-symlink":
        path.symlink_to(path.parent / "gone.sql")
    else:
        os.mkfifo(path)
    result = run(isolated)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "Traceback" not in out
    assert "20240201000000_broken/migration.sql: is " in out
    assert "restore it as a plain file, or remove the folder" in out


def test_provider_list_in_lock_file_is_a_usage_error(isolated: pytest.Pytester) -> None:
    (isolated.path / "prisma" / "migrations" / "migration_lock.toml").write_text(
        'provider = ["postgresql"]\n'
    )
    result = run(isolated)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "INTERNALERROR" not in err + result.stdout.str()
    assert "migration_lock.toml: provider must be one string" in err


def test_report_path_that_is_a_folder_is_a_usage_error(isolated: pytest.Pytester) -> None:
    add_migration(isolated, "20240201000000_drop", 'DROP TABLE "User";\n')
    (isolated.path / "out").mkdir()
    result = run(isolated, "--migrations-report", "out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "INTERNALERROR" not in err + result.stdout.str()
    assert "--migrations-report:" in err
    assert "is a folder" in err
