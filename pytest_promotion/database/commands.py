"""The ``backup``, ``rollback`` and ``status`` subcommands: argument parsing and what they print.

The work itself is in backup.py, checks.py, restore.py and status.py; this module turns their
errors into one paragraph on stderr and an :class:`~pytest_promotion.database.exit_codes.ExitCode`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database import status_contract
from pytest_promotion.database.backup import (
    SAFETY_PREFIX,
    BackupFile,
    create_backup,
    describe_backup,
    list_backups,
)
from pytest_promotion.database.checks import CheckedBackup, check_backup
from pytest_promotion.database.contract_schema import CONTRACT_SCHEMA, carries_contract, restore_refusal
from pytest_promotion.database.errors import (
    BackupRefusedError,
    DatabaseError,
    NoBackupError,
    RestoreFailedError,
)
from pytest_promotion.database.exit_codes import ExitCode
from pytest_promotion.database.generations import (
    PRISMA8,
    AnyStatus,
    combine,
    report_json,
    report_lines,
    status_folders,
)
from pytest_promotion.database.restore import Progress, analyze, restore
from pytest_promotion.database.status import compare, local_migrations, read_history
from pytest_promotion.database.tools import PgTools, find_tools
from pytest_promotion.database.url import DatabaseTarget, parse_database_url
from pytest_promotion.settings import PromotionSettings, load_settings, source_of

Handler = Callable[[argparse.Namespace], int]
_MIB = 1024 * 1024


@dataclass(frozen=True)
class Context:
    """What every database command starts from: settings, target, tools and resolved folders."""

    settings: PromotionSettings
    target: DatabaseTarget
    tools: PgTools
    backups_dir: Path
    migrations_dir: Path
    options: dict[str, Any]
    pyproject: Path | None


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``backup``, ``rollback`` and ``status`` on the ``pytest-promotion`` parser."""
    backup = subparsers.add_parser(
        "backup",
        help="pg_dump DATABASE_URL's schema into backups/<UTC timestamp>.sql.gz",
        description="Dump the schema DATABASE_URL names (plain SQL, gzip) into the backups folder. "
        "The file appears only once it is complete.",
    )
    _add_backups_dir(backup)
    backup.set_defaults(handler=run_backup)

    rollback = subparsers.add_parser(
        "rollback",
        help="restore the newest backup into DATABASE_URL in one transaction",
        description="Check the newest backup (or --backup FILE), show the plan, ask, take a safety "
        "dump, then replace the schema with the backup in one transaction, ANALYZE, and print "
        "migrate status. Any error leaves the database as it was.",
    )
    rollback.add_argument(
        "--backup", metavar="FILE", type=Path, help="restore this file instead of the newest"
    )
    rollback.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation (CI)")
    rollback.add_argument(
        "--dry-run", action="store_true", help="check the backup and show the plan, then stop"
    )
    rollback.add_argument(
        "--no-safety-dump",
        action="store_true",
        help="skip the pre-rollback-<timestamp>.sql.gz dump of the current state (no way back!)",
    )
    _add_backups_dir(rollback)
    _add_migrations_dir(rollback)
    rollback.set_defaults(handler=run_rollback)

    status = subparsers.add_parser(
        "status",
        help="compare _prisma_migrations (Prisma <= 7) or prisma_contract (Prisma 8) with the migrations folder",
        description="Report every migration's state; exit 0 only when the database is up to date.",
    )
    status.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_migrations_dir(status)
    status.set_defaults(handler=run_status)


def _add_backups_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backups-dir", metavar="DIR", help="the backups folder (default: backups)")


def _add_migrations_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--migrations-dir",
        metavar="DIR",
        help="the Prisma migrations folder (default: prisma/migrations and/or Prisma 8's migrations/app)",
    )


def run_backup(args: argparse.Namespace) -> int:
    """``pytest-promotion backup``."""
    try:
        ctx = load_context(args)
        started = time.perf_counter()
        path = create_backup(ctx.target, ctx.tools, ctx.backups_dir)
    except ConfigError as exc:
        return fail(exc, ExitCode.CONFIG)
    except DatabaseError as exc:
        return fail(exc, ExitCode.DATABASE)
    size = path.stat().st_size
    print(
        f"Backed up {ctx.target.describe()} to {display_path(path)} "
        f"({size / _MIB:.1f} MiB, {time.perf_counter() - started:.1f} s)."
    )
    return ExitCode.OK


def run_status(args: argparse.Namespace) -> int:
    """``pytest-promotion status``."""
    try:
        ctx = load_context(args)
        report = status_report(ctx)
    except ConfigError as exc:
        return fail(exc, ExitCode.CONFIG)
    except DatabaseError as exc:
        return fail(exc, ExitCode.DATABASE)
    if args.json:
        sys.stdout.write(report_json(report, database=ctx.target.display(), schema=ctx.target.schema))
    else:
        print_report(report, ctx.target)
    return report.exit_code


def run_rollback(args: argparse.Namespace) -> int:
    """``pytest-promotion rollback``: check, plan, confirm, safety dump, restore, ANALYZE, status."""
    try:
        ctx = load_context(args)
        chosen = choose_backup(args.backup, ctx.backups_dir)
        checked = check_backup(chosen, ctx.tools.psql_version)
        refusal = restore_refusal(ctx.target, ctx.tools, chosen.path, checked.created_schemas)
        if refusal is not None:  # Prisma 8: the ledger would not match the schema
            raise BackupRefusedError(refusal)
    except ConfigError as exc:
        return fail(exc, ExitCode.CONFIG)
    except NoBackupError as exc:
        return fail(exc, ExitCode.NO_BACKUP)
    except BackupRefusedError as exc:
        return fail(exc, ExitCode.CORRUPT_BACKUP)
    safety_name = f"{SAFETY_PREFIX}<timestamp>.sql.gz"
    for line in plan_lines(ctx, checked, None if args.no_safety_dump else safety_name):
        print(line)
    if args.dry_run:
        print("Dry run: every check passed; nothing was changed.")
        return ExitCode.OK
    if not args.yes and not confirm(ctx.target, sys.stdin, sys.stdout):
        print("Not confirmed; nothing was changed.", file=sys.stderr)
        return ExitCode.ABORTED
    try:
        if not args.no_safety_dump:
            started = time.perf_counter()
            safety = create_backup(ctx.target, ctx.tools, ctx.backups_dir, prefix=SAFETY_PREFIX)
            print(
                f"Safety dump: {display_path(safety)} ({time.perf_counter() - started:.1f} s). "
                f"To undo this rollback: pytest-promotion rollback --backup {display_path(safety)}"
            )
    except DatabaseError as exc:
        return fail(exc, ExitCode.DATABASE)
    try:
        seconds = restore(ctx.target, ctx.tools, checked, progress=terminal_progress(sys.stderr))
    except RestoreFailedError as exc:
        return fail(exc, ExitCode.RESTORE_FAILED)
    print(f"Restored {checked.file.path.name} into {ctx.target.describe()} in {seconds:.1f} s.")
    attention = False
    try:
        analyze(ctx.target, ctx.tools)
    except DatabaseError as exc:
        print(f"Warning: {exc}", file=sys.stderr)
        attention = True
    try:
        report = status_report(ctx)
    except (ConfigError, DatabaseError) as exc:
        print(f"Restored, but migrate status could not be read: {exc}", file=sys.stderr)
        return ExitCode.RESTORED_NEEDS_ATTENTION
    print_report(report, ctx.target)
    return ExitCode.RESTORED_NEEDS_ATTENTION if attention or not report.up_to_date else ExitCode.OK


def load_context(args: argparse.Namespace) -> Context:
    """Settings through the shared precedence chain, DATABASE_URL parsed, tools found."""
    options: dict[str, Any] = {}
    for field in ("backups_dir", "migrations_dir"):
        value = getattr(args, field, None)
        if value is not None:
            options[field] = value
    candidate = Path.cwd() / "pyproject.toml"
    pyproject = candidate if candidate.is_file() else None
    settings = load_settings(pyproject=pyproject, options=options)
    if settings.database_url is None or not settings.database_url.get_secret_value().strip():
        raise ConfigError(
            "DATABASE_URL is not set. Set it to the PostgreSQL database to work on, as in "
            "postgresql://user:password@host:5432/mydb?schema=public."
        )
    target = parse_database_url(settings.database_url, source="DATABASE_URL")
    return Context(
        settings=settings,
        target=target,
        tools=find_tools(),
        backups_dir=Path(settings.backups_dir).resolve(),
        migrations_dir=Path(settings.migrations_dir).resolve(),
        options=options,
        pyproject=pyproject,
    )


def status_report(ctx: Context) -> AnyStatus:
    """Compare the target's history with the migrations folder (which must exist), per Prisma generation."""
    explicit = "migrations_dir" in ctx.options or "migrations_dir" in ctx.settings.model_fields_set
    folders = status_folders(ctx.migrations_dir, explicit=explicit, project=Path.cwd())
    if not folders:
        if "migrations_dir" in ctx.options:
            source = "option --migrations-dir"
        elif "migrations_dir" in ctx.settings.model_fields_set:
            source = source_of("migrations_dir", {}, ctx.pyproject)
        else:
            source = "the default migrations_dir"
        raise ConfigError(
            f"{source}: the migrations folder {ctx.migrations_dir} does not exist. Point "
            "migrations_dir in [tool.promotion] (or --migrations-dir) at your Prisma migrations."
        )
    reports = [
        (
            generation,
            status_contract.compare(
                status_contract.local_packages(folder), status_contract.read_contract(ctx.target, ctx.tools)
            )
            if generation == PRISMA8
            else compare(local_migrations(folder), read_history(ctx.target, ctx.tools)),
        )
        for generation, folder in folders
    ]
    return combine(reports)


def choose_backup(explicit: Path | None, folder: Path) -> BackupFile:
    """The file ``--backup`` names, or the newest backup in the folder; NoBackupError otherwise."""
    if explicit is not None:
        if not explicit.is_file():
            raise NoBackupError(f"--backup {explicit}: no such file. Name an existing .sql.gz backup.")
        return describe_backup(explicit)
    backups = list_backups(folder)
    if not backups:
        raise NoBackupError(
            f"No backup found: {folder} holds no *.sql.gz backup (pre-rollback-* safety dumps are only "
            "restored when named). Take one with `pytest-promotion backup`, or name a file with --backup FILE."
        )
    return backups[-1]


def plan_lines(ctx: Context, checked: CheckedBackup, safety: str | None) -> list[str]:
    """What the rollback will do, before it asks."""
    file = checked.file
    age = datetime.now(UTC) - file.taken_at
    dumped = f", dumped by pg_dump {checked.dumped_by[0]}.{checked.dumped_by[1]}" if checked.dumped_by else ""
    lines = [
        "Rollback plan",
        f"  database: {ctx.target.display()} ({ctx.target.describe()})",
        f"  backup:   {display_path(file.path)} — {checked.compressed_size / _MIB:.1f} MiB compressed, "
        f"{checked.size / _MIB:.1f} MiB of SQL, taken {file.taken_at:%Y-%m-%d %H:%M:%S} UTC "
        f"({human_age(age.total_seconds())} ago){dumped}",
        "  checks:   complete gzip, plain-format dump, ends with pg_dump's closing line, psql "
        f"{ctx.tools.psql_version[0]}.{ctx.tools.psql_version[1]} can replay it",
        f"  1. safety dump of the current schema to {display_path(ctx.backups_dir)}/{safety}"
        if safety
        else "  1. NO safety dump (--no-safety-dump): the current state cannot be brought back",
        f'  2. in one transaction: DROP SCHEMA "{ctx.target.schema}" CASCADE, recreate it, replay the backup'
        + (
            f' (with "{CONTRACT_SCHEMA}", Prisma 8\'s ledger)'
            if carries_contract(ctx.target, checked.created_schemas)
            else ""
        ),
        "  3. ANALYZE, then migrate status",
    ]
    if ctx.target.ignored:
        lines.insert(2, f"  ignored URL parameters (Prisma only): {', '.join(ctx.target.ignored)}")
    return lines


def confirm(target: DatabaseTarget, stdin: TextIO, stdout: TextIO) -> bool:
    """Ask on a terminal; without one, refuse (pass --yes in CI)."""
    if not stdin.isatty():
        print(
            "rollback needs confirmation, but standard input is not a terminal: pass --yes to "
            "restore without asking (CI), or --dry-run to see the plan only.",
            file=sys.stderr,
        )
        return False
    stdout.write(f'Replace schema "{target.schema}" of database "{target.database}" with this backup? [y/N] ')
    stdout.flush()
    answer = stdin.readline().strip().lower()
    return answer in {"y", "yes"}


def terminal_progress(stream: TextIO) -> Progress | None:
    """Bytes restored, on one rewritten line, only when ``stream`` is a terminal."""
    if not stream.isatty():
        return None
    last = 0.0

    def report(sent: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < 0.2 and sent < total:
            return
        last = now
        percent = 100 * sent / total if total else 100
        stream.write(f"\rrestoring: {sent / _MIB:,.1f} / {total / _MIB:,.1f} MiB ({percent:.0f}%)")
        if sent >= total:
            stream.write("\n")
        stream.flush()

    return report


def print_report(report: AnyStatus, target: DatabaseTarget) -> None:
    """The status table and verdict (for each Prisma generation when the project holds both)."""
    print(f"Migrate status of {target.describe()}:")
    for line in report_lines(report, lambda generation: f"{generation.capitalize()}:"):
        print(line)


def fail(exc: Exception, code: ExitCode) -> int:
    """Print the error paragraph on stderr and return its exit code."""
    print(f"error: {exc}", file=sys.stderr)
    return code


def display_path(path: Path) -> str:
    """``path`` relative to the current folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def human_age(seconds: float) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``40 s``."""
    seconds = max(seconds, 0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
