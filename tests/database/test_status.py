"""status against a real _prisma_migrations table: every state, its exit code, table and JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from pytest_promotion.database.exit_codes import ExitCode
from tests.database.conftest import Project


def edit_file(name: str, data: bytes) -> Callable[[Project], None]:
    def apply(project: Project) -> None:
        (project.migrations / name / "migration.sql").write_bytes(data)

    return apply


def sql(statement: str) -> Callable[[Project], None]:
    return lambda project: project.db.sql(statement) and None


def crlf_copy(project: Project) -> None:
    path = project.migrations / "20240201000000_posts" / "migration.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def add_local(project: Project) -> None:
    path = project.migrations / "20240401000000_tags" / "migration.sql"
    path.parent.mkdir()
    path.write_text('CREATE TABLE "Tag" (id int);\n')


LATEST = "WHERE migration_name = '20240301000000_bio'"
SCENARIOS = {
    "up to date": (None, ExitCode.OK, "applied"),
    "CRLF copy of an applied migration": (crlf_copy, ExitCode.OK, "applied"),
    "pending": (add_local, ExitCode.PENDING, "pending"),
    "rolled back only": (
        sql(f"UPDATE _prisma_migrations SET rolled_back_at = now() {LATEST}"),
        ExitCode.PENDING,
        "rolled back",
    ),
    "failed": (
        sql(f"UPDATE _prisma_migrations SET finished_at = NULL {LATEST}"),
        ExitCode.NEEDS_ATTENTION,
        "failed",
    ),
    "modified": (
        edit_file("20240301000000_bio", b'ALTER TABLE "User" ADD COLUMN "bio" VARCHAR(200);\n'),
        ExitCode.NEEDS_ATTENTION,
        "modified",
    ),
    "BOM added": (
        edit_file("20240301000000_bio", b'\xef\xbb\xbfALTER TABLE "User" ADD COLUMN "bio" TEXT;\n'),
        ExitCode.NEEDS_ATTENTION,
        "modified",
    ),
    "missing locally": (
        sql(
            "INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at) VALUES ('x', 'abc', '20240301000000_bio_hotfix', now())"
        ),
        ExitCode.NEEDS_ATTENTION,
        "missing locally",
    ),
    "repeated name, re-applied after a rollback": (
        sql(
            f"UPDATE _prisma_migrations SET rolled_back_at = now(), finished_at = NULL, started_at = now() - interval '1 day' {LATEST}; "
            "INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at) "
            f"SELECT 'again', checksum, migration_name, now() FROM _prisma_migrations {LATEST}"
        ),
        ExitCode.OK,
        "applied",
    ),
    "not managed": (sql("DROP TABLE _prisma_migrations"), ExitCode.PENDING, "pending"),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_state_and_exit_code(project: Project, scenario: str) -> None:
    change, code, state = SCENARIOS[scenario]
    if change is not None:
        change(project)

    table = project.cli("status")
    machine = project.cli("status", "--json")

    assert table.code == machine.code == code, table.out + table.err
    data = json.loads(machine.out)
    assert data["exit_code"] == code
    assert data["up_to_date"] is (code == ExitCode.OK)
    assert state in {m["state"] for m in data["migrations"]}
    assert data["database"].startswith("postgresql://postgres:***@")
    assert table.out.strip().splitlines()[-1] == data["verdict"]


def test_status_reads_the_schema_of_the_url(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.db.sql("CREATE SCHEMA other")
    monkeypatch.setenv("DATABASE_URL", project.db.url + "?schema=other")
    result = project.cli("status")
    assert result.code == ExitCode.PENDING
    assert "Not managed by Prisma Migrate" in result.out


def test_missing_migrations_folder_is_a_configuration_error(project: Project) -> None:
    result = project.cli("status", "--migrations-dir", "db/migrations")
    assert result.code == ExitCode.CONFIG
    assert "option --migrations-dir: the migrations folder" in result.err
    assert "does not exist" in result.err
