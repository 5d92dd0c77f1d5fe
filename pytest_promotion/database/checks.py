"""Checks a backup passes before anything touches the database.

Each one stops a way a careless restore loses data: a gzip cut short fails halfway through;
a custom-format or cluster dump is not something psql can replay; a plain dump cut short
*inside* a valid gzip replays half the rows and commits; and a psql older than the pg_dump that
wrote ``\\restrict`` lines rejects the whole file. The whole stream is decompressed once here.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database.backup import BackupFile
from pytest_promotion.database.errors import BackupRefusedError
from pytest_promotion.database.tools import restrict_release, understands_restrict

CHUNK = 1 << 20
PLAIN_HEADER = b"--\n-- PostgreSQL database dump\n--\n"
COMPLETE_LINE = b"-- PostgreSQL database dump complete"
_TAIL_BYTES = 1 << 16
_COMPLETE = re.compile(
    rb"^-- PostgreSQL database dump complete\n--\n\s*(?:\\unrestrict [^\n]*\n?\s*)?\Z", re.MULTILINE
)
_RESTRICT = re.compile(rb"^\\restrict \S+$", re.MULTILINE)
_DUMPED_BY = re.compile(rb"^-- Dumped by pg_dump version (\d+)(?:\.(\d+))?", re.MULTILINE)
# pg_dump's table-of-contents comment, then the statement: data lines cannot look like this.
_SCHEMA_ACL = re.compile(
    rb"^-- Name: SCHEMA ([^;\n]+); Type: ACL; Schema: -;[^\n]*\n--\n\n((?:[^\n]+\n)+)", re.MULTILINE
)
_CREATE_SCHEMA = re.compile(
    rb"^-- Name: [^\n]*; Type: SCHEMA; Schema: -;[^\n]*\n--\n\nCREATE SCHEMA ([^\n;]+);$", re.MULTILINE
)


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


def check_backup(file: BackupFile, psql_version: tuple[int, int]) -> CheckedBackup:
    """Decompress the whole backup and check it; BackupRefusedError (or ConfigError for psql)."""
    path = file.path
    size = 0
    head = b""
    tail = b""
    carry = b""
    restrict = False
    schemas: set[str] = set()
    grants: dict[str, str] = {}
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(CHUNK):
                if not head:
                    head = chunk[:4096].replace(b"\r\n", b"\n")
                    _check_format(path, head)
                size += len(chunk)
                window = carry + chunk
                restrict = restrict or bool(_RESTRICT.search(window))
                schemas.update(_schema_name(m.group(1)) for m in _CREATE_SCHEMA.finditer(window))
                for m in _SCHEMA_ACL.finditer(window):
                    grants[_schema_name(m.group(1))] = m.group(2).decode("utf-8", "replace")
                carry = window[-4096:]
                tail = (tail + chunk)[-_TAIL_BYTES:]
    except (OSError, EOFError, zlib.error) as exc:
        raise BackupRefusedError(
            f"{path}: is not a complete gzip file ({_reason(exc)}); after {size:,} bytes it cannot be "
            "read to the end, so restoring it would fail halfway. Nothing was changed; restore an "
            "older backup with --backup FILE."
        ) from None
    if not head:
        raise BackupRefusedError(
            f"{path}: is empty. Nothing was changed; restore another backup with --backup FILE."
        )
    if not _COMPLETE.search(tail.replace(b"\r\n", b"\n")):
        raise BackupRefusedError(
            f"{path}: does not end with pg_dump's closing line ({COMPLETE_LINE.decode()}): the dump "
            "was cut short before it was compressed, and restoring it would commit only part of the "
            "data. Nothing was changed; restore an older backup with --backup FILE."
        )
    version_match = _DUMPED_BY.search(head)
    dumped_by = (int(version_match.group(1)), int(version_match.group(2) or 0)) if version_match else None
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
        size=size,
        restrict=restrict,
        dumped_by=dumped_by,
        created_schemas=frozenset(schemas),
        schema_grants=tuple(sorted(grants.items())),
    )


def _check_format(path: Path, head: bytes) -> None:
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


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "it ends before the end of the compressed stream"
    return str(exc) or type(exc).__name__
