"""Backup checks on files made here: each way a backup can be unsafe is refused before a restore."""

from __future__ import annotations

import gzip
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database.backup import (
    SAFETY_PREFIX,
    describe_backup,
    list_backups,
    metadata_line,
    timestamp_in_name,
)
from pytest_promotion.database.checks import check_backup, mismatches
from pytest_promotion.database.errors import BackupRefusedError
from pytest_promotion.database.units import human_size
from pytest_promotion.database.url import parse_database_url

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


def test_a_cut_gzip_reports_the_bytes_that_did_decompress(tmp_path: Path) -> None:
    """gzip.open read ahead and reported "after 0 bytes" for a 37 kB dump cut inside its stream."""
    rows = "".join(f"{i}\trow {i} {os.urandom(8).hex()}\n" for i in range(1400))
    body = DUMP.replace("1\n\\.", rows + "\\.").encode()
    assert len(body) > 37_000
    data = gzip.compress(body)
    with pytest.raises(BackupRefusedError) as refused:
        check(write(tmp_path, data[: len(data) * 3 // 4]))
    count = int(re.search(r"after ([\d,]+) bytes of SQL", str(refused.value)).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert len(body) // 2 < count < len(body)
    assert " KiB)" in str(refused.value)


def test_trailing_garbage_after_the_gzip_stream_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackupRefusedError, match="is not a complete gzip file"):
        check(write(tmp_path, gzip.compress(DUMP.encode()) + b"garbage"))


def test_zero_padding_after_the_gzip_stream_is_accepted_as_gzip_does(tmp_path: Path) -> None:
    """A backup copied through a block device gains trailing zeros; ``gunzip -t`` accepts it."""
    assert check(write(tmp_path, gzip.compress(DUMP.encode()) + bytes(512))).size == len(DUMP.encode())
    with pytest.raises(BackupRefusedError, match="is not a complete gzip file"):
        check(write(tmp_path, gzip.compress(DUMP.encode()) + bytes(512) + b"garbage"))


def test_metadata_line_records_the_source_and_a_mismatch_is_named(tmp_path: Path) -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    target = parse_database_url(SecretStr("postgresql://u:pw@h/shop?schema=app"))
    data = gzip.compress(metadata_line(target, moment)) + gzip.compress(DUMP.encode())
    checked = check(write(tmp_path, data))
    assert checked.source is not None
    assert (checked.source.database, checked.source.schema, checked.taken_at) == ("shop", "app", moment)
    assert checked.object_schemas == {"app"}
    assert mismatches(checked, target) == []
    public = parse_database_url(SecretStr("postgresql://u:pw@h/shop"))
    assert mismatches(checked, public) == [
        'it creates objects in schema "app", not in the target schema "public"'
    ]
    other = parse_database_url(SecretStr("postgresql://u:pw@h/other?schema=app"))
    assert mismatches(checked, other) == ['it was taken of database "shop", not "other"']


def test_objects_outside_the_schema_are_found_in_a_dump_without_metadata(tmp_path: Path) -> None:
    extra = "--\n-- Name: f(); Type: FUNCTION; Schema: audit; Owner: postgres\n--\n\nCREATE FUNCTION audit.f() ...;\n\n"
    dump = DUMP.replace("COPY app.t", extra + "COPY app.t")
    checked = check(write(tmp_path, gzip.compress(dump.encode())))
    assert checked.source is None
    assert checked.object_schemas == {"app", "audit"}
    target = parse_database_url(SecretStr("postgresql://u:pw@h/shop?schema=app"))
    assert mismatches(checked, target) == [
        'it creates objects in schema "audit", not in the target schema "app"'
    ]


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (1023, "1023 B"), (37_000, "36.1 KiB"), (5 * 2**20, "5.0 MiB"), (3 * 2**30, "3.00 GiB")],
)
def test_sizes_are_never_shown_as_zero_mib(size: int, shown: str) -> None:
    assert human_size(size) == shown
