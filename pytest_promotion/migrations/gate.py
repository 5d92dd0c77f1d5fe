"""One run of the migration gate: what it scanned, against which baseline, and the outcome.

Workers and the controller each hold a :class:`GateRun`. Items record their findings into it;
on an xdist worker the results are exported through ``workeroutput`` and merged on the
controller, which alone computes the outcome and writes files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.migrations.baseline import (
    Entry,
    Key,
    Refresh,
    refresh,
    split_findings,
    stale_entries,
)
from pytest_promotion.migrations.cache import Row, content_key, from_rows, to_rows
from pytest_promotion.migrations.dialects import Dialect
from pytest_promotion.migrations.prisma8 import (
    PackageIntegrityError,
    integrity_problems,
    migration_names,
    read_package,
)
from pytest_promotion.migrations.prisma8_scan import Note, PackageScan, scan_package
from pytest_promotion.migrations.rules import Rule
from pytest_promotion.migrations.scan import (
    Finding,
    MigrationFileError,
    decode_migration,
    read_migration,
    scan_text,
)


@dataclass(frozen=True, kw_only=True)
class GateConfig:
    """The gate's settings for this run, resolved to absolute paths."""

    root: Path
    migrations_dir: Path
    baseline_path: Path
    dialect: Dialect
    rules: tuple[Rule, ...]
    update: bool
    strict: bool
    report_path: Path | None
    annotations: bool
    accept_command: str
    """The exact command that accepts reviewed findings, shown in every failure."""
    require_reasons: bool = False
    """Every baseline entry must say why it was accepted."""
    sarif_path: Path | None = None
    """Where ``--migrations-sarif`` writes the findings as SARIF 2.1.0."""

    def __post_init__(self) -> None:
        if self.report_path is not None and self.report_path.is_dir():
            raise ConfigError(
                f"--migrations-report: {self.report_path} is a folder; the report is one JSON file. "
                f"Give a file path, e.g. {self.report_path / 'migration-report.json'}."
            )

    def display(self, path: Path) -> str:
        """``path`` relative to the project root when it is inside it, with forward slashes."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


@dataclass(frozen=True)
class Outcome:
    """What the controller reports at the end of the run."""

    new: list[Finding]
    baselined: list[Finding]
    stale: list[Entry]
    unreadable: list[str]
    refresh: Refresh | None
    notes: list[Note] = field(default_factory=list)
    """Prisma 8 destructive/data operations no rule matched (not failures)."""


@dataclass
class GateRun:
    """Mutable per-run state: the baseline, the scan cache and each migration's findings."""

    config: GateConfig
    entries: list[Entry]
    cached: Mapping[str, Any] = field(default_factory=dict)
    results: dict[str, list[Finding]] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)
    new_cache: dict[str, list[Row]] = field(default_factory=dict)
    notes: dict[str, list[Note]] = field(default_factory=dict)
    explained: set[str] = field(default_factory=set)
    """Rules whose why/instead a failure already printed (``--tb=short`` prints them once)."""
    _accepted: dict[str, Counter[Key]] | None = None

    def reload(self, entries: list[Entry]) -> None:
        """Take the baseline as it is on disk now (another run may have refreshed it meanwhile)."""
        self.entries = entries
        self._accepted = None

    def accepted(self, migration: str) -> Counter[Key]:
        """Baseline counts for one migration."""
        if self._accepted is None:
            self._accepted = {}
            for entry in self.entries:
                self._accepted.setdefault(entry.migration, Counter())[entry.key] += 1
        return self._accepted.get(migration, Counter())

    def scan(self, path: Path, migration: str) -> list[Finding]:
        """Findings of one migration file, from the cache when its bytes are unchanged."""
        raw = read_migration(path, self.config.display(path))
        key = content_key(raw, self.config.dialect, self.config.rules)
        rows = self.cached.get(key)
        if rows is not None:
            findings = from_rows(rows, migration)
        else:
            try:
                text = decode_migration(raw, path)
            except MigrationFileError:  # worded with the project-relative path, worked out only now
                text = decode_migration(raw, self.config.display(path))
            findings = scan_text(text, self.config.dialect, self.config.rules, migration)
            self.new_cache[key] = to_rows(findings)
        self.results[migration] = findings
        return findings

    def scan_package(self, folder: Path, migration: str) -> PackageScan:
        """Findings and notes of one Prisma 8 package; PackageIntegrityError when its files disagree."""
        display = self.config.display(folder)
        package = read_package(folder, display)
        problems = integrity_problems(package, display)
        if problems:
            raise PackageIntegrityError("\n".join(problems))
        result = scan_package(package, self.config.rules)
        self.results[migration] = result.findings
        self.notes[migration] = result.notes
        return result

    def new_findings(self, migration: str, findings: list[Finding]) -> list[Finding]:
        """The findings no baseline entry covers."""
        return split_findings(findings, self.accepted(migration))[0]

    def export(self) -> dict[str, Any]:
        """This worker's results, as plain data for ``workeroutput``."""
        return {
            "results": {name: to_rows(findings) for name, findings in self.results.items()},
            "unreadable": sorted(self.unreadable),
            "cache": self.new_cache,
            "notes": {
                name: [[n.line, n.where, n.op_class] for n in notes] for name, notes in self.notes.items()
            },
        }

    def merge(self, data: Mapping[str, Any]) -> None:
        """Take in a worker's exported results."""
        for name, rows in data.get("results", {}).items():
            self.results[name] = from_rows([tuple(row) for row in rows], name)
        self.unreadable.update(data.get("unreadable", ()))
        self.new_cache.update(data.get("cache", {}))
        for name, rows in data.get("notes", {}).items():
            self.notes[name] = [Note(name, line, where, op_class) for line, where, op_class in rows]

    def outcome(self) -> Outcome:
        """New and baselined findings, stale entries, and the refreshed baseline in update mode."""
        existing = migration_names(self.config.migrations_dir)
        scanned = {name: self.results[name] for name in sorted(self.results)}
        new: list[Finding] = []
        baselined: list[Finding] = []
        for name, findings in scanned.items():
            fresh, known = split_findings(findings, self.accepted(name))
            new += fresh
            baselined += known
        stale = stale_entries(self.entries, scanned, existing)
        updated = None
        if self.config.update:
            complete = existing <= set(scanned) | self.unreadable
            updated = refresh(self.entries, scanned, existing, complete)
        notes = [note for name in sorted(self.notes) for note in self.notes[name]]
        return Outcome(new, baselined, stale, sorted(self.unreadable), updated, notes)
