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
from pytest_promotion.migrations.scan import Finding, MigrationFileError, migration_files

MARK = "migrations"


class RiskyMigrationError(Exception):
    """Raised by an item whose migration holds risky statements not in the baseline."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(findings)
        self.findings = findings


def migration_checks(migrations_dir: Path) -> tuple[Check, ...]:
    """One check per ``<name>/migration.sql``, in folder-name order."""
    return tuple(Check(MARK, path.parent.name, subject=path) for path in migration_files(migrations_dir))


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
            shaped = failure_text(
                excinfo.value.findings,
                path=path,
                baseline=config.display(config.baseline_path),
                accept_command=config.accept_command,
                style=str(self.config.getoption("tbstyle", "auto")),
                explained=self.run.explained,
            )
            return FailureRepr(shaped.text, path, shaped.line, shaped.summary)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at the migration file."""
        return self.path, 0, f"migration {self.name}"


class MigrationsDirectory(pytest.Directory):
    """The Prisma migrations folder: yields one item per migration, in folder-name order."""

    def __init__(self, *, run: GateRun, checks: tuple[Check, ...], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run
        self.checks = checks

    def collect(self) -> Iterator[MigrationItem]:
        """One item per planned migration check."""
        for check in self.checks:
            yield MigrationItem.from_parent(
                self, name=check.name, path=check.subject, run=self.run, check=check
            )
