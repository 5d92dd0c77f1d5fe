"""Which Prisma generation ``status`` reports on, and one report for both when a project has both.

A Prisma <= 7 project keeps ``prisma/migrations`` and ``_prisma_migrations``; a Prisma 8 project
keeps ``migrations/app`` and ``prisma_contract``. A project moving from one to the other can hold
both folders: then both are reported, one after the other, and the exit code is the worse one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promotion.database.exit_codes import ExitCode
from pytest_promotion.database.status import StatusReport, table_lines, to_json
from pytest_promotion.database.status_contract import ContractStatusReport
from pytest_promotion.migrations.prisma8 import APP_SPACE, gated_folder, is_prisma8_dir

PRISMA7 = "prisma <= 7"
PRISMA8 = "prisma 8"
_SEVERITY = {ExitCode.OK: 0, ExitCode.PENDING: 1, ExitCode.NEEDS_ATTENTION: 2}


@dataclass(frozen=True)
class SideBySide:
    """Both generations' reports, for a project holding both folders."""

    reports: tuple[tuple[str, StatusReport | ContractStatusReport], ...]

    @property
    def up_to_date(self) -> bool:
        """Every generation up to date."""
        return all(report.up_to_date for _, report in self.reports)

    @property
    def exit_code(self) -> ExitCode:
        """The worst of the generations' exit codes."""
        return max((report.exit_code for _, report in self.reports), key=lambda code: _SEVERITY[code])


AnyStatus = StatusReport | ContractStatusReport | SideBySide


def status_folders(folder: Path, *, explicit: bool, project: Path) -> list[tuple[str, Path]]:
    """The generation and folder of each history to report; empty when there is none at all.

    An explicit ``migrations_dir`` is reported alone (Prisma 8 when it holds packages, or is the
    ``migrations`` folder holding ``app/``); otherwise ``prisma/migrations`` and ``migrations/app``
    are each reported when present.
    """
    if explicit:
        chosen = gated_folder(folder)
        if not chosen.is_dir():
            return []
        return [(PRISMA8 if is_prisma8_dir(chosen) else PRISMA7, chosen)]
    found = [(PRISMA7, folder)] if folder.is_dir() else []
    app = project / "migrations" / APP_SPACE
    if is_prisma8_dir(app):
        found.append((PRISMA8, app))
    return found


def combine(reports: list[tuple[str, StatusReport | ContractStatusReport]]) -> AnyStatus:
    """One report as it is, or both side by side."""
    return reports[0][1] if len(reports) == 1 else SideBySide(tuple(reports))


def report_lines(report: AnyStatus, heading: Callable[[str], str]) -> list[str]:
    """The table(s) and verdict(s) to print; ``heading(generation)`` titles each part of a pair."""
    if isinstance(report, SideBySide):
        lines: list[str] = []
        for generation, part in report.reports:
            lines += [heading(generation), *report_lines(part, heading)]
        return lines
    table = report.table_lines() if isinstance(report, ContractStatusReport) else table_lines(report)
    return [*(f"  {line}" for line in (table if report.migrations else [])), report.verdict()]


def report_json(report: AnyStatus, *, database: str, schema: str) -> str:
    """``--json``: one generation's document, or ``{"version", "up_to_date", "exit_code", "generations": […]}``."""
    if isinstance(report, StatusReport):
        return to_json(report, database=database, schema=schema)
    if isinstance(report, ContractStatusReport):
        data: dict[str, Any] = report.as_json(database=database, schema=schema)
    else:
        parts = []
        for generation, part in report.reports:
            if isinstance(part, StatusReport):
                document = json.loads(to_json(part, database=database, schema=schema))
                document["generation"] = generation
            else:
                document = part.as_json(database=database, schema=schema)
            parts.append(document)
        data = {
            "version": parts[0]["version"],
            "up_to_date": report.up_to_date,
            "exit_code": int(report.exit_code),
            "generations": parts,
        }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
