"""Pytest nodes for the gate: the migrations folder is a collector, each migration an item.

Failures are reported through ``repr_failure`` as a few plain lines — file, line, rule,
statement, why, what instead, and the command that accepts it — never a Python traceback: a
first run over a real project fails hundreds of items at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest._code.code import ExceptionInfo, TerminalRepr

from pytest_promotion.failures import FailureRepr
from pytest_promotion.migrations.gate import GateRun
from pytest_promotion.migrations.prisma8 import OPS_FILE, package_dirs
from pytest_promotion.migrations.rules import RULES
from pytest_promotion.migrations.scan import Finding, MigrationFileError, migration_files

MARK = "migrations"
_STATEMENT_CHARS = 300


class RiskyMigrationError(Exception):
    """Raised by an item whose migration holds risky statements not in the baseline."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(findings)
        self.findings = findings


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 entry``, ``2 entries``."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def shorten(statement: str, limit: int = _STATEMENT_CHARS) -> str:
    """A statement cut to ``limit`` characters on one line, for terminal and JUnit text."""
    flat = " ".join(statement.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(finding: Finding) -> str:
    """The failure text for one finding: where, what, why, and what to do instead."""
    rule = RULES[finding.rule]
    at = f"      at: {finding.where}\n" if finding.where else ""  # a Prisma 8 operation and step
    return (
        f"  line {finding.line}: {finding.rule} — {shorten(finding.statement)}\n{at}"
        f"      why: {rule.reason}\n"
        f"      instead: {rule.instead}"
    )


class MigrationItem(pytest.Item):
    """One ``<name>/migration.sql``: passes when every risky statement in it is baselined."""

    def __init__(self, *, run: GateRun, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run
        self.add_marker(MARK)

    def runtest(self) -> None:
        """Scan the file (or take the cached scan) and fail on findings the baseline lacks."""
        try:
            findings = self.run.scan(self.path, self.name)
        except MigrationFileError:
            self.run.unreadable.add(self.name)
            raise
        new = self.run.new_findings(self.name, findings)
        if new and not self.run.config.update:
            raise RiskyMigrationError(new)

    def repr_failure(
        self, excinfo: ExceptionInfo[BaseException], style: str | None = None
    ) -> str | TerminalRepr:
        """Readable lines for our own failures; anything else is a real error with a traceback."""
        config = self.run.config
        path = config.display(self.path)
        if isinstance(excinfo.value, MigrationFileError):
            return FailureRepr(str(excinfo.value), path, 0, str(excinfo.value))
        if isinstance(excinfo.value, RiskyMigrationError):
            findings = excinfo.value.findings
            count = plural(len(findings), "risky statement")
            notes = [f"  note: line {n.line}: {n.text()}" for n in self.run.notes.get(self.name, [])]
            lines = [
                f"{path}: {count} not in the reviewed baseline ({config.display(config.baseline_path)})",
                *(describe(f) for f in findings),
                *notes,
                f"Review, then accept with: {config.accept_command}",
            ]
            rules = ", ".join(sorted({f.rule for f in findings}))
            summary = f"{count} not in the baseline ({rules}), first on line {findings[0].line}"
            return FailureRepr("\n".join(lines), path, findings[0].line, summary)
        return super().repr_failure(excinfo, style=style)  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at the migration file."""
        return self.path, 0, f"migration {self.name}"


class Prisma8PackageItem(MigrationItem):
    """One Prisma 8 package (``<name>/ops.json``): its files must agree, its risky SQL be baselined."""

    def __init__(self, *, both: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.both = both

    def runtest(self) -> None:
        """Check the package's integrity, scan its SQL, list unmatched destructive/data operations."""
        try:
            if self.both:
                raise MigrationFileError(
                    f"{self.run.config.display(self.path.parent)}: holds both migration.sql (Prisma <= 7) and "
                    "ops.json (Prisma 8), so which SQL runs depends on the Prisma version. Remove the one "
                    "your Prisma does not run."
                )
            result = self.run.scan_package(self.path.parent, self.name)
        except MigrationFileError:
            self.run.unreadable.add(self.name)
            raise
        new = self.run.new_findings(self.name, result.findings)
        if new and not self.run.config.update:
            raise RiskyMigrationError(new)  # its text lists the notes too
        if result.notes:  # shown for a passing item with -rP, and in the migration safety summary
            where = self.run.config.display(self.path)
            notes = "\n".join(f"{where}:{n.line}: {n.text()}" for n in result.notes)
            self.add_report_section("call", "prisma 8 notes", notes)


class MigrationsDirectory(pytest.Directory):
    """The Prisma migrations folder: yields one item per migration, in folder-name order."""

    def __init__(self, *, run: GateRun, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run

    def collect(self) -> Iterator[MigrationItem]:
        """One item per ``<name>/migration.sql`` and per Prisma 8 package (``<name>/ops.json``), in name order.

        Either layout, or both in one folder: a package is never skipped because the folder also
        holds ``migration.sql`` files. A folder holding both files fails as a package.
        """
        sql = {path.parent.name: path for path in migration_files(self.path)}
        packages = {folder.name: folder for folder in package_dirs(self.path)}
        for name in sorted(sql.keys() | packages.keys()):
            if name in packages:
                path = packages[name] / OPS_FILE
                yield Prisma8PackageItem.from_parent(
                    self, name=name, path=path, run=self.run, both=name in sql
                )
            else:
                yield MigrationItem.from_parent(self, name=name, path=sql[name], run=self.run)
