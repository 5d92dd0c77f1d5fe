"""migrate status rules on plain data: every state, Prisma's checksum rule, repeated names, exit codes."""

from __future__ import annotations

import hashlib
import json

import pytest

from pytest_promotion.database.exit_codes import ExitCode
from pytest_promotion.database.status import (
    HistoryRow,
    LocalMigration,
    State,
    compare,
    matches_checksum,
    to_json,
)

SQL = b'CREATE TABLE "A" (id int);\nCREATE TABLE "B" (id int);\n'


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def row(
    name: str,
    content: bytes = SQL,
    *,
    at: str = "2024-01-01T00:00:00",
    done: bool = True,
    rolled_back: bool = False,
) -> HistoryRow:
    return HistoryRow(
        migration_name=name,
        checksum=sha(content),
        started_at=at,
        finished_at=at if done else None,
        rolled_back_at=at if rolled_back else None,
        applied_steps_count=1 if done else 0,
    )


def states(local: dict[str, bytes], rows: list[HistoryRow] | None) -> dict[str, State]:
    report = compare([LocalMigration(n, c) for n, c in local.items()], rows)
    return {m.name: m.state for m in report.migrations}


def test_checksum_rule_line_endings_yes_bom_no() -> None:
    stored = sha(SQL)
    assert matches_checksum(SQL, stored)
    assert matches_checksum(SQL.replace(b"\n", b"\r\n"), stored)  # a CRLF checkout of an LF migration
    assert matches_checksum(SQL, sha(SQL.replace(b"\n", b"\r\n")))  # an LF checkout of a CRLF migration
    assert not matches_checksum(b"\xef\xbb\xbf" + SQL, stored)  # a BOM added is an edit
    assert not matches_checksum(SQL + b"-- note\n", stored)


@pytest.mark.parametrize(
    ("local", "rows", "expected", "code"),
    [
        ({"1_a": SQL}, [row("1_a")], {"1_a": State.APPLIED}, ExitCode.OK),
        (
            {"1_a": SQL, "2_b": SQL},
            [row("1_a")],
            {"1_a": State.APPLIED, "2_b": State.PENDING},
            ExitCode.PENDING,
        ),
        ({"1_a": SQL}, [row("1_a", rolled_back=True)], {"1_a": State.ROLLED_BACK}, ExitCode.PENDING),
        ({"1_a": SQL}, [row("1_a", done=False)], {"1_a": State.FAILED}, ExitCode.NEEDS_ATTENTION),
        ({"1_a": SQL + b"--x\n"}, [row("1_a")], {"1_a": State.MODIFIED}, ExitCode.NEEDS_ATTENTION),
        ({}, [row("1_a")], {"1_a": State.MISSING_LOCALLY}, ExitCode.NEEDS_ATTENTION),
        ({"1_a": SQL}, None, {"1_a": State.PENDING}, ExitCode.PENDING),
        # Repeated names: a failed attempt rolled back, then applied again -> judged by the latest live row.
        (
            {"1_a": SQL},
            [row("1_a", at="1", done=False, rolled_back=True), row("1_a", at="2")],
            {"1_a": State.APPLIED},
            ExitCode.OK,
        ),
        # An old applied row with another checksum, superseded by a newer one that matches.
        (
            {"1_a": SQL},
            [row("1_a", b"old", at="1", rolled_back=True), row("1_a", at="2")],
            {"1_a": State.APPLIED},
            ExitCode.OK,
        ),
        (
            {"1_a": SQL},
            [row("1_a", at="1"), row("1_a", b"newer", at="2")],
            {"1_a": State.MODIFIED},
            ExitCode.NEEDS_ATTENTION,
        ),
        # Rolled back and deleted from the folder: nothing left to report.
        ({}, [row("1_a", rolled_back=True)], {}, ExitCode.OK),
    ],
)
def test_states_and_exit_codes(
    local: dict[str, bytes], rows: list[HistoryRow] | None, expected: dict[str, State], code: ExitCode
) -> None:
    assert states(local, rows) == expected
    assert compare([LocalMigration(n, c) for n, c in local.items()], rows).exit_code == code


def test_not_managed_is_never_up_to_date() -> None:
    report = compare([], None)
    assert not report.up_to_date
    assert report.exit_code == ExitCode.PENDING
    assert "Not managed by Prisma Migrate" in report.verdict()


def test_verdict_and_json() -> None:
    report = compare(
        [LocalMigration("1_a", SQL), LocalMigration("2_b", SQL)], [row("1_a", done=False), row("0_gone")]
    )
    assert report.verdict().startswith(
        "Not up to date: 1 pending, 1 failed, 1 missing locally. A person must look"
    )
    data = json.loads(to_json(report, database="postgresql://u:***@h/db", schema="public"))
    assert data["version"] == 1
    assert data["exit_code"] == 5
    assert data["up_to_date"] is False
    assert data["counts"]["failed"] == 1
    assert data["migrations"][0] == {
        "detail": "applied at 2024-01-01T00:00:00",
        "name": "0_gone",
        "state": "missing locally",
    }
