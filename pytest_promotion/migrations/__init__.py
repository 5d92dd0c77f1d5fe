"""The migration safety gate: scan Prisma migrations for risky SQL.

``scan(directory)`` is the documented Python API, for both layouts (``migration.sql`` folders
and Prisma 8 ``migrations/app`` packages); the pytest items are built on the same functions.
"""

from __future__ import annotations

from pytest_promotion.migrations.prisma8 import PackageIntegrityError
from pytest_promotion.migrations.prisma8_scan import scan_migrations as scan
from pytest_promotion.migrations.scan import Finding, MigrationFileError

__all__ = ["Finding", "MigrationFileError", "PackageIntegrityError", "scan"]
