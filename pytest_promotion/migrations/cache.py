"""Scan results cached by file content, so a warm re-run skips unchanged migrations.

The key is a hash of the file's bytes, the dialect, the selected rules and the engine's own
source: editing a rule invalidates every entry without a version number to remember. Workers
only read; new entries travel to the controller, which writes the cache once per run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pytest_promotion.migrations.dialects import Dialect
from pytest_promotion.migrations.rules import Rule
from pytest_promotion.migrations.scan import MIGRATION_FILE, Finding

CACHE_KEY = "promotion/migration-scan"
MAX_ENTRIES = 50_000
Row = tuple[int, str, str, str] | tuple[int, str, str, str, str, str]
"""A cached finding: line, rule, statement, fingerprint (the migration name is the item's), and
for a Prisma 8 package also the file and the operation it is in."""


@cache
def engine_hash() -> str:
    """Hash of the scan engine's source files: any change to the engine misses the cache."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for source in sorted([*package.glob("*.py"), *package.glob("rules/*.py")]):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def content_key(raw: bytes, dialect: Dialect, rules: tuple[Rule, ...]) -> str:
    """Cache key of one file's scan."""
    digest = hashlib.sha256(raw)
    digest.update(f"\0{dialect.name}\0{','.join(r.key for r in rules)}\0{engine_hash()}".encode())
    return digest.hexdigest()


def to_rows(findings: list[Finding]) -> list[Row]:
    """Findings as cache rows."""
    return [
        (f.line, f.rule, f.statement, f.fingerprint)
        if not f.where and f.file == MIGRATION_FILE
        else (f.line, f.rule, f.statement, f.fingerprint, f.file, f.where)
        for f in findings
    ]


def from_rows(rows: list[Row], migration: str) -> list[Finding]:
    """Cache rows back to findings of ``migration``."""
    return [Finding(migration, *row) for row in rows]


def merged(old: Mapping[str, Any], new: Mapping[str, list[Row]]) -> dict[str, Any]:
    """The cache to store: old entries plus this run's, trimmed to this run's when too large."""
    if len(old) + len(new) > MAX_ENTRIES:
        return dict(new)
    return {**old, **new}
