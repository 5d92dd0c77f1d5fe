"""No ``prisma/migrations`` but Prisma folders elsewhere: the header names them and the setting."""

from __future__ import annotations

import pytest

from tests.conftest import INIT


def _package_db(pytester: pytest.Pytester, *, lock: bool = True) -> None:
    (pytester.path / "package.json").write_text('{"name": "acme"}\n')
    migrations = pytester.path / "packages" / "db" / "prisma" / "migrations"
    (migrations / "20240101000000_init").mkdir(parents=True)
    (migrations / "20240101000000_init" / "migration.sql").write_text(INIT)
    if lock:
        (migrations / "migration_lock.toml").write_text('provider = "postgresql"\n')
    decoy = pytester.path / "node_modules" / "x" / "prisma" / "migrations"
    decoy.mkdir(parents=True)
    (decoy / "migration_lock.toml").write_text("")


def test_header_names_the_found_folder_and_the_setting(pytester: pytest.Pytester) -> None:
    _package_db(pytester)
    result = pytester.runpytest("-m", "migrations")
    result.stdout.fnmatch_lines(
        [
            "promotion: no prisma/migrations here, so no migrations are gated; found "
            'packages/db/prisma/migrations — set migrations_dir = "packages/db/prisma/migrations" in '
            "?tool.promotion? (or run pytest-promotion init)"
        ]
    )
    assert "node_modules" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # a hint, not an error


def test_no_hint_without_a_lock_file(pytester: pytest.Pytester) -> None:
    _package_db(pytester, lock=False)
    result = pytester.runpytest("-m", "migrations")
    assert "no prisma/migrations here" not in result.stdout.str()


def test_no_hint_when_migrations_dir_is_configured(pytester: pytest.Pytester) -> None:
    _package_db(pytester)
    pytester.makefile(
        ".toml", pyproject='[tool.promotion]\nmigrations_dir = "packages/db/prisma/migrations"\n'
    )
    result = pytester.runpytest("-m", "migrations")
    assert "no prisma/migrations here" not in result.stdout.str()
    result.assert_outcomes(passed=1)
