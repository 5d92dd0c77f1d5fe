"""The migration safety gate: scan Prisma migrations for risky SQL.

``scan(directory)`` is the documented Python API; the pytest items are built on it.
"""

from __future__ import annotations

from pytest_promotion.migrations.scan import Finding, MigrationFileError, scan

__all__ = ["Finding", "MigrationFileError", "scan"]
