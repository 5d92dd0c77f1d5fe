"""The exit codes of ``pytest-promotion backup``, ``rollback`` and ``status``, in one place.

One numbering for all commands, so a script that runs several of them can tell outcomes apart;
docs/database.md's table is written from this enum. 9 is no longer used: a rollback that restored
exits 0 whatever migrate status says afterwards (the release rolled back left pending migrations
by design), so CI reads its exit status as "restored or not".
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a database command ended with."""

    OK = 0
    """Done: backup written, rollback restored (whatever migrate status says next), or status up to date."""
    PENDING = 1
    """status: only pending migrations (including not managed, rolled back); ``prisma migrate deploy`` fixes it."""
    USAGE = 2
    """The command line itself is wrong (argparse)."""
    CONFIG = 3
    """Configuration error: DATABASE_URL unset or unsupported, pg_dump/psql missing or too old, folder missing."""
    DATABASE = 4
    """The database could not be read or dumped (connection refused, query failed); nothing was changed."""
    NEEDS_ATTENTION = 5
    """status: a failed, modified or locally missing migration — a person must look."""
    NO_BACKUP = 6
    """rollback: no backup found (empty folder, or --backup names no file)."""
    CORRUPT_BACKUP = 7
    """rollback: the backup was refused before anything ran (corrupt gzip, not a plain dump, cut short,
    or taken of another schema or database without --allow-foreign-backup)."""
    RESTORE_FAILED = 8
    """rollback: the restore failed or was interrupted; its transaction was rolled back, the database is unchanged."""
    ABORTED = 10
    """rollback: not confirmed (answered no, or no terminal and no --yes); nothing was changed."""
    BLOCKED = 11
    """rollback: other sessions held locks past --lock-timeout; rolled back, the database is unchanged."""
