"""backup, rollback and the restore drill on a Prisma 8 database: prisma_contract travels with the schema.

Prisma 8 keeps its ledger and marker in schema ``prisma_contract``, beside ``public``. A rollback
that brought ``public`` back without them would leave a ledger claiming packages the tables do
not have; these tests show the two coming back together, and the one case that is refused.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest

from pytest_promotion.cli import main
from pytest_promotion.database.exit_codes import ExitCode
from tests.database.conftest import SECRET_FORMS, Database, Project
from tests.database.prisma8 import APPLIED_BY_PRISMA, apply_packages
from tests.prisma8.helpers import PACKAGES, copy_history

RENAME = PACKAGES[6]
BEFORE_RENAME = APPLIED_BY_PRISMA[:-1]


@pytest.fixture
def p8(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Project:
    """A Prisma 8 project migrated up to (not including) the rename, with rows, and a backup of it."""
    (tmp_path / "pyproject.toml").write_text("[tool.promotion]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database.url)
    copy_history(tmp_path)
    apply_packages(database, tmp_path / "migrations" / "app", BEFORE_RENAME)
    database.sql(
        """INSERT INTO "User" ("email", "name") VALUES ('a@example.com', 'Ann'), ('b@example.com', 'Bo')"""
    )
    return Project(tmp_path, database, capsys)


def ledger(db: Database) -> list[str]:
    return db.sql("SELECT migration_name FROM prisma_contract.ledger ORDER BY id").splitlines()


def test_backup_holds_prisma_contract_beside_the_schema(p8: Project) -> None:
    assert p8.cli("backup").code == ExitCode.OK
    (path,) = p8.backup_files()
    sql = gzip.decompress(path.read_bytes()).decode()
    assert "CREATE SCHEMA prisma_contract;" in sql
    assert "COPY prisma_contract.ledger" in sql
    assert "COPY prisma_contract.marker" in sql
    assert 'COPY public."User"' in sql


def test_rollback_brings_back_schema_ledger_and_marker_together(p8: Project) -> None:
    assert p8.cli("backup").code == ExitCode.OK
    apply_packages(p8.db, p8.path / "migrations" / "app", [RENAME])  # the release to roll back
    assert ledger(p8.db)[-1] == RENAME
    result = p8.cli("rollback", "--yes", "--no-safety-dump")
    assert '(with "prisma_contract", Prisma 8\'s ledger)' in result.out
    # the rename is pending again (and the purge, ahead of 80d6…): tables and ledger agree
    assert result.code == ExitCode.OK  # restored; the status after it is information
    assert "2 Prisma 8 packages pending (" in result.out
    assert "expected after a rollback" in result.out
    assert "Run `prisma db migrate` to apply them" not in result.out
    assert ledger(p8.db) == BEFORE_RENAME
    assert (
        p8.db.sql(
            "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = 'User'"
        )
        == "email,id,name,role"
    )
    assert p8.db.sql("SELECT core_hash FROM prisma_contract.marker") == (
        "80d677d3772cf09655f69a3b957d841b6371e9457d9336e7b49ca358ca3c4fc7"
    )
    assert p8.db.sql('SELECT count(*) FROM "User"') == "2"
    status = json.loads(p8.cli("status", "--json").out)
    assert (status["exit_code"], status["marker"]["matches"]) == (ExitCode.PENDING, True)


def test_a_backup_without_prisma_contract_is_refused_on_a_prisma8_database(p8: Project) -> None:
    p8.db.sql("ALTER SCHEMA prisma_contract RENAME TO hidden_contract")
    assert p8.cli("backup").code == ExitCode.OK  # taken while the database had no prisma_contract
    p8.db.sql("ALTER SCHEMA hidden_contract RENAME TO prisma_contract")
    before = p8.db.dump()
    result = p8.cli("rollback", "--yes", "--no-safety-dump")
    assert result.code == ExitCode.CORRUPT_BACKUP
    assert "holds no prisma_contract schema, but" in result.err
    assert "DROP SCHEMA prisma_contract CASCADE" in result.err
    assert p8.db.dump() == before  # nothing was changed


def drill_project(p8: Project, pytester: pytest.Pytester) -> None:
    """pytester's folder as the Prisma 8 project, with a fresh backup in its backups/."""
    for name in ("pyproject.toml", "migrations"):
        (pytester.path / name).symlink_to(p8.path / name)
    assert main(["backup"]) == ExitCode.OK  # in pytester's folder, the current one


def test_the_restore_drill_reads_the_restored_ledger(p8: Project, pytester: pytest.Pytester) -> None:
    drill_project(p8, pytester)
    xml = pytester.path / "drill.xml"
    result = pytester.runpytest("-m", "backups", f"--junitxml={xml}")
    result.assert_outcomes(passed=1)
    text = xml.read_text()
    assert '<property name="migrations_applied" value="5" />' in text
    assert '<property name="rows.User" value="2" />' in text
    for secret in SECRET_FORMS:
        assert secret not in text + result.stdout.str()


def test_the_restore_drill_fails_when_the_backup_ledger_does_not_match_the_folder(
    p8: Project, pytester: pytest.Pytester
) -> None:
    drill_project(p8, pytester)
    ops = p8.path / "migrations" / "app" / PACKAGES[2] / "ops.json"  # applied in the backup, now edited
    ops.write_text(ops.read_text().replace('DROP COLUMN \\"bio\\"', 'DROP COLUMN \\"biography\\"'))
    result = pytester.runpytest("-m", "backups")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*restored, but its migrations are not a prefix of migrations/app:*",
            f"  {PACKAGES[2]}: edited after applied (*ops.json edited by hand since)",
        ]
    )


def test_a_check_failing_beside_the_started_safety_dump_cancels_and_removes_it(p8: Project) -> None:
    # The safety dump starts once the backup's own checks pass, beside the server's checks;
    # the contract check failing there must stop it and leave no file, partial or complete.
    p8.db.sql("ALTER SCHEMA prisma_contract RENAME TO hidden_contract")
    assert p8.cli("backup").code == ExitCode.OK
    p8.db.sql("ALTER SCHEMA hidden_contract RENAME TO prisma_contract")
    before = p8.db.dump()
    result = p8.cli("rollback", "--yes")
    assert result.code == ExitCode.CORRUPT_BACKUP
    assert "holds no prisma_contract schema, but" in result.err
    assert p8.db.dump() == before
    assert [path.name for path in p8.backups.iterdir() if "pre-rollback" in path.name] == []
    dumping = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND datname = current_database()"
    for _ in range(50):  # the killed pg_dump's backend leaves once it notices
        if p8.db.sql(dumping) == "0":
            break
        time.sleep(0.1)
    assert p8.db.sql(dumping) == "0"
