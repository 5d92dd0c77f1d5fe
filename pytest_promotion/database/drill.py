"""``pytest -m backups``: the restore drill, as one pytest item.

A backup nobody has restored is a hope, not a backup. The drill restores the newest one into a
freshly created scratch database on the server ``DATABASE_URL`` names (never into that
database itself), reads its migrate status, records restore time and row counts as JUnit
properties, and drops the scratch database even when something fails.

The item exists only when the ``-m`` expression names ``backups``: the drill creates a database
and may run for minutes, so a plain ``pytest`` never starts it by surprise. Once asked for, a
missing ``DATABASE_URL`` or backup fails it (a drill that skips proves nothing).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from pytest_promotion.configure import given_options
from pytest_promotion.core.checks import Check, CheckItem
from pytest_promotion.core.errors import ConfigError
from pytest_promotion.core.failures import FailureRepr, TerminalRepr
from pytest_promotion.database.backup import list_backups
from pytest_promotion.database.checks import check_backup
from pytest_promotion.database.errors import BackupRefusedError, DatabaseError, RestoreFailedError
from pytest_promotion.database.restore import restore
from pytest_promotion.database.status import (
    NEEDS_A_PERSON,
    LocalMigration,
    State,
    StatusReport,
    compare,
    local_migrations,
    read_history,
)
from pytest_promotion.database.status_contract import applied_count, local_packages, read_contract
from pytest_promotion.database.status_contract import compare as contract_compare
from pytest_promotion.database.status_contract import prefix_problems as contract_prefix_problems
from pytest_promotion.database.tools import PgTools, find_tools, run_psql
from pytest_promotion.database.url import DatabaseTarget, parse_database_url, quote_ident, quote_literal
from pytest_promotion.migrations.prisma8 import default_folder, gated_folder, is_prisma8_dir
from pytest_promotion.probe import project_file as pyproject_for
from pytest_promotion.settings import PromotionSettings

MARK = "backups"
ITEM_NAME = "restore-drill"
SCRATCH_PREFIX = "promotion_drill_"
_NAMES_MARK = re.compile(rf"\b{MARK}\b")
DRILL_CHECK = Check(MARK, ITEM_NAME)


@dataclass(frozen=True, kw_only=True)
class DrillConfig:
    """What the drill needs from the settings, paths resolved."""

    database_url: SecretStr | None
    backups_dir: Path
    migrations_dir: Path
    root: Path


class DrillFailedError(Exception):
    """The drill failed for a reason the message fully explains (no traceback needed)."""


def drill_config(config: pytest.Config, settings: PromotionSettings) -> DrillConfig | None:
    """The drill's configuration when the ``-m`` expression names ``backups``, else None.

    The drill restores a real backup, so it runs only when asked for by its mark, never as part
    of a plain ``pytest`` run.
    """
    if not _NAMES_MARK.search(config.option.markexpr or ""):
        return None
    project = (pyproject_for(config) or config.rootpath / "pyproject.toml").parent
    options = given_options(config)
    migrations_base = config.invocation_params.dir if "migrations_dir" in options else project
    return DrillConfig(
        database_url=settings.database_url,
        backups_dir=(project / settings.backups_dir).resolve(),
        migrations_dir=_gated(migrations_base / settings.migrations_dir, settings, project),
        root=config.rootpath,
    )


def drill_header(drill: DrillConfig) -> str:
    """Name the folder the drill restores from."""
    return f"promotion: restore drill of the newest backup in {_display(drill.backups_dir, drill.root)}"


class RestoreDrillItem(CheckItem):
    """Restore the newest backup into a scratch database and check what it holds."""

    def __init__(self, *, drill: DrillConfig, **kwargs: object) -> None:
        super().__init__(check=DRILL_CHECK, **kwargs)
        self.drill = drill

    def runtest(self) -> None:
        """Check, restore into scratch, record properties, compare migrations; drop scratch always."""
        drill = self.drill
        if drill.database_url is None or not drill.database_url.get_secret_value().strip():
            raise DrillFailedError(
                "DATABASE_URL is not set: the restore drill creates its scratch database on that "
                "server. Set DATABASE_URL (postgresql://user:password@host:5432/mydb) and run "
                "`pytest -m backups` again."
            )
        try:
            target = parse_database_url(drill.database_url, source="DATABASE_URL")
            tools = find_tools()
        except ConfigError as exc:
            raise DrillFailedError(str(exc)) from None
        backups = list_backups(drill.backups_dir)
        if not backups:
            raise DrillFailedError(
                f"No backup to drill: {drill.backups_dir} holds no *.sql.gz backup. Take one with "
                "`pytest-promotion backup` (or point backups_dir in [tool.promotion] at them)."
            )
        newest = backups[-1]
        self.user_properties.append(("backup", newest.path.name))
        try:
            checked = check_backup(newest, tools.psql_version)
        except (BackupRefusedError, ConfigError) as exc:
            raise DrillFailedError(str(exc)) from None
        self.user_properties.append(("backup_bytes", checked.size))
        scratch = target.with_database(f"{SCRATCH_PREFIX}{os.getpid()}_{secrets.token_hex(4)}")
        self.user_properties.append(("scratch_database", scratch.database))
        try:
            create_database(target, tools, scratch.database)
            try:
                seconds = restore(scratch, tools, checked).seconds
                self.user_properties.append(("restore_seconds", f"{seconds:.3f}"))
                for table, count in row_counts(scratch, tools).items():
                    self.user_properties.append((f"rows.{table}", count))
                if is_prisma8_dir(drill.migrations_dir):  # Prisma 8: the restored prisma_contract
                    contract = contract_compare(
                        local_packages(drill.migrations_dir), read_contract(scratch, tools)
                    )
                else:
                    report = compare(self._local(), read_history(scratch, tools))
            finally:
                drop_database(target, tools, scratch.database)
        except (DatabaseError, RestoreFailedError) as exc:
            raise DrillFailedError(str(exc)) from None
        if is_prisma8_dir(drill.migrations_dir):
            applied, problems = applied_count(contract), contract_prefix_problems(contract)
        else:
            applied = sum(
                1
                for m in report.migrations
                if m.state is not State.PENDING and m.state is not State.ROLLED_BACK
            )
            problems = prefix_problems(report)
        self.user_properties.append(("migrations_applied", applied))
        if problems:
            raise DrillFailedError(
                "\n".join(
                    [
                        f"{newest.path.name}: restored, but its migrations are not a prefix of "
                        f"{_display(drill.migrations_dir, drill.root)}:",
                        *(f"  {line}" for line in problems),
                        "This backup does not match this code: take a fresh backup with "
                        "`pytest-promotion backup`, or fix the migrations folder.",
                    ]
                )
            )

    def _local(self) -> list[LocalMigration]:
        folder = self.drill.migrations_dir
        if not folder.is_dir():
            raise DrillFailedError(
                f"The migrations folder {folder} does not exist, so the backup's migrations cannot be "
                "compared with it. Set migrations_dir in [tool.promotion] (or --promotion-migrations-dir)."
            )
        return local_migrations(folder)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: str | None = None
    ) -> str | TerminalRepr:
        """The drill's own failures as plain lines; anything else with a traceback."""
        if isinstance(excinfo.value, DrillFailedError):
            text = str(excinfo.value)
            return FailureRepr(text, str(self.drill.backups_dir), 0, text.splitlines()[0])
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at the backups folder."""
        return (
            self.drill.backups_dir,
            0,
            f"restore drill of {_display(self.drill.backups_dir, self.drill.root)}",
        )


def _gated(folder: Path, settings: PromotionSettings, project: Path) -> Path:
    """The migrations folder as the gate reads it: Prisma 8's ``migrations/app`` when that is the project's."""
    if "migrations_dir" in settings.model_fields_set:
        return gated_folder(folder.resolve())
    return default_folder(project, folder.resolve())


def prefix_problems(report: StatusReport) -> list[str]:
    """Why a restored history is not a prefix of the folder; empty when it is.

    A prefix means: no table only when the folder is empty, no failed, edited or unknown
    migration, and nothing applied after a migration that is still pending.
    """
    if not report.managed:
        if report.migrations:
            return [
                "the backup has no _prisma_migrations table, but the folder holds "
                f"{len(report.migrations)} migrations (a backup of another database?)"
            ]
        return []
    problems = [
        f"{m.name}: {m.state.value} ({m.detail})" for m in report.migrations if m.state in NEEDS_A_PERSON
    ]
    gap: str | None = None
    for m in report.migrations:
        if m.state in (State.PENDING, State.ROLLED_BACK):
            gap = gap or m.name
        elif gap is not None and m.state is State.APPLIED:
            problems.append(f"{m.name}: applied, but the earlier {gap} is not")
    return problems


def create_database(target: DatabaseTarget, tools: PgTools, name: str) -> None:
    """An empty database (from template0) on the target's server."""
    run_psql(tools, target, f"CREATE DATABASE {quote_ident(name)} TEMPLATE template0", what=f"create {name}")


def drop_database(target: DatabaseTarget, tools: PgTools, name: str) -> None:
    """Drop a scratch database, closing any session still in it."""
    run_psql(tools, target, f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)", what=f"drop {name}")


def row_counts(target: DatabaseTarget, tools: PgTools) -> dict[str, int]:
    """Exact row count of every table in the target's schema."""
    listing = run_psql(
        tools,
        target,
        "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = {quote_literal(target.schema)} AND c.relkind IN ('r', 'p') ORDER BY 1",
        what="list the restored tables",
    )
    tables = [line for line in listing.splitlines() if line]
    if not tables:
        return {}
    counts = " UNION ALL ".join(
        f"SELECT {quote_literal(t)} AS t, count(*) AS n FROM {quote_ident(target.schema)}.{quote_ident(t)}"
        for t in tables
    )
    out = run_psql(tools, target, f"SELECT json_object_agg(t, n) FROM ({counts}) c", what="count rows")
    data: dict[str, int] = json.loads(out)
    return dict(sorted(data.items()))


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
