"""Checks a backup passes before anything touches the database.

Each one stops a way a careless restore loses data: a gzip cut short fails halfway through;
a custom-format or cluster dump is not something psql can replay; a plain dump cut short
*inside* a valid gzip replays half the rows and commits; and a psql older than the pg_dump that
wrote ``\\restrict`` lines rejects the whole file. The whole stream is decompressed once here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database.backup import METADATA_PREFIX, BackupFile
from pytest_promotion.database.contract_schema import CONTRACT_SCHEMA
from pytest_promotion.database.errors import BackupRefusedError
from pytest_promotion.database.gzipstream import GzipStreamError, gzip_chunks
from pytest_promotion.database.tools import restrict_release, understands_restrict
from pytest_promotion.database.units import human_size
from pytest_promotion.database.url import DatabaseTarget

PLAIN_HEADER = b"--\n-- PostgreSQL database dump\n--\n"
COMPLETE_LINE = b"-- PostgreSQL database dump complete"
_HEAD_BYTES = 8192
_TAIL_BYTES = 1 << 16
_COMPLETE = re.compile(
    rb"^-- PostgreSQL database dump complete\n--\n\s*(?:\\unrestrict [^\n]*\n?\s*)?\Z", re.MULTILINE
)
_RESTRICT = re.compile(rb"^\\restrict \S+$", re.MULTILINE)
_DUMPED_BY = re.compile(rb"^-- Dumped by pg_dump version (\d+)(?:\.(\d+))?", re.MULTILINE)
# pg_dump's table-of-contents comment before each object: it names the schema the object is
# created in ("-" for none). COPY data cannot forge one: it needs a line "--" and an empty line.
_TOC_START = b"\n--\n-- "
_TOC = re.compile(
    rb"--\n-- (?:Data for )?Name: ([^\n]*); Type: ([^;\n]+); Schema: ([^;\n]+)(?:;[^\n]*)?\n--\n\n"
)
_STATEMENT = re.compile(rb"(?:[^\n]+\n)+")
_CREATE_SCHEMA = re.compile(rb"CREATE SCHEMA ([^\n;]+);\n")
_EXTENSION_SCHEMA = re.compile(rb"CREATE EXTENSION IF NOT EXISTS [^\n]+ WITH SCHEMA ([^\n;]+);\n")
_CARRY = 4096
HEAD_CHECK_BYTES = 1 << 20
"""SQL checked before a rollback starts; a backup this small is checked in full first."""


@dataclass(frozen=True, kw_only=True)
class BackupSource:
    """Where a backup was taken, from the line ``pytest-promotion backup`` writes first."""

    database: str
    schema: str
    taken_at: datetime


@dataclass(frozen=True)
class CheckedBackup:
    """A backup that passed every check, and what the restore needs to know about it."""

    file: BackupFile
    compressed_size: int
    size: int
    """Uncompressed bytes: what the restore streams into psql."""
    restrict: bool
    """Whether it holds ``\\restrict`` lines (pg_dump 17.6, 16.10, 15.14, 14.19, 13.22 and later)."""
    dumped_by: tuple[int, int] | None
    created_schemas: frozenset[str]
    """Schemas the dump creates itself (a schema dump does; a whole-database dump of public does not)."""
    schema_grants: tuple[tuple[str, str], ...] = ()
    """Each schema's GRANT/REVOKE lines, relative to its initial privileges (how pg_dump writes them)."""
    object_schemas: frozenset[str] = frozenset()
    """Every schema the dump creates objects in (tables, data, functions, extensions)."""
    source: BackupSource | None = None
    """The database and schema it was taken of; None for a dump not written by ``backup``."""
    complete: bool = True
    """False when only the head was checked: the rest is checked while the restore streams it,
    and the restore commits only if it passes."""

    @property
    def taken_at(self) -> datetime:
        """When the data was read: the recorded time, else the one in the name or the mtime."""
        return self.source.taken_at if self.source is not None else self.file.taken_at


class BackupScanner:
    """What the checks learn from a backup's SQL, fed chunk by chunk in stream order.

    Only lines that start a table-of-contents entry are looked at (found with ``bytes.find``),
    so scanning costs little next to decompressing, and can run alongside a restore.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.head = b""
        self.tail = b""
        self._carry = b""
        self.schemas: set[str] = set()
        self.objects: set[str] = set()
        self.grants: dict[str, str] = {}

    def feed(self, chunk: bytes) -> None:
        """Take the next decompressed chunk; BackupRefusedError as soon as the head shows a wrong format."""
        if len(self.head) < _HEAD_BYTES:
            self.head += chunk[: _HEAD_BYTES - len(self.head)]
            if len(self.head) >= _HEAD_BYTES:
                _check_format(self.path, self.head)
        self.size += len(chunk)
        window = self._carry + chunk
        pos = window.find(_TOC_START)
        while pos != -1:
            entry = _TOC.match(window, pos + 1)
            if entry is not None:
                self._entry(window, entry)
            pos = window.find(_TOC_START, pos + 1)
        self._carry = window[-_CARRY:]
        self.tail = (self.tail + chunk)[-_TAIL_BYTES:]

    def _entry(self, window: bytes, entry: re.Match[bytes]) -> None:
        name, kind, schema = entry.groups()
        if schema != b"-":
            self.objects.add(_schema_name(schema))
        body = _STATEMENT.match(window, entry.end())
        if body is None:
            return
        if kind == b"SCHEMA":
            created = _CREATE_SCHEMA.match(body.group(0))
            if created is not None:
                self.schemas.add(_schema_name(created.group(1)))
        elif kind == b"EXTENSION":
            extension = _EXTENSION_SCHEMA.match(body.group(0))
            if extension is not None:
                self.objects.add(_schema_name(extension.group(1)))
        elif kind == b"ACL" and schema == b"-" and name.startswith(b"SCHEMA "):
            self.grants[_schema_name(name[len(b"SCHEMA ") :])] = body.group(0).decode("utf-8", "replace")

    def unreadable(self, exc: GzipStreamError | OSError) -> BackupRefusedError:
        """The refusal for a stream that cannot be read to its end."""
        if isinstance(exc, GzipStreamError):
            return BackupRefusedError(
                f"{self.path}: is not a complete gzip file ({exc.reason}); after {exc.decompressed:,} bytes "
                f"of SQL ({human_size(exc.decompressed)}) it cannot be read to the end, so restoring it "
                "would fail halfway. Nothing was changed; restore an older backup with --backup FILE."
            )
        return BackupRefusedError(
            f"{self.path}: cannot be read ({exc.strerror or exc}). Nothing was changed; check the file's "
            "permissions, or restore another backup with --backup FILE."
        )

    def finish(
        self, file: BackupFile, psql_version: tuple[int, int], *, complete: bool = True
    ) -> CheckedBackup:
        """The checks on what was fed; BackupRefusedError (or ConfigError for psql).

        ``complete=False``: only the head was fed, so the closing line is not looked for yet.
        """
        path = self.path
        head = self.head
        if not head:
            raise BackupRefusedError(
                f"{path}: is empty. Nothing was changed; restore another backup with --backup FILE."
            )
        if len(head) < _HEAD_BYTES:
            _check_format(path, head)
        if complete and not _COMPLETE.search(self.tail.replace(b"\r\n", b"\n")):
            raise BackupRefusedError(
                f"{path}: does not end with pg_dump's closing line ({COMPLETE_LINE.decode()}): the dump "
                "was cut short before it was compressed, and restoring it would commit only part of the "
                "data. Nothing was changed; restore an older backup with --backup FILE."
            )
        source, dump_head = _split_metadata(path, head)
        version_match = _DUMPED_BY.search(dump_head)
        dumped_by = (int(version_match.group(1)), int(version_match.group(2) or 0)) if version_match else None
        restrict = bool(_RESTRICT.search(head) or _RESTRICT.search(self.tail))
        if restrict and not understands_restrict(psql_version):
            made_by = f"pg_dump {dumped_by[0]}.{dumped_by[1]}" if dumped_by else "a recent pg_dump"
            have = f"{psql_version[0]}.{psql_version[1]}"
            raise ConfigError(
                f"{path}: was written by {made_by} and holds \\restrict lines, which psql {have} rejects. "
                f"Install psql {restrict_release(psql_version[0])} or later of your major version "
                "(Debian/Ubuntu: apt-get install postgresql-client) and run again; nothing was changed."
            )
        return CheckedBackup(
            file=file,
            compressed_size=path.stat().st_size,
            size=self.size,
            restrict=restrict,
            dumped_by=dumped_by,
            created_schemas=frozenset(self.schemas),
            schema_grants=tuple(sorted(self.grants.items())),
            object_schemas=frozenset(self.objects | self.schemas),
            source=source,
            complete=complete,
        )


def check_backup(file: BackupFile, psql_version: tuple[int, int]) -> CheckedBackup:
    """Decompress the whole backup and check it; BackupRefusedError (or ConfigError for psql)."""
    scanner = BackupScanner(file.path)
    try:
        for chunk in gzip_chunks(file.path):
            scanner.feed(chunk)
    except (GzipStreamError, OSError) as exc:
        raise scanner.unreadable(exc) from None
    return scanner.finish(file, psql_version)


def check_head(
    file: BackupFile, psql_version: tuple[int, int], limit: int = HEAD_CHECK_BYTES
) -> CheckedBackup:
    """Check the first ``limit`` bytes of SQL (all of a small backup) before anything runs.

    The head says whether it is a plain pg_dump, what it was taken of, whether psql can replay
    it and which schemas it creates; the rest is checked while the restore streams it (one
    decompression instead of two), and a backup that fails there is never committed.
    """
    scanner = BackupScanner(file.path)
    try:
        for chunk in gzip_chunks(file.path):
            scanner.feed(chunk)
            if scanner.size >= limit:
                return scanner.finish(file, psql_version, complete=False)
    except (GzipStreamError, OSError) as exc:
        raise scanner.unreadable(exc) from None
    return scanner.finish(file, psql_version)


def mismatches(backup: CheckedBackup, target: DatabaseTarget) -> list[str]:
    """Why ``backup`` does not belong to ``target``'s schema and database; empty when it does.

    Restoring it anyway would drop the target schema and create the backup's objects somewhere
    else: the target is left empty and the restore commits.
    """
    reasons = []
    # Prisma 8's ledger and marker travel with the schema they describe (contract_schema.py).
    foreign = sorted(backup.object_schemas - {target.schema, CONTRACT_SCHEMA})
    if foreign:
        names = ", ".join(f'"{name}"' for name in foreign)
        reasons.append(f'it creates objects in schema {names}, not in the target schema "{target.schema}"')
    source = backup.source
    if source is not None and source.schema != target.schema and not foreign:
        reasons.append(f'it was taken of schema "{source.schema}", not "{target.schema}"')
    if source is not None and source.database != target.database:
        reasons.append(f'it was taken of database "{source.database}", not "{target.database}"')
    return reasons


def _split_metadata(path: Path, head: bytes) -> tuple[BackupSource | None, bytes]:
    """The metadata line's content (when there is one) and the dump's own head."""
    if not head.startswith(METADATA_PREFIX):
        return None, head
    line, _, rest = head.partition(b"\n")
    try:
        data = json.loads(line[len(METADATA_PREFIX) :])
        source = BackupSource(
            database=str(data["database"]),
            schema=str(data["schema"]),
            taken_at=datetime.fromisoformat(str(data["taken_at"])),
        )
    except (ValueError, KeyError, TypeError):
        raise BackupRefusedError(
            f"{path}: its first line ({METADATA_PREFIX.decode().strip()} …) cannot be read, so it is "
            "not known which database it was taken of. Nothing was changed; restore another backup "
            "with --backup FILE."
        ) from None
    return source, rest


def _check_format(path: Path, head: bytes) -> None:
    head = head.replace(b"\r\n", b"\n")
    if head.startswith(METADATA_PREFIX):
        head = head.partition(b"\n")[2]
    if head.startswith(PLAIN_HEADER):
        return
    if head.startswith(b"PGDMP"):
        kind = "a custom-format (pg_dump -Fc) archive, which psql cannot replay"
    elif len(head) > 262 and head[257:262] == b"ustar":
        kind = "a tar-format (pg_dump -Ft) archive, which psql cannot replay"
    elif head.startswith(b"--\n-- PostgreSQL database cluster dump"):
        kind = "a pg_dumpall cluster dump, not the dump of one database"
    else:
        kind = "not a plain-format pg_dump file (it does not start with '-- PostgreSQL database dump')"
    raise BackupRefusedError(
        f"{path}: is {kind}. Nothing was changed; back up with `pytest-promotion backup` "
        "(plain SQL, gzip) or restore another file with --backup FILE."
    )


def _schema_name(raw: bytes) -> str:
    name = raw.decode("utf-8", "replace").strip()
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name
