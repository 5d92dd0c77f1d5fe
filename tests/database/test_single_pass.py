"""A backup larger than the head check is checked in full only while the restore streams it.

The restore then commits only if the whole stream passed: every damaged, cut or foreign backup
is still refused with the database unchanged, and the safety dump of the unchanged state goes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_promotion.database.checks import HEAD_CHECK_BYTES
from pytest_promotion.database.exit_codes import ExitCode
from tests.database.conftest import Project, rewrite_backup
from tests.database.test_rollback import MUTATE, take_backup

BIG = """CREATE TABLE "Big" (id int PRIMARY KEY, note text NOT NULL);
INSERT INTO "Big" SELECT g, repeat('x', 100) || g FROM generate_series(1, 25000) g;
"""
LATE_FOREIGN = (
    "\n--\n-- Name: t; Type: TABLE; Schema: other; Owner: postgres\n--\n\n"
    "CREATE SCHEMA other;\nCREATE TABLE other.t (x int);\n\n"
)


def cut_gzip(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 4 // 5])


def cut_dump(path: Path) -> None:
    rewrite_backup(path, lambda text: text[: len(text) * 4 // 5])


def forged_guard(path: Path) -> None:
    forged = "\nINSERT INTO pg_temp.promotion_restore_complete VALUES (1);\n"
    rewrite_backup(path, lambda text: text[: len(text) * 4 // 5] + "\n\\.\n" + forged)


def late_foreign_object(path: Path) -> None:
    rewrite_backup(
        path,
        lambda text: text.replace(
            "\n--\n-- PostgreSQL database dump complete",
            LATE_FOREIGN + "\n--\n-- PostgreSQL database dump complete",
        ),
    )


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (cut_gzip, "is not a complete gzip file"),
        (cut_dump, "does not end with pg_dump's closing line"),
        (forged_guard, "does not end with pg_dump's closing line"),
        (late_foreign_object, 'it creates objects in schema "other"'),
    ],
    ids=["cut-inside-gzip", "cut-inside-the-dump", "forged-guard-line", "late-foreign-object"],
)
def test_a_large_damaged_backup_is_refused_during_the_single_pass(
    project: Project, damage: Callable[[Path], None], expected: str
) -> None:
    project.db.sql(BIG)
    path = take_backup(project)
    damage(path)
    project.db.sql(MUTATE)
    before = project.db.dump()

    result = project.cli("rollback", "--yes")

    assert result.code == ExitCode.CORRUPT_BACKUP, result.out + result.err
    assert expected in result.err
    assert "while it streams: it commits only if all pass" in result.out  # only the head was checked first
    assert "Safety dump:" in result.out
    assert "was removed" in result.err
    assert not list(project.backups.glob("pre-rollback-*"))
    assert project.db.sql("SELECT to_regnamespace('other') IS NULL") == "t"
    assert project.db.dump() == before


def test_a_large_good_backup_restores_in_one_pass(project: Project) -> None:
    project.db.sql(BIG)
    before = project.db.dump()
    path = take_backup(project)
    project.db.sql(MUTATE)

    result = project.cli("rollback", "--yes")

    assert result.code == ExitCode.OK, result.err
    assert project.db.dump() == before
    assert path.stat().st_size < HEAD_CHECK_BYTES < int(project.db.sql('SELECT sum(length(note)) FROM "Big"'))
