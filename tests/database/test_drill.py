"""``pytest -m backups``: the restore drill as pytester runs against the real server."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_promotion.cli import main
from pytest_promotion.database.drill import SCRATCH_PREFIX
from tests.database.conftest import MIGRATIONS, SECRET_FORMS, SEED, Database, rewrite_backup

PYPROJECT = '[tool.pytest.ini_options]\ntestpaths = ["checks"]\n\n[tool.promotion]\nmigrations_dir = "prisma/migrations"\n'


@pytest.fixture
def drill(pytester: pytest.Pytester, database: Database, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project whose database is migrated and seeded, with one fresh backup."""
    pytester.makefile(".toml", pyproject=PYPROJECT)
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "test_app.py").write_text("def test_app():\n    pass\n")
    for name, sql in MIGRATIONS.items():
        path = pytester.path / "prisma" / "migrations" / name / "migration.sql"
        path.parent.mkdir(parents=True)
        path.write_text(sql)
    database.apply(pytester.path / "prisma" / "migrations")
    database.sql(SEED)
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["backup"]) == 0
    return pytester


def backup(pytester: pytest.Pytester) -> Path:
    (path,) = (pytester.path / "backups").glob("*.sql.gz")
    return path


def scratch_exists(db: Database, name: str) -> bool:
    """Whether this drill's own scratch database is still on the server (others may run alongside)."""
    assert name.startswith(SCRATCH_PREFIX)
    return db.sql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") != "0"


def properties(xml: str) -> dict[str | None, str | None]:
    return {p.get("name"): p.get("value") for p in ET.fromstring(xml).iter("property")}


def run(pytester: pytest.Pytester) -> tuple[pytest.RunResult, str]:
    xml = pytester.path / "drill.xml"
    result = pytester.runpytest("-m", "backups", f"--junitxml={xml}")
    text = result.stdout.str() + result.stderr.str() + xml.read_text()
    for secret in SECRET_FORMS:
        assert secret not in text
    assert "Traceback" not in text
    return result, xml.read_text()


def test_drill_restores_into_scratch_and_records_properties(
    drill: pytest.Pytester, database: Database
) -> None:
    before = database.dump()
    result, xml = run(drill)

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*restore drill of the newest backup in backups*"])
    props = properties(xml)
    assert props["rows.User"] == "300"
    assert props["rows.Post"] == "900"
    assert props["rows._prisma_migrations"] == "3"
    assert props["migrations_applied"] == "3"
    assert float(props["restore_seconds"]) > 0
    assert props["backup"] == backup(drill).name
    assert not scratch_exists(database, props["scratch_database"])  # dropped
    assert database.dump() == before  # never touched


def test_not_collected_without_asking(drill: pytest.Pytester) -> None:
    result = drill.runpytest("-v")
    result.assert_outcomes(passed=4)  # checks/test_app.py and the three migrations' gate items
    assert "restore-drill" not in result.stdout.str()


def test_corrupt_backup_fails_the_drill(drill: pytest.Pytester, database: Database) -> None:
    path = backup(drill)
    path.write_bytes(path.read_bytes()[:-40])
    result, xml = run(drill)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*is not a complete gzip file*"])
    assert "scratch_database" not in properties(xml)  # refused before any scratch database


def test_backup_that_fails_to_restore_fails_and_scratch_is_dropped(
    drill: pytest.Pytester, database: Database
) -> None:
    rewrite_backup(
        backup(drill), lambda text: text.replace('COPY public."Post"', 'SELECT 1/0;\nCOPY public."Post"', 1)
    )
    result, xml = run(drill)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*division by zero*"])
    assert not scratch_exists(database, properties(xml)["scratch_database"])


def test_migrations_not_a_prefix_of_the_folder_fail(drill: pytest.Pytester, database: Database) -> None:
    # The folder lost a migration the backup has applied, and gained one before it.
    (drill.path / "prisma/migrations/20240301000000_bio/migration.sql").unlink()
    early = drill.path / "prisma/migrations/20240115000000_early/migration.sql"
    early.parent.mkdir()
    early.write_text("SELECT 1;\n")
    result, _ = run(drill)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "its migrations are not a prefix of prisma/migrations" in out
    assert "20240301000000_bio: missing locally" in out
    assert "20240201000000_posts: applied, but the earlier 20240115000000_early is not" in out


def test_later_local_migrations_are_fine(drill: pytest.Pytester) -> None:
    later = drill.path / "prisma/migrations/20240401000000_later/migration.sql"
    later.parent.mkdir()
    later.write_text("SELECT 1;\n")
    run(drill)[0].assert_outcomes(passed=1)


def test_without_database_url_or_backup_the_drill_fails_clearly(
    drill: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    result, _ = run(drill)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*DATABASE_URL is not set*"])
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    backup(drill).unlink()
    result, _ = run(drill)
    result.assert_outcomes(failed=1)
    assert re.search(r"No backup to drill: .*backups holds no \*\.sql\.gz backup", result.stdout.str())
