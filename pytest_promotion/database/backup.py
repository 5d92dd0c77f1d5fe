"""``pg_dump`` of one schema into ``<backups>/<UTC timestamp>.sql.gz``, and finding backups again.

A backup is written under a hidden temporary name and renamed only once pg_dump has finished
and the bytes are on disk, so a crash or Ctrl-C never leaves a half file that looks like a backup.
It holds all the data of the schema, so it is written owner-only.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from pytest_promotion.database.contract_schema import CONTRACT_SCHEMA
from pytest_promotion.database.errors import BackupsDirError, DatabaseError
from pytest_promotion.database.tools import PgTools, child_environment, run_psql, tool_message
from pytest_promotion.database.url import DatabaseTarget, quote_literal

SUFFIX = ".sql.gz"
METADATA_PREFIX = b"-- pytest-promotion backup: "
METADATA_VERSION = 1
BACKUP_LEVEL = 6
"""gzip level of ``pytest-promotion backup``: kept for days, so small."""
SAFETY_LEVEL = 0
"""gzip level of a rollback's safety dump: 0 ("stored", no compression). It is taken while the
incident waits, and level 1 still cost twice pg_dump's own time; stored, the dump runs at
pg_dump's pace. The file is then about as large as its SQL (it is still a gzip stream, checked
like any backup)."""
SAFETY_FALLBACK_LEVEL = 1
"""The safety dump's level when the backups folder has no room for a stored one (a third of the size)."""
SAFETY_ROOM = 2
"""A stored safety dump needs this many times the schema's table bytes free (text can outgrow them)."""
COMPLETE_MARK = b"-- PostgreSQL database dump complete"
_CHUNK = 1 << 20
_TAIL = 1 << 16
DEFAULT_LOCK_TIMEOUT = 5.0
"""Seconds a backup or restore waits for a lock another session holds before it gives up."""
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
    target: DatabaseTarget,
    tools: PgTools,
    folder: Path,
    *,
    prefix: str = "",
    now: datetime | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    level: int = BACKUP_LEVEL,
) -> Path:
    """Dump ``target``'s schema to a new gzip file in ``folder``; its path, or DatabaseError.

    See :func:`start_backup`; this waits for it.
    """
    return start_backup(
        target, tools, folder, prefix=prefix, now=now, lock_timeout=lock_timeout, level=level
    ).wait()


def start_backup(
    target: DatabaseTarget,
    tools: PgTools,
    folder: Path,
    *,
    prefix: str = "",
    now: datetime | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    level: int | None = BACKUP_LEVEL,
    facts: DumpFacts | None = None,
) -> PendingBackup:
    """Start dumping ``target``'s schema into a new gzip file in ``folder``; wait() for its path.

    Only the target's schema is dumped (with the extensions that live in it), because a
    rollback resets exactly that schema; pg_dump then writes ``CREATE SCHEMA`` with its owner and
    grants, so they come back too. The file holds all the schema's data, so it is created
    owner-only (0600). It starts with a one-line gzip member naming the database, schema and
    time (a SQL comment: plain ``gunzip -c | psql`` still replays it), then pg_dump's plain SQL,
    compressed here at ``level`` in a thread (in parallel with pg_dump, instead of inside it)
    while its last bytes are kept to verify the closing line. pg_dump waits at most
    ``lock_timeout`` seconds for a table another session holds exclusively (a migration
    running). An existing backup is never overwritten. ``level=None`` is a safety dump's choice:
    :data:`SAFETY_LEVEL` when the folder has room for it, else :data:`SAFETY_FALLBACK_LEVEL`.
    ``facts`` is :func:`dump_facts`'s answer when the caller already asked (it is asked here otherwise).
    """
    make_backups_dir(folder)
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    final = folder / backup_name(moment, prefix)
    counter = 1
    while final.exists():
        counter += 1
        final = folder / backup_name(moment, prefix).replace(SUFFIX, f"-{counter}{SUFFIX}")
    partial = folder / f".{final.name}.{secrets.token_hex(4)}.partial"
    facts = facts or dump_facts(target, tools)
    if level is None:
        level = safety_level(shutil.disk_usage(folder).free, facts.table_bytes)
    args = [
        str(tools.pg_dump),
        "--no-password",
        "--format=plain",
        f"--lock-wait-timeout={max(int(lock_timeout * 1000), 1)}",
        f"--schema={_pattern(target.schema)}",
        *(f"--extension={_pattern(name)}" for name in facts.extensions),
        # Prisma 8's ledger and marker travel with the schema they describe (contract_schema.py)
        *(f"--schema={_pattern(name)}" for name in facts.companions),
    ]
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise _write_error(final, exc) from None
    handle = os.fdopen(fd, "wb")
    try:
        handle.write(gzip.compress(metadata_line(target, moment), mtime=0))
        errors = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by PendingBackup.wait() or cancel()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=child_environment(target))
    except BaseException as exc:
        handle.close()
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_error(final, exc) from None
        raise
    pending = PendingBackup(
        target=target, final=final, partial=partial, proc=proc, errors=errors, level=level
    )
    pending.start(handle, level)
    return pending


class PendingBackup:
    """A backup being written: pg_dump's output compressed by a thread; wait() or cancel() it."""

    def __init__(
        self,
        *,
        target: DatabaseTarget,
        final: Path,
        partial: Path,
        proc: subprocess.Popen[bytes],
        errors: IO[bytes],
        level: int = BACKUP_LEVEL,
    ) -> None:
        self.target = target
        self.level = level
        """The gzip level the file is written at."""
        self.final = final
        self.partial = partial
        self.proc = proc
        self.errors = errors
        self.written = 0
        """Bytes of SQL pg_dump has produced so far."""
        self.started = time.perf_counter()
        self._tail = b""
        self._failure: OSError | None = None
        self._thread: threading.Thread | None = None

    def start(self, handle: IO[bytes], level: int) -> None:
        """Compress pg_dump's output into ``handle`` in a thread."""
        self._thread = threading.Thread(target=self._compress, args=(handle, level), daemon=True)
        self._thread.start()

    def _compress(self, handle: IO[bytes], level: int) -> None:
        assert self.proc.stdout is not None
        encoder = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        try:
            with handle:
                while chunk := self.proc.stdout.read(_CHUNK):
                    self.written += len(chunk)
                    self._tail = (self._tail + chunk)[-_TAIL:]
                    handle.write(encoder.compress(chunk))
                handle.write(encoder.flush())
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:  # disk full: stop reading, pg_dump then fails on its broken pipe
            self._failure = exc
            self.proc.stdout.close()

    def wait(self) -> Path:
        """The finished backup's path, once pg_dump succeeded and its closing line was written."""
        try:
            returncode = self.proc.wait()
            assert self._thread is not None
            self._thread.join()
            if self._failure is not None:
                raise _write_error(self.final, self._failure)
            if returncode != 0:
                self.errors.seek(0)
                message = tool_message(self.errors.read().decode("utf-8", "replace"), self.target)
                raise DatabaseError(
                    f"pg_dump of {self.target.display()} failed: {message}. "
                    "No backup was written and nothing was changed; fix the cause and run again."
                )
            if COMPLETE_MARK not in self._tail:
                raise DatabaseError(
                    f"pg_dump of {self.target.display()} ended without its closing line "
                    f"({COMPLETE_MARK.decode()}); no backup was written and nothing was changed. Run again."
                )
            try:
                os.replace(self.partial, self.final)
                _fsync_folder(self.final.parent)
            except OSError as exc:
                raise _write_error(self.final, exc) from None
            return self.final
        finally:
            self.errors.close()
            self.partial.unlink(missing_ok=True)

    def cancel(self) -> None:
        """Stop pg_dump and remove the partial file (the rollback was not confirmed)."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        if self._thread is not None:
            self._thread.join()
        self.errors.close()
        self.partial.unlink(missing_ok=True)


def _write_error(final: Path, exc: OSError) -> DatabaseError:
    return DatabaseError(
        f"Could not write the backup {final} ({exc.strerror or exc}); no backup was written and "
        "nothing was changed. Free disk space or fix the folder's permissions, and run again."
    )


def metadata_line(target: DatabaseTarget, moment: datetime) -> bytes:
    """The SQL comment that records what a backup is of, so a rollback can refuse the wrong one."""
    data = {
        "database": target.database,
        "schema": target.schema,
        "taken_at": moment.astimezone(UTC).isoformat(),
        "version": METADATA_VERSION,
    }
    return METADATA_PREFIX + json.dumps(data, sort_keys=True).encode() + b"\n"


def check_backups_dir(folder: Path) -> None:
    """BackupsDirError unless ``folder`` is, or can be created as, a writable folder; creates nothing."""
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise BackupsDirError(f"{folder} exists but is not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise BackupsDirError(f"{folder} is not writable")
        return
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise BackupsDirError(f"{folder} cannot be created: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BackupsDirError(f"{folder} cannot be created: {parent} is not writable")


def make_backups_dir(folder: Path) -> None:
    """Create the backups folder (owner-only when new); BackupsDirError when it cannot be."""
    check_backups_dir(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError:
        raise BackupsDirError(f"{folder} cannot be created: a file or a broken link is in its way") from None
    except OSError as exc:
        raise BackupsDirError(f"{folder} cannot be created ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupsDirError(f"{folder} is not writable")


@dataclass(frozen=True)
class DumpFacts:
    """What pg_dump must be told, and how much it will write, from one query."""

    extensions: list[str]
    """Extensions installed in the target's schema: a schema-only pg_dump would leave them out."""
    companions: list[str]
    """Schemas that travel with the target's (Prisma 8's ``prisma_contract``, contract_schema.py)."""
    table_bytes: int
    """On-disk size of the tables dumped (heap and TOAST): about the size of their SQL."""


def dump_facts(target: DatabaseTarget, tools: PgTools) -> DumpFacts:
    """The extensions, companion schemas and table bytes of what a backup of ``target`` dumps."""
    schema = quote_literal(target.schema)
    # The contract schema never travels with itself (contract_schema.has_contract_schema).
    contract = quote_literal(CONTRACT_SCHEMA) if target.schema != CONTRACT_SCHEMA else "NULL"
    sql = (
        "SELECT json_build_object("
        "'extensions', coalesce((SELECT json_agg(e.extname ORDER BY e.extname) FROM pg_catalog.pg_extension e "
        f"JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = {schema}), '[]'), "
        f"'contract', EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = {contract}), "
        # relpages, not pg_table_size: that takes a lock, and a session holding ACCESS EXCLUSIVE
        # (a stuck migration: what a rollback is for) would hang the checks behind it.
        "'bytes', (SELECT coalesce(sum(c.relpages::bigint + coalesce(t.relpages, 0)), 0) "
        "* current_setting('block_size')::bigint FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid "
        f"WHERE c.relkind = 'r' AND n.nspname IN ({schema}, {contract})))"
    )
    out = run_psql(tools, target, sql, what=f"list the extensions of schema {target.schema!r}")
    data = json.loads(out)
    return DumpFacts(
        extensions=[str(name) for name in data["extensions"]],
        companions=[CONTRACT_SCHEMA] if data["contract"] else [],
        table_bytes=int(data["bytes"]),
    )


def safety_level(free: int, table_bytes: int) -> int:
    """The safety dump's gzip level: stored when ``free`` bytes hold it with room to spare."""
    return SAFETY_LEVEL if free >= SAFETY_ROOM * table_bytes else SAFETY_FALLBACK_LEVEL


def _pattern(name: str) -> str:
    """A pg_dump ``-n``/``-e`` pattern matching exactly ``name`` (case and wildcards kept literal)."""
    return '"' + name.replace('"', '""') + '"'


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
