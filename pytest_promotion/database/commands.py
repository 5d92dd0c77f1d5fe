"""The ``backup``, ``rollback`` and ``status`` subcommands: argument parsing and what they print.

The work itself is in backup.py, checks.py, restore.py and status.py; this module turns their
errors into one paragraph on stderr and an :class:`~pytest_promotion.database.exit_codes.ExitCode`.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.core.text import plural
from pytest_promotion.database.backup import (
    DEFAULT_LOCK_TIMEOUT,
    SAFETY_PREFIX,
    BackupFile,
    DumpFacts,
    PendingBackup,
    check_backups_dir,
    create_backup,
    describe_backup,
    dump_facts,
    list_backups,
    start_backup,
)
from pytest_promotion.database.checks import CheckedBackup, check_backup, check_head, mismatches
from pytest_promotion.database.contract_schema import CONTRACT_SCHEMA, carries_contract, restore_refusal
from pytest_promotion.database.errors import (
    BackupRefusedError,
    BackupsDirError,
    DatabaseError,
    NoBackupError,
    RestoreBlockedError,
    RestoreFailedError,
)
from pytest_promotion.database.exit_codes import ExitCode
from pytest_promotion.database.exposure import unignored_work_tree
from pytest_promotion.database.preflight import (
    LockHolder,
    ServerFacts,
    holder_table,
    inspect,
    lock_holders,
    require_no_outside_dependents,
    require_pg_dump_for,
    require_restore_privileges,
    require_schema,
    require_writable,
)
from pytest_promotion.database.progress import Phases, rate
from pytest_promotion.database.restore import analyze, restore
from pytest_promotion.database.tools import INSTALL_HINT, PgTools, client_version, find_tools
from pytest_promotion.database.units import human_age, human_size
from pytest_promotion.database.url import DatabaseTarget, parse_database_url
from pytest_promotion.settings import PromotionSettings, load_settings, source_of

if TYPE_CHECKING:  # the status modules (and the migration parser) load only when a report is made
    from pytest_promotion.database.generations import AnyStatus

Handler = Callable[[argparse.Namespace], int]
_T = TypeVar("_T")


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
    _add_lock_timeout(backup)
    backup.set_defaults(handler=run_backup)

    rollback = subparsers.add_parser(
        "rollback",
        help="restore the newest backup into DATABASE_URL in one transaction",
        description="Check the newest backup (or --backup FILE) and the database, show the plan, ask, "
        "take a safety dump, then replace the schema with the backup in one transaction, ANALYZE, "
        "and print migrate status. Any error leaves the database as it was. Exit 0 means restored.",
    )
    rollback.add_argument(
        "--backup", metavar="FILE", type=Path, help="restore this file instead of the newest"
    )
    rollback.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation (CI)")
    rollback.add_argument(
        "--dry-run",
        action="store_true",
        help="connect, run every check a rollback makes, show the plan, then stop",
    )
    rollback.add_argument(
        "--no-safety-dump",
        action="store_true",
        help="skip the pre-rollback-<timestamp>.sql.gz dump of the current state (no way back!)",
    )
    rollback.add_argument(
        "--terminate-blockers",
        action="store_true",
        help="terminate the sessions holding locks in the schema before dropping it "
        "(listed in the plan and confirmed; never the rollback's own session)",
    )
    rollback.add_argument(
        "--allow-foreign-backup",
        action="store_true",
        help="restore a backup taken of another schema or database (refused otherwise)",
    )
    _add_lock_timeout(rollback)
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


def _add_lock_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lock-timeout",
        metavar="SECONDS",
        type=_seconds,
        default=DEFAULT_LOCK_TIMEOUT,
        help="give up when a lock is not granted within this time, so the app never queues behind "
        f"us for longer (default: {DEFAULT_LOCK_TIMEOUT:g})",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0 and at most 3600")
    return value


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
        facts = inspect(ctx.target, ctx.tools)
        require_schema(facts, ctx.target)
        require_pg_dump_for(facts, ctx.tools)
        started = time.perf_counter()
        path = create_backup(ctx.target, ctx.tools, ctx.backups_dir, lock_timeout=args.lock_timeout)
    except BackupsDirError as exc:
        return fail(backups_dir_error(ctx, exc), ExitCode.CONFIG)
    except ConfigError as exc:
        return fail(exc, ExitCode.CONFIG)
    except DatabaseError as exc:
        return fail(exc, ExitCode.DATABASE)
    print(
        f"Backed up {ctx.target.describe()} to {display_path(path)} "
        f"({human_size(path.stat().st_size)}, {time.perf_counter() - started:.1f} s). It holds all the "
        "schema's data (not only its structure) and is readable by you only."
    )
    warn_if_exposed(path, ctx.target)
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
    from pytest_promotion.database.generations import report_json

    if args.json:
        sys.stdout.write(report_json(report, database=ctx.target.display(), schema=ctx.target.schema))
    else:
        print_report(report, ctx.target)
    return report.exit_code


@dataclass(frozen=True)
class Preflight:
    """What the checks before the plan found: the backup, the server, the sessions in the way."""

    checked: CheckedBackup
    facts: ServerFacts
    holders: list[LockHolder]
    mismatches: list[str]
    pending: PendingBackup | None = None
    """The safety dump, started beside the server's checks (None: not wanted, or a dry run)."""


def run_rollback(args: argparse.Namespace) -> int:
    """``pytest-promotion rollback``: check, plan, confirm, safety dump, restore, ANALYZE, status.

    A dry run makes every check a real run makes, against the real database, and fails the same
    way. Exit 0 means restored; the migrate status that follows is information. The safety dump
    starts as soon as the backup's own checks passed, beside the checks of the server, and runs
    while the plan is read and answered; it is cancelled (and removed) if a check fails.
    """
    phases = Phases(sys.stderr)
    started = time.perf_counter()
    ctx: Context | None = None
    will_ask_nobody = not args.yes and not sys.stdin.isatty()  # refused below: start nothing
    try:
        ctx = load_context(args)
        found = preflight(
            ctx, args, safety_dump=not args.dry_run and not args.no_safety_dump and not will_ask_nobody
        )
    except BackupsDirError as exc:
        assert ctx is not None
        return fail(backups_dir_error(ctx, exc), ExitCode.CONFIG)
    except ConfigError as exc:
        return fail(exc, ExitCode.CONFIG)
    except NoBackupError as exc:
        return fail(exc, ExitCode.NO_BACKUP)
    except BackupRefusedError as exc:
        return fail(exc, ExitCode.CORRUPT_BACKUP)
    except DatabaseError as exc:
        return fail(exc, ExitCode.DATABASE)
    checked = found.checked
    phases.done(
        "checks", time.perf_counter() - started, "whole backup" if checked.complete else "head of the backup"
    )
    pending = found.pending
    try:
        return _confirm_and_restore(ctx, args, found, pending, phases)
    finally:
        if pending is not None:  # not confirmed, or interrupted: no half safety dump stays behind
            pending.cancel()  # (pg_dump may have ended already: Ctrl-C reaches the whole process group)


def _confirm_and_restore(
    ctx: Context, args: argparse.Namespace, found: Preflight, pending: PendingBackup | None, phases: Phases
) -> int:
    checked = found.checked
    safety_name = f"{SAFETY_PREFIX}<timestamp>.sql.gz"
    for line in plan_lines(ctx, found, None if args.no_safety_dump else safety_name, args):
        print(line)
    if args.dry_run:
        print(
            "Dry run: the backup and the database passed every check a rollback makes; nothing was changed."
        )
        return ExitCode.OK
    terminating = len(found.holders) if args.terminate_blockers else None
    if not args.yes and not confirm(ctx.target, sys.stdin, sys.stdout, terminating=terminating):
        print("Not confirmed; nothing was changed.", file=sys.stderr)
        return ExitCode.ABORTED
    safety: Path | None = None
    if pending is not None:
        try:
            while not _ended(pending.proc, 0.05):  # returns the moment pg_dump ends
                phases.dump_progress(pending.written, pending.started)
            safety = pending.wait()
        except BackupsDirError as exc:
            return fail(backups_dir_error(ctx, exc), ExitCode.CONFIG)
        except DatabaseError as exc:
            return fail(exc, ExitCode.DATABASE)
        seconds = time.perf_counter() - pending.started
        phases.done(
            "safety dump",
            seconds,
            f"{human_size(pending.written)} of SQL, {rate(pending.written, seconds)}, gzip level {pending.level}",
        )
        print(
            f"Safety dump: {display_path(safety)} ({human_size(safety.stat().st_size)}). "
            f"To undo this rollback: pytest-promotion rollback --backup {display_path(safety)}"
        )
        warn_if_exposed(safety, ctx.target)
    try:
        restored = restore(
            ctx.target,
            ctx.tools,
            checked,
            progress=phases.restore_progress(),
            lock_timeout=args.lock_timeout,
            terminate=args.terminate_blockers,
            verify=None if args.allow_foreign_backup else lambda full: refuse_foreign(full, ctx.target),
        )
    except RestoreBlockedError as exc:
        report_blocked(ctx, exc)
        return ExitCode.BLOCKED
    except RestoreFailedError as exc:
        return fail(exc, ExitCode.RESTORE_FAILED)
    except (BackupRefusedError, ConfigError) as exc:  # found during the single pass; never committed
        discard_safety_dump(safety)
        return fail(exc, ExitCode.CORRUPT_BACKUP if isinstance(exc, BackupRefusedError) else ExitCode.CONFIG)
    phases.done(
        "restore",
        restored.seconds,
        f"{human_size(restored.size)} of SQL, {rate(restored.size, restored.seconds)}",
    )
    if restored.terminated:
        print(
            f"Terminated {len(restored.terminated)} session(s) holding locks in schema "
            f'"{ctx.target.schema}" before the restore: pid {", ".join(map(str, restored.terminated))}.'
        )
    print(f"Restored {checked.file.path.name} into {ctx.target.describe()} in {restored.seconds:.1f} s.")
    # The migrate status reads only the ledger: it is read beside ANALYZE, not after it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(_timed, lambda: status_report(ctx))
        started = time.perf_counter()
        # Committed: from here on nothing may turn "restored" into a failure (a retry would lose writes).
        try:
            analyze(ctx.target, ctx.tools)
        except DatabaseError as exc:
            print(f"Warning: the rollback is done, but {exc}", file=sys.stderr)
        except Exception as exc:  # after the commit every error is a warning
            print(
                f"Warning: the rollback is done, but ANALYZE failed ({type(exc).__name__}).", file=sys.stderr
            )
        phases.done("analyze", time.perf_counter() - started)
        try:
            report, seconds = reading.result()
        except (ConfigError, DatabaseError) as exc:
            print(f"Note: the rollback is done; migrate status could not be read: {exc}", file=sys.stderr)
            return ExitCode.OK
        except Exception as exc:  # after the commit every error is a note
            print(
                f"Note: the rollback is done; migrate status could not be read ({type(exc).__name__}); "
                "run pytest-promotion status to see why.",
                file=sys.stderr,
            )
            return ExitCode.OK
    phases.done("status", seconds)
    print(
        f"Migrate status after the rollback (information; the rollback itself succeeded) of {ctx.target.describe()}:"
    )
    for line in after_rollback_lines(report):
        print(line)
    return ExitCode.OK


def _ended(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """Whether ``proc`` ended within ``seconds``."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _timed(work: Callable[[], _T]) -> tuple[_T, float]:
    """``work()`` and the seconds it took."""
    started = time.perf_counter()
    return work(), time.perf_counter() - started


def after_rollback_lines(report: AnyStatus) -> list[str]:
    """The status after a rollback, as information, per Prisma generation."""
    from pytest_promotion.database import status_contract
    from pytest_promotion.database.generations import SideBySide
    from pytest_promotion.database.status import StatusReport, after_rollback, table_lines

    if isinstance(report, SideBySide):
        lines: list[str] = []
        for generation, part in report.reports:
            lines += [f"{generation.capitalize()}:", *after_rollback_lines(part)]
        return lines
    if isinstance(report, StatusReport):
        return [
            *(f"  {line}" for line in (table_lines(report) if report.migrations else [])),
            after_rollback(report),
        ]
    table = report.table_lines() if report.migrations else []
    pending = [m.name for m in report.migrations if m.state is status_contract.State.PENDING]
    if pending and report.exit_code is not ExitCode.NEEDS_ATTENTION:  # only pending: the rollback's doing
        advice = (
            f"{plural(len(pending), 'Prisma 8 package')} pending ({', '.join(pending)}): expected after a "
            "rollback — they belong to the release that was rolled back. Do not run `prisma db migrate` "
            "now; they are applied again when that release (or its fix) is deployed."
        )
        return [*(f"  {line}" for line in table), advice]
    return [*(f"  {line}" for line in table), report.verdict()]


def preflight(ctx: Context, args: argparse.Namespace, *, safety_dump: bool = False) -> Preflight:
    """Every check before the plan, reported in the order a person would fix them: file, server, fit.

    The backup's own checks run first (local, quick); the server's then run side by side, each
    in its own psql, and with ``safety_dump`` the safety dump starts beside them — once the
    sessions holding locks were listed, so the plan never lists the dump itself. Any failed
    check cancels the dump (and removes its partial file) before the error is raised.
    """
    chosen = choose_backup(args.backup, ctx.backups_dir)
    # A dry run reads the whole backup now; a real run checks its head now and the rest in the
    # restore's single pass, which commits only if every check passed.
    checked = (check_backup if args.dry_run else check_head)(chosen, ctx.tools.psql_version)
    if args.terminate_blockers and ctx.tools.psql_version < (13, 0):
        raise ConfigError(
            f"--terminate-blockers needs psql 13 or later (this is {ctx.tools.psql_version[0]}."
            f"{ctx.tools.psql_version[1]}). {INSTALL_HINT}"
        )
    foreign = None if args.allow_foreign_backup else foreign_refusal(checked, ctx.target)
    start = safety_dump and foreign is None  # a backup refused anyway needs no safety dump

    def holders_then_dump(told: Future[DumpFacts] | None) -> tuple[list[LockHolder], PendingBackup | None]:
        holders = lock_holders(ctx.target, ctx.tools)
        if told is None:
            return holders, None
        pending = start_backup(
            ctx.target,
            ctx.tools,
            ctx.backups_dir,
            prefix=SAFETY_PREFIX,
            lock_timeout=args.lock_timeout,
            level=None,  # stored when the folder has room (backup.safety_level)
            facts=told.result(),
        )
        return holders, pending

    with ThreadPoolExecutor(max_workers=5) as pool:
        # What pg_dump is told is read beside the lock listing (it takes no lock).
        told = pool.submit(dump_facts, ctx.target, ctx.tools) if start else None
        dumping = pool.submit(holders_then_dump, told)
        server = pool.submit(inspect, ctx.target, ctx.tools)  # an unreachable server is named as such
        contract = pool.submit(restore_refusal, ctx.target, ctx.tools, chosen.path, checked.created_schemas)
        pg_dump = None if args.no_safety_dump else pool.submit(client_version, ctx.tools.pg_dump)
        try:
            facts = server.result()
            require_schema(facts, ctx.target)
            require_restore_privileges(facts, ctx.target)
            require_writable(facts, ctx.target)
            require_no_outside_dependents(facts, ctx.target)
            refusal = contract.result()
            if refusal is not None:  # Prisma 8: the restored ledger would not match the schema
                raise BackupRefusedError(refusal)
            if pg_dump is not None:
                require_pg_dump_for(facts, ctx.tools, pg_dump.result())
                check_backups_dir(ctx.backups_dir)
            if foreign is not None:
                raise foreign
            holders, pending = dumping.result()
        except BaseException:
            _cancel_started(dumping)
            raise
    return Preflight(checked, facts, holders, mismatches(checked, ctx.target), pending)


def _cancel_started(dumping: Future[tuple[list[LockHolder], PendingBackup | None]]) -> None:
    """Cancel the safety dump a failed preflight may have started."""
    with contextlib.suppress(BaseException):
        pending = dumping.result()[1]
        if pending is not None:
            pending.cancel()


def discard_safety_dump(safety: Path | None) -> None:
    """Remove the safety dump of a rollback that changed nothing: the database still holds it all."""
    if safety is not None:
        safety.unlink(missing_ok=True)
        print(
            f"The safety dump {display_path(safety)} was removed: the restore was refused, so the "
            "database is as it was.",
            file=sys.stderr,
        )


def refuse_foreign(checked: CheckedBackup, target: DatabaseTarget) -> None:
    """BackupRefusedError when the backup belongs to another schema or database."""
    refusal = foreign_refusal(checked, target)
    if refusal is not None:
        raise refusal


def foreign_refusal(checked: CheckedBackup, target: DatabaseTarget) -> BackupRefusedError | None:
    """The refusal of a backup that belongs to another schema or database; None when it is the target's."""
    reasons = mismatches(checked, target)
    if not reasons:
        return None
    return BackupRefusedError(
        f"{checked.file.path}: is not a backup of {target.describe()}: {'; '.join(reasons)}. "
        f'Restoring it would drop schema "{target.schema}" and leave it empty while the '
        "backup's objects are created elsewhere. Nothing was changed; name the right backup with "
        "--backup FILE, point DATABASE_URL at the database and schema it was taken of, or pass "
        "--allow-foreign-backup to restore it anyway."
    )


def report_blocked(ctx: Context, exc: RestoreBlockedError) -> None:
    """The lock timeout, the sessions holding locks now (no query text), and what to do."""
    print(f"error: {exc}", file=sys.stderr)
    try:
        holders = lock_holders(ctx.target, ctx.tools)
    except DatabaseError as listing:
        print(f"The sessions holding the locks could not be listed: {listing}", file=sys.stderr)
        holders = []
    if holders:
        print(f'Sessions holding locks in schema "{ctx.target.schema}" now:', file=sys.stderr)
        for line in holder_table(holders):
            print(f"  {line}", file=sys.stderr)
    else:
        print(
            f'No session holds a lock in schema "{ctx.target.schema}" any more: run the rollback again.',
            file=sys.stderr,
        )
    print(
        "Let those transactions finish (or end them), or run again with --terminate-blockers to "
        "terminate them first (it asks; the rollback's own session is never terminated). A longer "
        "--lock-timeout makes the app queue behind the rollback for longer.",
        file=sys.stderr,
    )


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
    """Compare the target's history with the migrations folder (which must exist), per Prisma generation.

    The status modules are imported here, not at start-up: a rollback reads the status beside
    its ANALYZE, so their import costs the incident nothing.
    """
    from pytest_promotion.database import status_contract
    from pytest_promotion.database.generations import PRISMA8, combine, status_folders
    from pytest_promotion.database.status import compare, local_migrations, read_history

    explicit = "migrations_dir" in ctx.options or "migrations_dir" in ctx.settings.model_fields_set
    folders = status_folders(ctx.migrations_dir, explicit=explicit, project=Path.cwd())
    if not folders:
        source = setting_source(ctx, "migrations_dir", "--migrations-dir")
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


def setting_source(ctx: Context, field: str, option: str) -> str:
    """Where a folder setting came from: the command's option, a variable, a key, or the default."""
    if field in ctx.options:
        return f"option {option}"
    if field in ctx.settings.model_fields_set:
        return source_of(field, {}, ctx.pyproject)
    return f"the default {field}"


def backups_dir_error(ctx: Context, exc: BackupsDirError) -> ConfigError:
    """The backups folder's problem, naming where its setting came from."""
    return ConfigError(
        f"{setting_source(ctx, 'backups_dir', '--backups-dir')}: the backups folder {exc}. Point "
        "backups_dir in [tool.promotion] (or --backups-dir, PROMOTION_BACKUPS_DIR) at a folder you "
        "can write, outside the repository; nothing was changed."
    )


def warn_if_exposed(path: Path, target: DatabaseTarget) -> None:
    """Warn when a backup would show up in ``git status``: it holds every row of the schema."""
    tree = unignored_work_tree(path)
    if tree is not None:
        print(
            f'Warning: {display_path(path)} holds all the data of schema "{target.schema}" and is inside '
            f"the git work tree {tree}, which does not ignore it. Add the backups folder to .gitignore "
            "(or set backups_dir outside the repository) so a backup is never committed.",
            file=sys.stderr,
        )


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


def plan_lines(ctx: Context, found: Preflight, safety: str | None, args: argparse.Namespace) -> list[str]:
    """What the rollback will do, before it asks; the data it loses is said plainly."""
    checked, facts = found.checked, found.facts
    file = checked.file
    taken = checked.taken_at
    age = human_age((datetime.now(UTC) - taken).total_seconds())
    dumped = f", dumped by pg_dump {checked.dumped_by[0]}.{checked.dumped_by[1]}" if checked.dumped_by else ""
    source = checked.source
    of = (
        f'taken of database "{source.database}", schema "{source.schema}"'
        if source is not None
        else "source database not recorded (not written by pytest-promotion backup)"
    )
    schema = ctx.target.schema
    lines = [
        "Rollback plan",
        f"  database: {ctx.target.display()} ({ctx.target.describe()})",
        f"  server:   PostgreSQL {facts.server_version[0]}.{facts.server_version[1]}, user "
        f'"{facts.user}" may drop and re-create the schema',
        f"  backup:   {display_path(file.path)} — {human_size(checked.compressed_size)} compressed"
        + (f", {human_size(checked.size)} of SQL" if checked.complete else "")
        + f", taken {taken:%Y-%m-%d %H:%M:%S} UTC ({age} ago), {of}{dumped}",
        f"  checks:   plain-format dump, psql {ctx.tools.psql_version[0]}.{ctx.tools.psql_version[1]} can "
        "replay it, "
        + (
            "complete gzip, ends with pg_dump's closing line, objects only in the target schema"
            if checked.complete
            else "objects so far only in the target schema; the rest (complete gzip, pg_dump's "
            "closing line, every object's schema) while it streams: it commits only if all pass"
        ),
        f'  LOST:     every write to schema "{schema}" since {taken:%Y-%m-%d %H:%M:%S} UTC (when the '
        "backup was taken) is lost"
        + (
            ", except in the safety dump, which keeps writes up to the moment it starts: writes after that "
            "and before the restore locks the schema are in neither (stop the app's writes first)"
            if safety
            else "; no safety dump keeps it (--no-safety-dump)"
        ),
    ]
    if found.mismatches:
        lines.append(f"  FOREIGN:  {'; '.join(found.mismatches)} (--allow-foreign-backup)")
    if ctx.target.ignored:
        lines.append(f"  ignored URL parameters (Prisma only): {', '.join(ctx.target.ignored)}")
    if found.holders:
        action = (
            "terminated before the drop (--terminate-blockers)"
            if args.terminate_blockers
            else (f"the restore waits up to {args.lock_timeout:g} s for their locks, then gives up")
        )
        lines.append(f"  sessions holding locks in the schema now ({action}):")
        lines += [f"    {line}" for line in holder_table(found.holders)]
    else:
        lines.append("  sessions holding locks in the schema now: none")
    lines += [
        f"  1. safety dump of the current schema to {display_path(ctx.backups_dir)}/{safety}"
        + _dump_note(found.pending)
        if safety
        else "  1. NO safety dump (--no-safety-dump): the current state cannot be brought back",
        f"  2. in one transaction (lock_timeout {args.lock_timeout:g} s): "
        + ("terminate the sessions holding locks in it, " if args.terminate_blockers else "")
        + f'DROP SCHEMA "{schema}" CASCADE, re-create it, replay the backup'
        + (
            f' (with "{CONTRACT_SCHEMA}", Prisma 8\'s ledger)'
            if carries_contract(ctx.target, found.checked.created_schemas)
            else ""
        ),
        "  3. ANALYZE, then migrate status (information: the rollback's exit status says only whether it restored)",
    ]
    return lines


def _dump_note(pending: PendingBackup | None) -> str:
    """How the safety dump is being written, once it runs (it starts beside the checks)."""
    if pending is None:
        return ""
    if pending.level == 0:
        return " (running since the checks; stored uncompressed in gzip, about the size of its SQL)"
    return f" (running since the checks; gzip level {pending.level}: too little room for a stored one)"


def confirm(target: DatabaseTarget, stdin: TextIO, stdout: TextIO, *, terminating: int | None = None) -> bool:
    """Ask on a terminal; without one, refuse (pass --yes in CI).

    ``terminating`` (with --terminate-blockers) is how many lock holders the plan listed; the
    restore terminates whichever hold locks at the moment of the drop.
    """
    if not stdin.isatty():
        print(
            "rollback needs confirmation, but standard input is not a terminal: pass --yes to "
            "restore without asking (CI), or --dry-run to see the plan only.",
            file=sys.stderr,
        )
        return False
    ending = (
        "Replace"
        if terminating is None
        else f"Terminate the sessions holding locks in it ({terminating} listed above) and replace"
    )
    stdout.write(
        f'{ending} schema "{target.schema}" of database "{target.database}" with this backup? [y/N] '
    )
    stdout.flush()
    answer = stdin.readline().strip().lower()
    return answer in {"y", "yes"}


def print_report(report: AnyStatus, target: DatabaseTarget) -> None:
    """The status table and verdict (for each Prisma generation when the project holds both)."""
    from pytest_promotion.database.generations import report_lines

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
