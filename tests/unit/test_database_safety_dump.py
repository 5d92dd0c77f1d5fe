"""The safety dump's gzip level, and how ANALYZE shares the restored tables out."""

from __future__ import annotations

import gzip
import io
import subprocess
import zlib
from pathlib import Path

from pydantic import SecretStr

from pytest_promotion.database.backup import (
    SAFETY_FALLBACK_LEVEL,
    SAFETY_LEVEL,
    PendingBackup,
    describe_backup,
    safety_level,
)
from pytest_promotion.database.checks import check_backup
from pytest_promotion.database.restore import share_out
from pytest_promotion.database.url import parse_database_url

DUMP = b"--\n-- PostgreSQL database dump\n--\n\nSELECT 1;\n\n--\n-- PostgreSQL database dump complete\n--\n\n"


def test_the_safety_dump_is_stored_when_the_folder_has_room_and_compressed_when_not() -> None:
    assert SAFETY_LEVEL == 0
    assert safety_level(free=10 * 2**30, table_bytes=2**30) == SAFETY_LEVEL
    assert safety_level(free=2 * 2**30, table_bytes=2**30) == SAFETY_LEVEL
    assert safety_level(free=2 * 2**30 - 1, table_bytes=2**30) == SAFETY_FALLBACK_LEVEL
    assert safety_level(free=0, table_bytes=0) == SAFETY_LEVEL


def test_a_stored_safety_dump_is_a_gzip_backup_checked_like_any_other(tmp_path: Path) -> None:
    final, partial = tmp_path / "pre-rollback-20250101T000000Z.sql.gz", tmp_path / ".partial"
    proc = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(DUMP * 100)
    proc.stdin.close()
    target = parse_database_url(SecretStr("postgresql://u@h/db"))
    pending = PendingBackup(
        target=target, final=final, partial=partial, proc=proc, errors=io.BytesIO(), level=SAFETY_LEVEL
    )
    handle = partial.open("wb")
    pending.start(handle, SAFETY_LEVEL)
    assert pending.wait() == final
    data = final.read_bytes()
    assert gzip.decompress(data) == DUMP * 100
    assert len(data) > len(DUMP * 100)  # stored: no compression at all
    assert zlib.decompressobj(31).decompress(data) == DUMP * 100
    assert check_backup(describe_backup(final), (17, 6)).complete


def test_analyze_shares_the_tables_out_largest_first_over_the_sessions() -> None:
    tables = [(10, "a.small"), (1000, "a.big"), (600, "a.mid"), (500, "a.other")]
    assert share_out(tables, 2) == [["a.big", "a.small"], ["a.mid", "a.other"]]  # 1010 and 1100
    assert share_out(tables, 1) == [["a.big", "a.mid", "a.other", "a.small"]]
    assert share_out([(5, "a.only")], 2) == [["a.only"]]
    assert share_out([], 2) == []
