"""A Python-native ``prisma migrate status``: ``_prisma_migrations`` against the migrations folder.

Prisma exits 0 for a migration edited after it was applied, one applied but missing locally,
and one whose only row was rolled back. A promotion gate must not call those "up to date", so
every state is reported and only a clean history is.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database.errors import DatabaseError
from pytest_promotion.database.exit_codes import ExitCode
from pytest_promotion.database.tools import PgTools, run_psql
from pytest_promotion.database.url import DatabaseTarget, quote_ident, quote_literal
from pytest_promotion.migrations.scan import migration_files

TABLE = "_prisma_migrations"
JSON_VERSION = 1


class State(StrEnum):
    """Where one migration stands."""

    APPLIED = "applied"
    PENDING = "pending"
    """In the folder, never applied."""
    ROLLED_BACK = "rolled back"
    """Its only rows were rolled back (``prisma migrate resolve --rolled-back``): pending again."""
    FAILED = "failed"
    """Started, not finished, not rolled back: ``prisma migrate deploy`` refuses to go on."""
    MODIFIED = "modified"
    """Applied, but the file changed since: the database holds what the old file said."""
    MISSING_LOCALLY = "missing locally"
    """Applied in the database, absent from the folder: another branch or a deleted migration."""


# States ``prisma migrate deploy`` resolves by itself, and those a person must look at.
DEPLOYABLE = frozenset({State.PENDING, State.ROLLED_BACK})
NEEDS_A_PERSON = frozenset({State.FAILED, State.MODIFIED, State.MISSING_LOCALLY})


@dataclass(frozen=True)
class HistoryRow:
    """One row of ``_prisma_migrations``."""

    migration_name: str
    checksum: str
    started_at: str
    finished_at: str | None = None
    rolled_back_at: str | None = None
    applied_steps_count: int = 0
    logs: str | None = None


@dataclass(frozen=True)
class LocalMigration:
    """``<name>/migration.sql`` in the folder, as raw bytes (the checksum covers them, BOM included)."""

    name: str
    content: bytes


@dataclass(frozen=True)
class MigrationStatus:
    """One line of the status table."""

    name: str
    state: State
    detail: str = ""


@dataclass(frozen=True)
class StatusReport:
    """The comparison of a database's history with the folder."""

    managed: bool
    """False when the schema has no ``_prisma_migrations`` table."""
    migrations: tuple[MigrationStatus, ...]

    @property
    def counts(self) -> Counter[State]:
        """How many migrations are in each state."""
        return Counter(m.state for m in self.migrations)

    @property
    def up_to_date(self) -> bool:
        """Managed, and every migration applied unchanged."""
        return self.managed and all(m.state is State.APPLIED for m in self.migrations)

    @property
    def exit_code(self) -> ExitCode:
        """0 up to date; 5 when a person must look; 1 when only deployable work is left."""
        if self.up_to_date:
            return ExitCode.OK
        if any(m.state in NEEDS_A_PERSON for m in self.migrations):
            return ExitCode.NEEDS_ATTENTION
        return ExitCode.PENDING

    def verdict(self) -> str:
        """One line: the state of the whole history and what to do next."""
        counts = self.counts
        if self.up_to_date:
            return (
                f"Up to date: all {plural(counts[State.APPLIED], 'migration')} applied, none changed since."
            )
        parts = [
            f"{counts[state]} {state.value}"
            for state in State
            if state is not State.APPLIED and counts[state]
        ]
        if not self.managed:
            return (
                f"Not managed by Prisma Migrate: no {TABLE} table, so all "
                f"{plural(len(self.migrations), 'migration')} are pending. Run `prisma migrate deploy` "
                "(or `prisma migrate resolve --applied` for a database created another way)."
            )
        if self.exit_code is ExitCode.NEEDS_ATTENTION:
            advice = (
                "A person must look: fix failed migrations and mark them with `prisma migrate resolve`, "
                "restore edited migration files from version control, and find the branch holding "
                "migrations missing locally."
            )
        else:
            advice = "Run `prisma migrate deploy` to apply them."
        return f"Not up to date: {', '.join(parts)}. {advice}"


def after_rollback(report: StatusReport) -> str:
    """The status after a rollback, as information with advice that fits a rollback.

    Pending migrations are expected then: they belong to the release that was rolled back, and
    ``prisma migrate deploy`` now would apply them again under the old code.
    """
    counts = report.counts
    if report.up_to_date:
        return report.verdict()
    if not report.managed:
        return (
            f"The restored schema has no {TABLE} table: the backup predates Prisma Migrate or was not "
            "of a schema it manages. If this checkout expects one, check that this was the right backup."
        )
    pending = [m.name for m in report.migrations if m.state in DEPLOYABLE]
    lines = []
    if pending:
        lines.append(
            f"{plural(len(pending), 'migration')} pending ({', '.join(pending)}): expected after a rollback — "
            "they belong to the release that was rolled back. Do not run `prisma migrate deploy` now; "
            "they are applied again when that release (or its fix) is deployed."
        )
    if any(m.state in NEEDS_A_PERSON for m in report.migrations):
        parts = [
            f"{counts[state]} {state.value}"
            for state in (State.FAILED, State.MODIFIED, State.MISSING_LOCALLY)
            if counts[state]
        ]
        lines.append(
            f"Also {', '.join(parts)}: compare with the release you rolled back to — a migration missing "
            "locally means this checkout is newer or older than the backup, a modified one that its "
            "file changed since, a failed one that it had failed when the backup was taken."
        )
    return " ".join(lines)


def plural(count: int, word: str) -> str:
    """``1 migration``, ``2 migrations``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def checksum(content: bytes) -> str:
    """Prisma's checksum: lowercase hex SHA-256 of the raw bytes."""
    return hashlib.sha256(content).hexdigest()


def matches_checksum(content: bytes, stored: str) -> bool:
    """Prisma's rule: the bytes as they are, with CRLF turned to LF, or LF to CRLF, hash to ``stored``.

    So a checkout that changed line endings is not an edit; anything else, a BOM included, is.
    """
    stored = stored.strip().lower()
    variants = (content, content.replace(b"\r\n", b"\n"), content.replace(b"\n", b"\r\n"))
    return any(checksum(variant) == stored for variant in variants)


def local_migrations(folder: Path) -> list[LocalMigration]:
    """Every ``<name>/migration.sql`` in folder order, as bytes; ConfigError for one that cannot be read."""
    return [LocalMigration(path.parent.name, _read(path)) for path in migration_files(folder)]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:  # a dangling link, a folder or a FIFO carrying the name
        raise ConfigError(
            f"{path}: cannot be read ({exc.strerror or exc}), so its checksum cannot be compared with "
            "the database's. Fix or remove it and run again."
        ) from None


def compare(local: list[LocalMigration], rows: list[HistoryRow] | None) -> StatusReport:
    """Each migration's state, in name order; ``rows`` None means no ``_prisma_migrations`` table.

    Names repeat (a rolled-back migration applied again adds a row), so each migration is judged
    by its latest row that was not rolled back; only rows that all were rolled back make it
    pending again.
    """
    if rows is None:
        pending = tuple(MigrationStatus(m.name, State.PENDING, "no migrations table") for m in local)
        return StatusReport(managed=False, migrations=pending)
    by_name: dict[str, list[HistoryRow]] = {}
    for row in sorted(rows, key=lambda r: r.started_at):
        by_name.setdefault(row.migration_name, []).append(row)
    files = {m.name: m for m in local}
    statuses = []
    for name in sorted(set(files) | set(by_name)):
        history = by_name.get(name, [])
        live = [row for row in history if row.rolled_back_at is None]
        file = files.get(name)
        if not live:
            if file is None:
                continue  # rolled back and gone from the folder: nothing left to do
            if history:
                statuses.append(
                    MigrationStatus(name, State.ROLLED_BACK, f"rolled back at {history[-1].rolled_back_at}")
                )
            else:
                statuses.append(MigrationStatus(name, State.PENDING))
            continue
        latest = live[-1]
        if latest.finished_at is None:
            detail = f"started at {latest.started_at}, {plural(latest.applied_steps_count, 'step')} applied"
            statuses.append(MigrationStatus(name, State.FAILED, detail))
        elif file is None:
            statuses.append(MigrationStatus(name, State.MISSING_LOCALLY, f"applied at {latest.finished_at}"))
        elif not matches_checksum(file.content, latest.checksum):
            statuses.append(
                MigrationStatus(name, State.MODIFIED, f"applied at {latest.finished_at}, file changed since")
            )
        else:
            statuses.append(MigrationStatus(name, State.APPLIED, f"applied at {latest.finished_at}"))
    return StatusReport(managed=True, migrations=tuple(statuses))


def read_history(target: DatabaseTarget, tools: PgTools) -> list[HistoryRow] | None:
    """The rows of ``_prisma_migrations`` in the target's schema; None when there is no such table."""
    qualified = f"{quote_ident(target.schema)}.{quote_ident(TABLE)}"
    exists = run_psql(
        tools,
        target,
        f"SELECT to_regclass({quote_literal(qualified)}) IS NOT NULL",
        what=f"look for {TABLE}",
    ).strip()
    if exists != "t":
        return None
    columns = ", ".join(
        f"'{column}', {column}"
        for column in (
            "migration_name",
            "checksum",
            "started_at",
            "finished_at",
            "rolled_back_at",
            "applied_steps_count",
            "logs",
        )
    )
    out = run_psql(
        tools,
        target,
        f"SELECT coalesce(json_agg(json_build_object({columns}) ORDER BY started_at, id), '[]') FROM {qualified}",
        what=f"read {TABLE}",
    )
    try:
        data: list[dict[str, Any]] = json.loads(out)
        return [HistoryRow(**row) for row in data]
    except (ValueError, TypeError) as exc:
        raise DatabaseError(
            f"{TABLE} in {target.display()} does not have Prisma's columns ({exc}). "
            "Check that DATABASE_URL points at a database managed by Prisma Migrate."
        ) from None


def table_lines(report: StatusReport) -> list[str]:
    """The status table, one migration a line, for a terminal."""
    width = max([len("migration"), *(len(m.name) for m in report.migrations)])
    state_width = max(len(state.value) for state in State)
    lines = [f"{'migration':<{width}}  {'state':<{state_width}}  detail"]
    lines.append(f"{'-' * width}  {'-' * state_width}  {'-' * 6}")
    lines += [
        f"{m.name:<{width}}  {m.state.value:<{state_width}}  {m.detail}".rstrip() for m in report.migrations
    ]
    return lines


def to_json(report: StatusReport, *, database: str, schema: str) -> str:
    """The report for machines: sorted keys, indent 2, trailing newline, a version field."""
    data = {
        "version": JSON_VERSION,
        "database": database,
        "schema": schema,
        "managed": report.managed,
        "up_to_date": report.up_to_date,
        "exit_code": int(report.exit_code),
        "verdict": report.verdict(),
        "counts": {state.value: report.counts[state] for state in State},
        "migrations": [
            {"name": m.name, "state": m.state.value, "detail": m.detail} for m in report.migrations
        ],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
