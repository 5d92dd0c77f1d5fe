"""Backup checks on files made here: each way a backup can be unsafe is refused before a restore."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database.backup import SAFETY_PREFIX, describe_backup, list_backups, timestamp_in_name
from pytest_promotion.database.checks import check_backup
from pytest_promotion.database.errors import BackupRefusedError

DUMP = """--
-- PostgreSQL database dump
--

\\restrict abc123

-- Dumped from database version 15.20
-- Dumped by pg_dump version 15.20

--
-- Name: app; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA app;

COPY app.t (x) FROM stdin;
1
\\.

--
-- PostgreSQL database dump complete
--

\\unrestrict abc123

"""


def write(tmp_path: Path, data: bytes, name: str = "20250101T000000Z.sql.gz") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def check(path: Path, psql: tuple[int, int] = (15, 20)):  # type: ignore[no-untyped-def]
    return check_backup(describe_backup(path), psql)


def test_a_complete_dump_passes_and_is_described(tmp_path: Path) -> None:
    checked = check(write(tmp_path, gzip.compress(DUMP.encode())))
    assert checked.size == len(DUMP.encode())
    assert checked.restrict
    assert checked.dumped_by == (15, 20)
    assert checked.created_schemas == {"app"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (gzip.compress(DUMP.encode())[:-30], "is not a complete gzip file"),
        (DUMP.encode(), "is not a complete gzip file"),  # not compressed at all
        (gzip.compress(DUMP.encode()[: len(DUMP) // 2]), "does not end with pg_dump's closing line"),
        (gzip.compress(b"PGDMP\x01\x0e\x00" + b"x" * 100), "custom-format"),
        (gzip.compress(b"--\n-- PostgreSQL database cluster dump\n--\n"), "pg_dumpall cluster dump"),
        (gzip.compress(b"SELECT 1;\n"), "not a plain-format pg_dump file"),
        (gzip.compress(b""), "is empty"),
    ],
    ids=[
        "cut-short",
        "not-compressed",
        "half-a-dump",
        "custom-format",
        "cluster-dump",
        "not-pg-dump",
        "empty",
    ],
)
def test_unsafe_backups_are_refused(tmp_path: Path, data: bytes, expected: str) -> None:
    with pytest.raises(BackupRefusedError, match=expected):
        check(write(tmp_path, data))


def test_psql_too_old_for_restrict_is_a_configuration_error(tmp_path: Path) -> None:
    path = write(tmp_path, gzip.compress(DUMP.encode()))
    with pytest.raises(ConfigError, match=r"psql 15.13 rejects. Install psql 15.14 or later"):
        check(path, (15, 13))
    assert check(path, (18, 0)).restrict
    no_restrict = DUMP.replace("\\restrict abc123\n", "").replace("\\unrestrict abc123\n", "")
    assert not check(write(tmp_path, gzip.compress(no_restrict.encode()), "b.sql.gz"), (15, 13)).restrict


def test_newest_backup_by_name_timestamp_then_mtime_without_safety_dumps(tmp_path: Path) -> None:
    for name, mtime in [
        ("20250102T000000Z.sql.gz", 100),
        ("backup-2025-01-03_00-00-00.sql.gz", 50),
        ("20250103T000000Z.sql.gz", 60),
        (f"{SAFETY_PREFIX}20250109T000000Z.sql.gz", 900),
        ("notes.txt", 999),
    ]:
        path = write(tmp_path, b"", name)
        os.utime(path, (mtime, mtime))
    names = [b.path.name for b in list_backups(tmp_path)]
    assert names == [
        "20250102T000000Z.sql.gz",
        "backup-2025-01-03_00-00-00.sql.gz",
        "20250103T000000Z.sql.gz",
    ]
    assert timestamp_in_name("x.sql.gz") is None
    assert list_backups(tmp_path / "missing") == []
