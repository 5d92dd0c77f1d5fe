"""``pg_dump`` of one schema into ``<backups>/<UTC timestamp>.sql.gz``, and finding backups again.

A backup is written under a hidden temporary name and renamed only once pg_dump has finished
and the bytes are on disk, so a crash or Ctrl-C never leaves a half file that looks like a backup.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pytest_promotion.database.contract_schema import companion_schemas
from pytest_promotion.database.errors import DatabaseError
from pytest_promotion.database.tools import PgTools, child_environment, run_psql, tool_message
from pytest_promotion.database.url import DatabaseTarget, quote_literal

SUFFIX = ".sql.gz"
SAFETY_PREFIX = "pre-rollback-"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# 20250101T120000Z, 2025-01-01T12:00:00Z, 2025-01-01_12-00-00, 20250101-120000 …
_NAME_TIMESTAMP = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})[T_ -]?(\d{2})[:-]?(\d{2})[:-]?(\d{2})")


@dataclass(frozen=True)
class BackupFile:
    """A backup on disk and when it was taken (from its name, else its modification time)."""

    path: Path
    taken_at: datetime
    mtime: float


def backup_name(now: datetime, prefix: str = "") -> str:
    """``20250101T120000Z.sql.gz``; safety dumps get ``pre-rollback-`` in front."""
    return f"{prefix}{now.astimezone(UTC).strftime(TIMESTAMP_FORMAT)}{SUFFIX}"


def timestamp_in_name(name: str) -> datetime | None:
    """The UTC timestamp a backup's file name carries, if any."""
    match = _NAME_TIMESTAMP.search(name)
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def list_backups(folder: Path) -> list[BackupFile]:
    """The backups in ``folder``, oldest first: by the timestamp in the name, then mtime.

    Safety dumps (``pre-rollback-*``) are left out: after a rollback the newest file would
    otherwise be the state just rolled away from. Restore one with ``--backup`` on purpose.
    """
    found = []
    if not folder.is_dir():
        return []
    for path in folder.glob(f"*{SUFFIX}"):
        if not path.is_file() or path.name.startswith(SAFETY_PREFIX):
            continue
        mtime = path.stat().st_mtime
        taken = timestamp_in_name(path.name) or datetime.fromtimestamp(mtime, UTC)
        found.append(BackupFile(path=path, taken_at=taken, mtime=mtime))
    return sorted(found, key=lambda backup: (backup.taken_at, backup.mtime, backup.path.name))


def describe_backup(path: Path) -> BackupFile:
    """A backup file named explicitly (``--backup``)."""
    mtime = path.stat().st_mtime
    return BackupFile(
        path=path, taken_at=timestamp_in_name(path.name) or datetime.fromtimestamp(mtime, UTC), mtime=mtime
    )


def create_backup(
    target: DatabaseTarget, tools: PgTools, folder: Path, *, prefix: str = "", now: datetime | None = None
) -> Path:
    """Dump ``target``'s schema to a new gzip file in ``folder``; its path, or DatabaseError.

    Only the target's schema is dumped (with the extensions that live in it), because a
    rollback resets exactly that schema; pg_dump then writes ``CREATE SCHEMA`` with its owner and
    grants, so they come back too. An existing backup is never overwritten.
    """
    folder.mkdir(parents=True, exist_ok=True)
    moment = now or datetime.now(UTC)
    final = folder / backup_name(moment, prefix)
    counter = 1
    while final.exists():
        counter += 1
        final = folder / backup_name(moment, prefix).replace(SUFFIX, f"-{counter}{SUFFIX}")
    partial = folder / f".{final.name}.{secrets.token_hex(4)}.partial"
    args = [
        str(tools.pg_dump),
        "--no-password",
        "--format=plain",
        "--compress=6",
        f"--file={partial}",
        f"--schema={_pattern(target.schema)}",
        *(f"--extension={_pattern(name)}" for name in schema_extensions(target, tools)),
        # Prisma 8's ledger and marker travel with the schema they describe (contract_schema.py)
        *(f"--schema={_pattern(name)}" for name in companion_schemas(target, tools)),
    ]
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, env=child_environment(target), check=False
        )
        if done.returncode != 0:
            raise DatabaseError(
                f"pg_dump of {target.display()} failed: {tool_message(done.stderr, target)}. "
                "No backup was written and nothing was changed; fix the cause and run again."
            )
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, final)
        _fsync_folder(folder)
    finally:
        partial.unlink(missing_ok=True)
    return final


def schema_extensions(target: DatabaseTarget, tools: PgTools) -> list[str]:
    """Extensions installed in the target's schema: a schema-only pg_dump would leave them out."""
    sql = (
        "SELECT e.extname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n "
        f"ON n.oid = e.extnamespace WHERE n.nspname = {quote_literal(target.schema)} ORDER BY 1"
    )
    out = run_psql(tools, target, sql, what=f"list the extensions of schema {target.schema!r}")
    return [line for line in out.splitlines() if line]


def _pattern(name: str) -> str:
    """A pg_dump ``-n``/``-e`` pattern matching exactly ``name`` (case and wildcards kept literal)."""
    return '"' + name.replace('"', '""') + '"'


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
