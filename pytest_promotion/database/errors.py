"""Failures of the database commands; each message is one paragraph ending with what to do.

Bad configuration raises :class:`pytest_promotion.core.errors.ConfigError` instead, like the rest of
the package.
"""

from __future__ import annotations


class DatabaseError(Exception):
    """The database could not be reached, read or dumped; nothing was changed."""


class NoBackupError(Exception):
    """There is no backup to restore."""


class BackupRefusedError(Exception):
    """The backup failed a check that runs before anything touches the database."""


class RestoreFailedError(Exception):
    """psql failed or was interrupted; its single transaction was rolled back."""


class BackupsDirError(Exception):
    """The backups folder cannot be created or written; the caller names the setting."""


class RestoreBlockedError(RestoreFailedError):
    """The restore could not take its locks within lock_timeout: other sessions hold them."""
