"""Migrate status for Prisma ORM 8: ``prisma_contract.ledger`` and ``marker`` against ``migrations/app``.

Prisma 8 records each applied package in ``prisma_contract.ledger`` (``migration_name``,
``migration_hash``, origin and destination contract hashes) and the contract the database is at
in ``prisma_contract.marker``; there is no ``_prisma_migrations``. Two of its blind spots are what a
promotion gate must not miss: a package edited and re-emitted after it was applied (the ledger
keeps the old ``migration_hash``, every Prisma 8 command says "Up to date", exit 0), and an applied
package deleted from the folder (``prisma migration status`` also says "Up to date").
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_promotion.database.errors import DatabaseError
from pytest_promotion.database.exit_codes import ExitCode
from pytest_promotion.database.status import JSON_VERSION, plural
from pytest_promotion.database.tools import PgTools, run_psql
from pytest_promotion.database.url import DatabaseTarget
from pytest_promotion.migrations.prisma8 import (
    APP_SPACE,
    META_FILE,
    migration_hash,
    package_dirs,
    read_package,
)
from pytest_promotion.migrations.scan import MigrationFileError

SCHEMA = "prisma_contract"
EMPTY = "empty"
"""The ledger's origin for a package that starts from no contract (``"from": null``)."""
GENERATION = "prisma 8"


class State(StrEnum):
    """Where one Prisma 8 package stands."""

    APPLIED = "applied"
    PENDING = "pending"
    EDITED = "edited after applied"
    """In the ledger with another ``migration_hash``: the database ran what the package said before."""
    MISSING_LOCALLY = "missing locally"
    """In the ledger, not in the folder: another branch, or a deleted package."""
    INVALID = "invalid locally"
    """Not applied, and its files disagree (``ops.json`` edited by hand) or cannot be read."""
    OFF_PATH = "not on the path"
    """Not applied, and the database is already past its contract: ``prisma db migrate`` takes the
    shortest path to a ref's contract, so a package on another branch, or one that only provides
    an invariant the ref does not ask for, is never run. Not pending; shown so nobody expects it."""


NEEDS_A_PERSON = frozenset({State.EDITED, State.MISSING_LOCALLY, State.INVALID})
_ADVICE = {
    State.EDITED: "the database ran what an edited package said before (every Prisma 8 command reports "
    '"Up to date" here): restore the package from version control and put the change in a new package',
    State.MISSING_LOCALLY: "an applied package is not in the folder (`prisma migration status` reports "
    '"Up to date" here): find the branch holding it, or restore it',
    State.INVALID: "a package's ops.json does not match its migration.json: re-emit it from migration.ts",
}


@dataclass(frozen=True)
class LedgerRow:
    """One row of ``prisma_contract.ledger`` (space ``app``)."""

    id: int
    migration_name: str
    migration_hash: str
    destination_core_hash: str
    created_at: str


@dataclass(frozen=True)
class Contract:
    """What the database's ``prisma_contract`` schema says: None for each part that is absent."""

    ledger: list[LedgerRow]
    marker_hash: str | None


@dataclass(frozen=True)
class LocalPackage:
    """A package in ``migrations/app``: its stored and recomputed hashes and its end contract."""

    name: str
    stored_hash: str | None
    computed_hash: str | None
    to: str | None
    origin: str = EMPTY
    """The contract it starts from (``from``), ``empty`` for the first."""
    invariants: tuple[str, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class PackageStatus:
    """One line of the status table."""

    name: str
    state: State
    detail: str = ""


@dataclass(frozen=True)
class ContractStatusReport:
    """The comparison of a Prisma 8 database's ledger and marker with the folder."""

    managed: bool
    """False when the database has no ``prisma_contract`` schema (with a ledger)."""
    migrations: tuple[PackageStatus, ...]
    marker_hash: str | None
    expected_marker: str | None
    """The ``to`` of the newest applied local package: where the marker should be."""
    newest_applied: str | None

    @property
    def counts(self) -> Counter[State]:
        """How many packages are in each state."""
        return Counter(m.state for m in self.migrations)

    @property
    def marker_matches(self) -> bool:
        """The marker is at the newest applied package's contract (both absent counts as matching)."""
        return self.marker_hash == self.expected_marker

    @property
    def up_to_date(self) -> bool:
        """Managed, every package applied unchanged, and the marker where the newest one left it."""
        return (
            self.managed
            and self.marker_matches
            and all(m.state in (State.APPLIED, State.OFF_PATH) for m in self.migrations)
        )

    @property
    def exit_code(self) -> ExitCode:
        """0 up to date; 5 when a person must look (marker mismatch included); 1 for pending work only."""
        if self.up_to_date:
            return ExitCode.OK
        if any(m.state in NEEDS_A_PERSON for m in self.migrations) or (
            self.managed and not self.marker_matches
        ):
            return ExitCode.NEEDS_ATTENTION
        return ExitCode.PENDING

    def marker_line(self) -> str:
        """Where the marker is, against where the newest applied package says it should be."""
        if not self.managed:
            return f"marker: none (no {SCHEMA} schema)"
        if self.marker_matches:
            if self.marker_hash is None:
                return "marker: none, and no package is applied"
            return f"marker: contract {self.marker_hash[:12]}…, the end of {self.newest_applied}, as expected"
        shown = "none" if self.marker_hash is None else f"contract {self.marker_hash[:12]}…"
        if self.expected_marker is None:
            return f"marker: {shown}, but no local package is applied: it does not match this folder"
        return (
            f"marker: {shown}, but the newest applied package {self.newest_applied} ends at "
            f"{self.expected_marker[:12]}…: the database is not at the contract the folder says"
        )

    def verdict(self) -> str:
        """One line: the state of the whole history and what to do next."""
        counts = self.counts
        if self.up_to_date:
            off = f" ({counts[State.OFF_PATH]} not on the path)" if counts[State.OFF_PATH] else ""
            return (
                f"Up to date: {plural(counts[State.APPLIED], 'Prisma 8 package')} applied{off}, none changed "
                "since, and the marker is at the newest one's contract."
            )
        if not self.managed:
            return (
                f"Not managed by Prisma 8: no {SCHEMA} ledger, so all "
                f"{plural(len(self.migrations), 'package')} are pending. Run `prisma db migrate`."
            )
        parts = [
            f"{counts[s]} {s.value}" for s in State if s not in (State.APPLIED, State.OFF_PATH) and counts[s]
        ]
        if not self.marker_matches:
            parts.append("marker mismatch")
        if self.exit_code is ExitCode.NEEDS_ATTENTION:
            todo = [text for state, text in _ADVICE.items() if counts[state]]
            if not self.marker_matches:
                todo.append("find out how the marker moved (`prisma db verify` reports it) before migrating")
            advice = f"A person must look: {'; '.join(todo)}."
        else:
            advice = "Run `prisma db migrate` to apply them."
        return f"Not up to date: {', '.join(parts)}. {advice}"

    def table_lines(self) -> list[str]:
        """The status table, one package a line, then the marker line."""
        width = max([len("package"), *(len(m.name) for m in self.migrations)])
        state_width = max(len(s.value) for s in State)
        lines = [f"{'package':<{width}}  {'state':<{state_width}}  detail"]
        lines.append(f"{'-' * width}  {'-' * state_width}  {'-' * 6}")
        lines += [
            f"{m.name:<{width}}  {m.state.value:<{state_width}}  {m.detail}".rstrip() for m in self.migrations
        ]
        return [*lines, self.marker_line()]

    def as_json(self, *, database: str, schema: str) -> dict[str, Any]:
        """The report for machines, in the shape of the Prisma <= 7 status plus ``generation`` and ``marker``."""
        return {
            "version": JSON_VERSION,
            "generation": GENERATION,
            "database": database,
            "schema": schema,
            "managed": self.managed,
            "up_to_date": self.up_to_date,
            "exit_code": int(self.exit_code),
            "verdict": self.verdict(),
            "counts": {s.value: self.counts[s] for s in State},
            "marker": {
                "contract_hash": self.marker_hash,
                "expected": self.expected_marker,
                "newest_applied": self.newest_applied,
                "matches": self.marker_matches,
            },
            "migrations": [
                {"name": m.name, "state": m.state.value, "detail": m.detail} for m in self.migrations
            ],
        }


def local_packages(folder: Path) -> list[LocalPackage]:
    """Every package of ``migrations/app`` in folder order, with its hashes; unreadable ones named."""
    found = []
    for path in package_dirs(folder):
        try:
            package = read_package(path, path.name)
        except MigrationFileError as exc:
            found.append(LocalPackage(path.name, None, None, None, str(exc)))
            continue
        meta = package.meta
        to, origin, invariants = meta.get("to"), meta.get("from"), meta.get("providedInvariants")
        found.append(
            LocalPackage(
                path.name,
                meta["migrationHash"],
                migration_hash(meta, package.ops),
                to if isinstance(to, str) else None,
                origin if isinstance(origin, str) else EMPTY,
                tuple(str(i) for i in invariants) if isinstance(invariants, list) else (),
            )
        )
    return found


def compare(local: list[LocalPackage], contract: Contract | None) -> ContractStatusReport:
    """Each package's state in name order, and the marker check; ``contract`` None: no ledger at all."""
    if contract is None:
        pending = tuple(PackageStatus(p.name, State.PENDING, f"no {SCHEMA} ledger") for p in local)
        return ContractStatusReport(False, pending, None, None, None)
    latest: dict[str, LedgerRow] = {}
    for applied in sorted(contract.ledger, key=lambda r: r.id):
        latest[applied.migration_name] = applied  # a name applied again: its newest row counts
    files = {p.name: p for p in local}
    by_id = sorted(latest.values(), key=lambda r: r.id)
    position = contract.marker_hash or (by_id[-1].destination_core_hash if by_id else EMPTY)
    ahead = _ahead_of(position, [p for p in local if p.name not in latest])
    statuses = []
    for name in sorted(set(files) | set(latest)):
        row, package = latest.get(name), files.get(name)
        if package is None:
            assert row is not None
            statuses.append(PackageStatus(name, State.MISSING_LOCALLY, f"applied at {row.created_at}"))
            continue
        if row is None:
            if package.problem:
                statuses.append(PackageStatus(name, State.INVALID, package.problem))
            elif package.stored_hash != package.computed_hash:
                statuses.append(
                    PackageStatus(
                        name,
                        State.INVALID,
                        f"ops.json does not match {META_FILE}: edited by hand, not re-emitted",
                    )
                )
            elif name in ahead:
                statuses.append(PackageStatus(name, State.PENDING))
            else:
                provides = f" (provides {', '.join(package.invariants)})" if package.invariants else ""
                detail = f"from {package.origin[:12]}…, which the database has moved past{provides}"
                statuses.append(PackageStatus(name, State.OFF_PATH, detail))
            continue
        if package.problem:
            statuses.append(
                PackageStatus(name, State.EDITED, f"applied at {row.created_at}; now {package.problem}")
            )
        elif row.migration_hash != package.computed_hash or row.migration_hash != package.stored_hash:
            how = (
                "ops.json edited by hand since"
                if package.stored_hash != package.computed_hash
                else f"re-emitted since: ledger hash {row.migration_hash[:12]}…, package {package.stored_hash}"
            )
            statuses.append(PackageStatus(name, State.EDITED, f"applied at {row.created_at}; {how}"))
        else:
            statuses.append(PackageStatus(name, State.APPLIED, f"applied at {row.created_at}"))
    if not by_id:
        return ContractStatusReport(True, tuple(statuses), contract.marker_hash, None, None)
    newest = by_id[-1]  # the last package applied, by ledger order
    newest_local = files.get(newest.migration_name)
    expected = newest_local.to if newest_local is not None else newest.destination_core_hash
    return ContractStatusReport(True, tuple(statuses), contract.marker_hash, expected, newest.migration_name)


def _ahead_of(position: str, unapplied: list[LocalPackage]) -> set[str]:
    """Unapplied packages reachable from the database's contract by following ``from`` -> ``to``."""
    reached: set[str] = {position}
    ahead: set[str] = set()
    changed = True
    while changed:
        changed = False
        for package in unapplied:
            if package.name not in ahead and package.origin in reached:
                ahead.add(package.name)
                if package.to is not None:
                    reached.add(package.to)
                changed = True
    return ahead


def read_contract(target: DatabaseTarget, tools: PgTools) -> Contract | None:
    """``prisma_contract``'s ledger rows and marker for space ``app``; None when there is no ledger."""
    exists = run_psql(
        tools, target, f"SELECT to_regclass('{SCHEMA}.ledger') IS NOT NULL", what=f"look for {SCHEMA}.ledger"
    ).strip()
    if exists != "t":
        return None
    marker = f"(SELECT core_hash FROM {SCHEMA}.marker WHERE space = '{APP_SPACE}')"
    if (
        run_psql(
            tools, target, f"SELECT to_regclass('{SCHEMA}.marker') IS NULL", what="look for the marker"
        ).strip()
        == "t"
    ):
        marker = "NULL"
    columns = "'id', id, 'migration_name', migration_name, 'migration_hash', migration_hash, " + (
        "'destination_core_hash', destination_core_hash, 'created_at', created_at"
    )
    out = run_psql(
        tools,
        target,
        "SELECT json_build_object('ledger', coalesce((SELECT json_agg(json_build_object("
        f"{columns}) ORDER BY id) FROM {SCHEMA}.ledger WHERE space = '{APP_SPACE}'), '[]'), "
        f"'marker', {marker})",
        what=f"read {SCHEMA}.ledger and marker",
    )
    try:
        data: dict[str, Any] = json.loads(out)
        rows = [LedgerRow(**row) for row in data["ledger"]]
        marker_hash = data["marker"]
        if marker_hash is not None and not isinstance(marker_hash, str):
            raise TypeError("marker.core_hash is not text")
    except (ValueError, TypeError, KeyError) as exc:
        raise DatabaseError(
            f"{SCHEMA}.ledger in {target.display()} does not have Prisma 8's columns ({exc}). Check that "
            "DATABASE_URL points at a database managed by Prisma 8 (`prisma db migrate`)."
        ) from None
    return Contract(rows, marker_hash)


def prefix_problems(report: ContractStatusReport) -> list[str]:
    """Why a restored Prisma 8 ledger is not a prefix of the folder (the restore drill); empty when it is."""
    if not report.managed:
        if report.migrations:
            return [
                f"the backup has no {SCHEMA} ledger, but the folder holds "
                f"{plural(len(report.migrations), 'Prisma 8 package')} (a backup of another database?)"
            ]
        return []
    problems = [
        f"{m.name}: {m.state.value} ({m.detail})" for m in report.migrations if m.state in NEEDS_A_PERSON
    ]
    if not report.marker_matches:
        problems.append(report.marker_line())
    gap: str | None = None
    for m in report.migrations:
        if m.state is State.PENDING:
            gap = gap or m.name
        elif gap is not None and m.state is State.APPLIED:
            problems.append(f"{m.name}: applied, but the earlier {gap} is not")
    return problems


def applied_count(report: ContractStatusReport) -> int:
    """Packages the restored ledger holds (edited ones included)."""
    return sum(
        1 for m in report.migrations if m.state in (State.APPLIED, State.EDITED, State.MISSING_LOCALLY)
    )
