"""Shared helpers: a small Prisma project laid out inside pytester's temporary folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

INIT = """-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "bio" TEXT,
    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);
"""
DROP_BIO = 'ALTER TABLE "User" DROP COLUMN "bio";\n'

PYPROJECT = """[tool.pytest.ini_options]
testpaths = ["checks"]

[tool.promotion]
migrations_dir = "prisma/migrations"
baseline = "baselines/migration-safety-baseline.json"
"""

AddMigration = Callable[..., Path]


@pytest.fixture(autouse=True)
def _outside_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs must not annotate or append to the real job summary when CI is Actions."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with ``testpaths = ["checks"]`` (so migrations are outside it) and one migration."""
    pytester.makefile(".toml", pyproject=PYPROJECT)
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "test_app.py").write_text("def test_app():\n    assert True\n")
    add_migration(pytester, "20240101000000_init", INIT)
    return pytester


def add_migration(pytester: pytest.Pytester, name: str, sql: str | bytes) -> Path:
    """Write ``prisma/migrations/<name>/migration.sql``."""
    path = pytester.path / "prisma" / "migrations" / name / "migration.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(sql, bytes):
        path.write_bytes(sql)
    else:
        path.write_text(sql, encoding="utf-8")
    return path


def read_baseline(pytester: pytest.Pytester) -> dict[str, object]:
    """The project's baseline as JSON."""
    return json.loads((pytester.path / "baselines" / "migration-safety-baseline.json").read_text())  # type: ignore[no-any-return]
