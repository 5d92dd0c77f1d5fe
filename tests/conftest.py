"""Shared helpers: a small Prisma project laid out inside pytester's temporary folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

# Import the whole plugin before any inner run: pytester drops the modules an in-process run
# imported once it ends, and a second run would then build pydantic models from new classes
# next to validators of the old ones ("Input should be an instance of PromotionSettings").
import pytest_promotion.cli
import pytest_promotion.session  # noqa: F401 - imports the run and every feature

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


INNER_PLUGINS = "pytest_promotion.plugin,pytest_base_url.plugin,xdist.plugin"
"""The only plugins an inner pytest run loads (pytester, subprocesses and xdist workers alike)."""


@pytest.fixture(autouse=True)
def _hermetic_inner_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs load only what they test, and never touch the real job summary.

    Whatever else is installed (pytest-randomly, pytest-html, …) stays out of them: plugin
    autoloading is off and ``PYTEST_PLUGINS`` names the plugin under test and the two it works
    with, so an inner run behaves the same on every machine, plain and under ``-n 2``.
    """
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTEST_PLUGINS", INNER_PLUGINS)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
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
