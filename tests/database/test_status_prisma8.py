"""status on a Prisma 8 database: prisma_contract's ledger and marker against migrations/app.

Each test has its own scratch database with ``prisma_contract`` written as ``prisma db migrate``
writes it (tests/database/prisma8.py). The two blind spots — a package edited and re-emitted after
it was applied, and an applied package deleted — are "Up to date", exit 0, for every Prisma 8
command; here they exit 5.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_promotion.database.exit_codes import ExitCode
from tests.database.conftest import MIGRATIONS, Database, Project
from tests.database.prisma8 import APPLIED_BY_PRISMA, apply_packages
from tests.prisma8.helpers import PACKAGES, copy_history, reemit

RENAME, PURGE, DROP_BIO = PACKAGES[6], PACKAGES[5], PACKAGES[2]


@pytest.fixture
def p8(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Project:
    """A Prisma 8 project (no migrations_dir set) whose database Prisma 8 migrated with ``--advance-ref db``."""
    (tmp_path / "pyproject.toml").write_text("[tool.promotion]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database.url)
    copy_history(tmp_path)
    return Project(tmp_path, database, capsys)


def app(project: Project) -> Path:
    return project.path / "migrations" / "app"


def states(project: Project) -> tuple[int, dict[str, str], dict[str, object]]:
    """Exit code, package -> state, and the JSON document, from ``status --json``."""
    result = project.cli("status", "--json")
    data = json.loads(result.out)
    assert data["exit_code"] == result.code
    return result.code, {m["name"]: m["state"] for m in data["migrations"]}, data


def test_up_to_date_as_prisma_left_it_with_the_invariant_package_off_the_path(p8: Project) -> None:
    apply_packages(p8.db, app(p8), APPLIED_BY_PRISMA)
    result = p8.cli("status")
    assert result.code == ExitCode.OK
    assert "20261201T2009_purge_orphan_posts  not on the path" in result.out
    assert "(provides purge-p2)" in result.out
    assert "marker: contract d57a5bd61c05…, the end of 20261201T2012_rename_name, as expected" in result.out
    assert result.out.rstrip().endswith(
        "Up to date: 6 Prisma 8 packages applied (1 not on the path), none changed since, and the marker is at "
        "the newest one's contract."
    )
    code, found, data = states(p8)
    assert code == ExitCode.OK
    assert found[PURGE] == "not on the path"
    assert data["generation"] == "prisma 8"
    assert data["marker"]["matches"] is True
    assert data["up_to_date"] is True


def test_pending_packages_exit_1(p8: Project) -> None:
    apply_packages(p8.db, app(p8), PACKAGES[:3])
    code, found, data = states(p8)
    assert code == ExitCode.PENDING
    assert [found[name] for name in PACKAGES] == ["applied"] * 3 + ["pending"] * 4
    assert data["verdict"] == "Not up to date: 4 pending. Run `prisma db migrate` to apply them."


def test_a_package_edited_and_re_emitted_after_it_was_applied_exits_5(p8: Project) -> None:
    apply_packages(p8.db, app(p8), APPLIED_BY_PRISMA)
    ops = app(p8) / RENAME / "ops.json"
    ops.write_text(ops.read_text().replace('TO \\"fullName\\"', 'TO \\"displayName\\"'))
    reemit(ops.parent)  # migration.json agrees with the edit: Prisma 8 says "Up to date", exit 0
    code, found, data = states(p8)
    assert code == ExitCode.NEEDS_ATTENTION
    assert found[RENAME] == "edited after applied"
    detail = next(m["detail"] for m in data["migrations"] if m["name"] == RENAME)
    assert "re-emitted since: ledger hash 780db16ffb23…" in detail
    assert 'every Prisma 8 command reports "Up to date" here' in data["verdict"]


def test_a_package_hand_edited_after_it_was_applied_exits_5(p8: Project) -> None:
    apply_packages(p8.db, app(p8), APPLIED_BY_PRISMA)
    ops = app(p8) / RENAME / "ops.json"
    ops.write_text(ops.read_text().replace('TO \\"fullName\\"', 'TO \\"displayName\\"'))
    code, found, data = states(p8)
    assert code == ExitCode.NEEDS_ATTENTION
    assert found[RENAME] == "edited after applied"
    assert "ops.json edited by hand since" in next(
        m["detail"] for m in data["migrations"] if m["name"] == RENAME
    )


def test_an_applied_package_deleted_locally_exits_5(p8: Project) -> None:
    apply_packages(p8.db, app(p8), APPLIED_BY_PRISMA)
    shutil.rmtree(app(p8) / DROP_BIO)  # Prisma 8's `migration status` still says "Up to date"
    result = p8.cli("status")
    assert result.code == ExitCode.NEEDS_ATTENTION
    assert any(line.split()[:3] == [DROP_BIO, "missing", "locally"] for line in result.out.splitlines())
    assert "Not up to date: 1 missing locally." in result.out


def test_a_marker_that_is_not_at_the_newest_applied_package_exits_5(p8: Project) -> None:
    apply_packages(p8.db, app(p8), APPLIED_BY_PRISMA)
    p8.db.sql("UPDATE prisma_contract.marker SET core_hash = 'abc123abc123abc123'")
    result = p8.cli("status")
    assert result.code == ExitCode.NEEDS_ATTENTION
    assert (
        "marker: contract abc123abc123…, but the newest applied package 20261201T2012_rename_name ends at "
        "d57a5bd61c05…: the database is not at the contract the folder says"
    ) in result.out
    assert "Not up to date: marker mismatch." in result.out
    _, _, data = states(p8)
    assert data["marker"] == {
        "contract_hash": "abc123abc123abc123",
        "expected": "d57a5bd61c05c6b8866ec81ec1fd58be2522d18ca7277f2ac27c5e0419fabdf7",
        "matches": False,
        "newest_applied": RENAME,
    }


def test_a_ledger_without_a_marker_is_a_mismatch(p8: Project) -> None:
    apply_packages(p8.db, app(p8), APPLIED_BY_PRISMA)
    p8.db.sql("DELETE FROM prisma_contract.marker")
    code, _, data = states(p8)
    assert code == ExitCode.NEEDS_ATTENTION
    assert data["marker"]["matches"] is False


def test_a_pending_package_whose_ops_json_was_hand_edited_is_invalid_locally(p8: Project) -> None:
    apply_packages(p8.db, app(p8), PACKAGES[:5])
    ops = app(p8) / RENAME / "ops.json"
    ops.write_text(ops.read_text().replace('TO \\"fullName\\"', 'TO \\"displayName\\"'))
    code, found, _ = states(p8)
    assert code == ExitCode.NEEDS_ATTENTION
    assert found[RENAME] == "invalid locally"
    assert found[PURGE] == "pending"  # at 80d6…, where the database is: ahead of it


def test_no_prisma_contract_schema_means_not_managed_everything_pending(p8: Project) -> None:
    result = p8.cli("status")
    assert result.code == ExitCode.PENDING
    assert "Not managed by Prisma 8: no prisma_contract ledger, so all 7 packages are pending." in result.out


def test_prisma7_and_prisma8_side_by_side_report_both_and_exit_with_the_worse(p8: Project) -> None:
    for name, sql in MIGRATIONS.items():
        path = p8.path / "prisma" / "migrations" / name / "migration.sql"
        path.parent.mkdir(parents=True)
        path.write_text(sql)
    p8.db.apply(p8.path / "prisma" / "migrations")
    apply_packages(p8.db, app(p8), PACKAGES[:4], run_sql=False)  # the ledger only: both own "User"
    result = p8.cli("status")
    assert result.code == ExitCode.PENDING
    assert "Prisma <= 7:" in result.out
    assert "Up to date: all 3 migrations applied, none changed since." in result.out
    assert "Prisma 8:" in result.out
    assert "Not up to date: 3 pending." in result.out
    data = json.loads(p8.cli("status", "--json").out)
    assert (data["exit_code"], data["up_to_date"]) == (ExitCode.PENDING, False)
    assert [(g["generation"], g["exit_code"]) for g in data["generations"]] == [
        ("prisma <= 7", 0),
        ("prisma 8", 1),
    ]


def test_migrations_dir_picks_one_generation(p8: Project) -> None:
    apply_packages(p8.db, app(p8), APPLIED_BY_PRISMA)
    result = p8.cli("status", "--migrations-dir", "migrations")  # Prisma 8's folder: its app/ packages
    assert result.code == ExitCode.OK
    assert "Prisma 8 packages applied" in result.out


def _overflow_rename(p8: Project) -> None:
    """Five packages applied; rename_name (pending) holds ``1e400``, re-emitted."""
    apply_packages(p8.db, app(p8), PACKAGES[:5])
    ops = app(p8) / RENAME / "ops.json"
    ops.write_text(
        ops.read_text().replace('"fullName"\n        ]', '"fullName",\n          1e400\n        ]')
    )
    reemit(ops.parent)


def test_a_number_no_double_holds_is_no_traceback(p8: Project) -> None:
    _overflow_rename(p8)
    for args in (("status",), ("status", "--json")):
        result = p8.cli(*args)
        assert "Traceback" not in result.out + result.err


@pytest.mark.xfail(
    strict=True,
    reason="status_contract.local_packages builds LocalPackage(name, None, None, None, str(exc)), "
    "which puts the error in `origin`, not `problem`: needs problem=str(exc) in pytest_promotion/database/",
)
def test_a_number_no_double_holds_is_invalid_locally(p8: Project) -> None:
    _overflow_rename(p8)
    code, found, data = states(p8)
    assert code == ExitCode.NEEDS_ATTENTION
    assert found[RENAME] == "invalid locally"
    detail = next(m["detail"] for m in data["migrations"] if m["name"] == RENAME)
    assert "1e400" in detail
    assert "ops.json" in detail


def test_a_package_holding_only_migration_ts_is_listed_not_invisible(p8: Project) -> None:
    apply_packages(p8.db, app(p8), PACKAGES[:5])
    (app(p8) / RENAME / "ops.json").unlink()
    (app(p8) / RENAME / "migration.json").unlink()
    code, found, _ = states(p8)
    assert RENAME in found
    assert code != ExitCode.OK


@pytest.mark.xfail(
    strict=True,
    reason="status_contract.local_packages puts the read error in `origin`, not `problem` (see above)",
)
def test_a_package_holding_only_migration_ts_is_invalid_locally(p8: Project) -> None:
    apply_packages(p8.db, app(p8), PACKAGES[:5])
    (app(p8) / RENAME / "ops.json").unlink()
    (app(p8) / RENAME / "migration.json").unlink()
    code, found, _ = states(p8)
    assert code == ExitCode.NEEDS_ATTENTION
    assert found[RENAME] == "invalid locally"
