"""Pytest nodes for the gate: the migrations folder is a collector, each migration an item.

Failures are reported through ``repr_failure`` as a few plain lines — file, line, rule,
statement, why, what instead, and the command that accepts it — never a Python traceback: a
first run over a real project fails hundreds of items at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_promotion.core.checks import Check, CheckItem
from pytest_promotion.core.failures import FailureRepr, TerminalRepr
from pytest_promotion.migrations.failure_text import failure_text
from pytest_promotion.migrations.gate import GateRun
from pytest_promotion.migrations.prisma8 import OPS_FILE, package_dirs
from pytest_promotion.migrations.scan import MIGRATION_FILE, Finding, MigrationFileError, migration_files

MARK = "migrations"


class RiskyMigrationError(Exception):
    """Raised by an item whose migration holds risky statements not in the baseline."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(findings)
        self.findings = findings


def migration_checks(migrations_dir: Path) -> tuple[Check, ...]:
    """One check per ``<name>/migration.sql`` and per Prisma 8 package (``<name>/ops.json``), in folder-name order.

    Either layout, or both in one folder: a package is never skipped because the folder also
    holds ``migration.sql`` files (a folder holding both files fails as a package).
    """
    sql = {path.parent.name: path for path in migration_files(migrations_dir)}
    packages = {folder.name: folder / OPS_FILE for folder in package_dirs(migrations_dir)}
    return tuple(
        Check(MARK, name, subject=packages.get(name) or sql[name])
        for name in sorted(sql.keys() | packages.keys())
    )


class MigrationItem(CheckItem):
    """One ``<name>/migration.sql``: passes when every risky statement in it is baselined."""

    def __init__(self, *, run: GateRun, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run

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
        self, excinfo: pytest.ExceptionInfo[BaseException], style: str | None = None
    ) -> str | TerminalRepr:
        """Readable lines for our own failures; anything else is a real error with a traceback."""
        config = self.run.config
        path = config.display(self.path)
        if isinstance(excinfo.value, MigrationFileError):
            return FailureRepr(str(excinfo.value), path, 0, str(excinfo.value))
        if isinstance(excinfo.value, RiskyMigrationError):
            notes = [f"  note: line {n.line}: {n.text()}" for n in self.run.notes.get(self.name, [])]
            shaped = failure_text(
                excinfo.value.findings,
                path=path,
                baseline=config.display(config.baseline_path),
                accept_command=config.accept_command,
                style=str(self.config.getoption("tbstyle", "auto")),
                explained=self.run.explained,
                notes=notes,
            )
            return FailureRepr(shaped.text, path, shaped.line, shaped.summary)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at the migration file."""
        return self.path, 0, f"migration {self.name}"


class Prisma8PackageItem(MigrationItem):
    """One Prisma 8 package (``<name>/ops.json``): its files must agree, its risky SQL be baselined."""

    def runtest(self) -> None:
        """Check the package's integrity, scan its SQL, list unmatched destructive/data operations."""
        try:
            if (self.path.parent / MIGRATION_FILE).is_file():
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

    def __init__(self, *, run: GateRun, checks: tuple[Check, ...], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run
        self.checks = checks

    def collect(self) -> Iterator[MigrationItem]:
        """One item per planned migration check: a ``migration.sql`` or a Prisma 8 package's ``ops.json``."""
        for check in self.checks:
            kind = Prisma8PackageItem if check.subject.name == OPS_FILE else MigrationItem
            yield kind.from_parent(self, name=check.name, path=check.subject, run=self.run, check=check)
