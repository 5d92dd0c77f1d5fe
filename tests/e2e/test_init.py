"""``pytest-promotion init`` on a fresh Node-style monorepo: from nothing to a gated, green project."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import DROP_BIO, INIT

PACKAGE_JSON = '{\n  "name": "acme",\n  "private": true,\n  "workspaces": ["packages/*"]\n}\n'


def _monorepo(root: Path) -> Path:
    """``packages/db/prisma/migrations`` (with its lock file) and a ``node_modules`` decoy; no Python."""
    (root / "package.json").write_text(PACKAGE_JSON)
    migrations = root / "packages" / "db" / "prisma" / "migrations"
    for name, sql in (("20240101000000_init", INIT), ("20240201000000_drop_bio", DROP_BIO)):
        (migrations / name).mkdir(parents=True)
        (migrations / name / "migration.sql").write_text(sql)
    (migrations / "migration_lock.toml").write_text('provider = "postgresql"\n')
    decoy = root / "node_modules" / "@prisma" / "engines" / "prisma" / "migrations"
    decoy.mkdir(parents=True)
    (decoy / "migration_lock.toml").write_text('provider = "sqlite"\n')
    (root / "packages" / "db" / "package.json").write_text('{"name": "@acme/db"}\n')
    return migrations


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and "__pycache__" not in path.parts
        and ".pytest_cache" not in path.parts
        and path.name not in ("stdout", "stderr")  # pytester.run's own capture files
    }


def _init(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "pytest_promotion", "init", *args)


def test_init_then_gate_then_accept_then_green_and_init_twice_changes_nothing(
    pytester: pytest.Pytester,
) -> None:
    _monorepo(pytester.path)
    result = _init(pytester)
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "Migrations folder: packages/db/prisma/migrations (prisma; it is the only one found)",
            "Wrote the starter configuration to pyproject.toml",
            "Added backups/ to .gitignore",
            "Next:",
            "  pytest -m migrations *",
            "  pytest -m migrations --update-baseline *",
            "  git add pyproject.toml .gitignore baselines/migration-safety-baseline.json *",
        ]
    )
    pyproject = (pytester.path / "pyproject.toml").read_text()
    assert 'migrations_dir = "packages/db/prisma/migrations"' in pyproject
    assert 'testpaths = ["packages/db/prisma/migrations"]' in pyproject
    assert "backups/" in (pytester.path / ".gitignore").read_text().splitlines()

    gated = pytester.runpytest_subprocess("-m", "migrations")
    gated.assert_outcomes(passed=1, failed=1)
    gated.stdout.fnmatch_lines(
        ["*packages/db/prisma/migrations/20240201000000_drop_bio/migration.sql*drop-column*"]
    )
    assert "node_modules" not in gated.stdout.str()

    accepted = pytester.runpytest_subprocess("-m", "migrations", "--update-baseline")
    accepted.assert_outcomes(passed=2)
    green = pytester.runpytest_subprocess("-m", "migrations")
    green.assert_outcomes(passed=2)
    assert green.ret == pytest.ExitCode.OK

    before = _snapshot(pytester.path)
    again = _init(pytester)
    assert again.ret == 0, again.stderr.str()
    again.stdout.fnmatch_lines(["Nothing to change: this project is already set up."])
    assert _snapshot(pytester.path) == before


def test_init_appends_to_an_existing_pyproject_keeping_every_byte(pytester: pytest.Pytester) -> None:
    _monorepo(pytester.path)
    original = "# our tooling\n[tool.black]\nline-length = 100  # keep\n"
    (pytester.path / "pyproject.toml").write_text(original)
    (pytester.path / ".gitignore").write_text("node_modules")
    assert _init(pytester).ret == 0
    text = (pytester.path / "pyproject.toml").read_text()
    assert text.startswith(original + "\n# pytest-promotion")
    assert (pytester.path / ".gitignore").read_text().startswith("node_modules\n")


def test_init_refuses_a_different_existing_setting_and_writes_nothing(pytester: pytest.Pytester) -> None:
    _monorepo(pytester.path)
    (pytester.path / "pyproject.toml").write_text('[tool.promotion]\nmigrations_dir = "db/migrations"\n')
    before = _snapshot(pytester.path)
    result = _init(pytester)
    assert result.ret == 1
    message = result.stderr.str()
    assert "pyproject.toml: [tool.promotion] already sets migrations_dir = 'db/migrations'" in message
    assert "init does not overwrite a setting you wrote" in message
    assert "Traceback" not in result.stderr.str()
    assert _snapshot(pytester.path) == before


def test_init_with_several_folders_names_the_choice_and_lists_the_others(pytester: pytest.Pytester) -> None:
    _monorepo(pytester.path)
    other = pytester.path / "apps" / "legacy" / "prisma" / "migrations"
    (other / "20230101000000_init").mkdir(parents=True)
    (other / "20230101000000_init" / "migration.sql").write_text(INIT)
    (other / "migration_lock.toml").write_text('provider = "postgresql"\n')
    result = _init(pytester)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "Migrations folder: packages/db/prisma/migrations (prisma; it holds the most migrations (2)*",
            "Also found*",
            "  apps/legacy/prisma/migrations (prisma, 1 migrations)",
        ]
    )


def test_init_without_migrations_says_what_it_looked_for(pytester: pytest.Pytester) -> None:
    (pytester.path / "package.json").write_text(PACKAGE_JSON)
    result = _init(pytester)
    assert result.ret == 1
    result.stderr.fnmatch_lines(
        ["*no Prisma migrations folder found under*migration_lock.toml*--migrations-dir*"]
    )
    assert not (pytester.path / "pyproject.toml").exists()


def test_init_refuses_a_pyproject_it_cannot_read_as_tables(pytester: pytest.Pytester) -> None:
    _monorepo(pytester.path)
    for text in ("[tool\nbroken", "[tool]\npromotion = 1\n"):
        (pytester.path / "pyproject.toml").write_text(text)
        result = _init(pytester)
        assert result.ret == 1
        assert "pyproject.toml: " in result.stderr.str()
        assert "Traceback" not in result.stderr.str()
        assert (pytester.path / "pyproject.toml").read_text() == text


def test_init_leaves_testpaths_to_a_pytest_ini_that_takes_precedence(pytester: pytest.Pytester) -> None:
    _monorepo(pytester.path)
    (pytester.path / "pytest.ini").write_text("[pytest]\n")
    result = _init(pytester)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["pytest reads its settings from pytest.ini here: add testpaths = *"])
    assert "testpaths" not in (pytester.path / "pyproject.toml").read_text()
