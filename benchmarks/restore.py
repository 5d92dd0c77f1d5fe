"""Restore speed: our rollback's single-transaction restore against plain ``gunzip -c | psql``.

Builds a database of generated rows (at least ``--mb`` MB of SQL once dumped), backs it up with
``pytest-promotion``'s own backup, then alternates, ``--runs`` times each:

- plain: ``gunzip -c FILE | psql -X -q --single-transaction -v ON_ERROR_STOP=1`` into a fresh
  database whose public schema was dropped beforehand (untimed), so the dump applies cleanly;
- ours: :func:`pytest_promotion.database.restore.restore` (preamble, guard, streamed backup,
  trailer, one transaction) into the same kind of fresh database — the like-for-like figure;
- ours again over the populated source database — what a real rollback does (the schema drop
  of the current data included), printed separately.

- the whole command as a user runs it, ``pytest-promotion rollback --yes --backup FILE`` over the
  populated source database (checks, safety dump, restore, ANALYZE, status), with and without
  ``--no-safety-dump``, next to the bare restore of the same file (issue 19's targets: <= 1.5x
  with the safety dump, <= 1.15x without), with the phase lines it printed.

Before every timed run it lets autovacuum in its databases finish, VACUUMs them and runs
CHECKPOINT (:func:`settle`), so no run pays for the previous one's freshly loaded tables or WAL.

It prints medians, the ratios, the pre-restore checks and the safety dump timed separately,
and the backup's sizes, for each ``--mb`` given (e.g. ``--mb 100 1000``). Needs PostgreSQL at
127.0.0.1:5432 (trust auth) or ``--admin-url``. It never asserts on timings. Everything it
creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from pytest_promotion.database.backup import SAFETY_LEVEL, create_backup, describe_backup
from pytest_promotion.database.checks import check_backup
from pytest_promotion.database.restore import restore
from pytest_promotion.database.tools import find_tools
from pytest_promotion.database.url import parse_database_url

ROW_BYTES = 160  # roughly what one generated row takes in the dump
_PHASE = re.compile(r"^phase ([a-z ]+): ([\d.]+) s", re.MULTILINE)


def whole_command(admin: str, database: str, backup: Path, *extra: str) -> tuple[float, dict[str, float]]:
    """Wall seconds of ``pytest-promotion rollback --yes`` as a user runs it, and its phase lines."""
    with tempfile.TemporaryDirectory() as project:
        (Path(project) / "prisma" / "migrations").mkdir(parents=True)
        env = {**os.environ, "DATABASE_URL": f"{admin}/{database}"}
        script = shutil.which("pytest-promotion")  # the console script, as a user runs it
        args = [script] if script else [sys.executable, "-m", "pytest_promotion"]
        args += ["rollback", "--yes"]
        args += ["--backup", str(backup), "--backups-dir", str(Path(project) / "backups"), *extra]
        started = time.perf_counter()
        done = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"rollback failed ({done.returncode}): {done.stderr}")
    return seconds, {name: float(value) for name, value in _PHASE.findall(done.stderr)}


def settle(admin: str, databases: tuple[str, ...], limit: float = 180.0) -> None:
    """Bring the benchmark's databases to a steady state, then CHECKPOINT: every timed run starts quiet.

    Each restore leaves freshly loaded tables that autovacuum reads in full a minute later, and
    WAL that a checkpoint later flushes; without this, whichever run comes next (the whole command
    most often) pays for the previous one's at a random moment. So: wait for any autovacuum
    worker in ``databases`` to finish, VACUUM (ANALYZE) those that exist (the work autovacuum
    would do, done now and untimed: a production database being rolled back is in that state),
    and CHECKPOINT. The bare restore's target is a fresh, empty database either way.
    """
    names = ", ".join(f"'{name}'" for name in databases)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy = psql(
            admin,
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' "
            f"AND datname IN ({names})",
        )
        if busy == "0":
            break
        time.sleep(0.5)
    existing = psql(admin, "postgres", f"SELECT datname FROM pg_database WHERE datname IN ({names})")
    for name in existing.split():
        psql(admin, name, "VACUUM (ANALYZE)")
    psql(admin, "postgres", "CHECKPOINT")


def psql(admin: str, database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", f"{admin}/{database}", "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def measure(mb: int, runs: int, admin_url: str, log: Callable[[str], None] = print) -> dict[str, float]:
    """Seconds (medians of ``runs``) and sizes of one restore comparison on ``mb`` MB of generated SQL.

    Keys: ``plain``, ``ours``, ``rollback`` (ours over the populated schema), ``checks``,
    ``safety_dump``, ``backup``, ``size_mb`` and ``gzip_mb``. Progress lines go to ``log``.
    """
    admin = admin_url.rstrip("/")
    suffix = f"{os.getpid()}"
    source, plain = f"bench_restore_{suffix}", f"bench_plain_{suffix}"
    tools = find_tools()
    target = parse_database_url(SecretStr(f"{admin}/{source}"))
    rows = mb * 1_000_000 // ROW_BYTES
    psql(admin, "postgres", f'CREATE DATABASE "{source}"')
    try:
        started = time.perf_counter()
        psql(
            admin,
            source,
            'CREATE TABLE "Event" (id bigint PRIMARY KEY, "userId" integer NOT NULL, kind text NOT NULL, '
            "payload text NOT NULL, created_at timestamptz NOT NULL);"
            'CREATE TABLE "User" (id integer PRIMARY KEY, email text NOT NULL UNIQUE);'
            f"INSERT INTO \"User\" SELECT g, 'user' || g || '@example.com' FROM generate_series(1, {rows // 100}) g;"
            f"INSERT INTO \"Event\" SELECT g, 1 + g % {rows // 100}, (ARRAY['view','click','buy'])[1 + g % 3], "
            "md5(g::text) || md5((g * 7)::text) || ' ' || repeat('x', 20 + g % 40), "
            f"'2025-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, {rows}) g;"
            'CREATE INDEX "Event_userId_idx" ON "Event" ("userId");',
        )
        log(f"generated {rows:,} rows in {time.perf_counter() - started:.1f} s")
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            path = create_backup(target, tools, Path(folder))
            backup_seconds = time.perf_counter() - started
            started = time.perf_counter()
            checked = check_backup(describe_backup(path), tools.psql_version)
            check_seconds = time.perf_counter() - started
            log(
                f"backup: {checked.size / 1e6:.1f} MB of SQL, {checked.compressed_size / 1e6:.1f} MB gzip, "
                f"written in {backup_seconds:.1f} s"
            )
            ours, theirs, rollback, whole, bare_whole = [], [], [], [], []
            phases: dict[str, list[float]] = {}
            fresh = parse_database_url(SecretStr(f"{admin}/{plain}"))
            quiet = (source, plain)
            for run in range(runs):
                # Same starting state for both: a fresh database without its public schema.
                psql(admin, "postgres", f'DROP DATABASE IF EXISTS "{plain}" WITH (FORCE)')
                psql(admin, "postgres", f'CREATE DATABASE "{plain}"')
                psql(admin, plain, "DROP SCHEMA public")
                settle(admin, quiet)
                started = time.perf_counter()
                subprocess.run(
                    f"gunzip -c '{path}' | psql -X -q --single-transaction -v ON_ERROR_STOP=1 "
                    f"-d '{admin}/{plain}' >/dev/null",
                    shell=True,
                    check=True,
                )
                theirs.append(time.perf_counter() - started)
                psql(admin, "postgres", f'DROP DATABASE "{plain}" WITH (FORCE)')
                psql(admin, "postgres", f'CREATE DATABASE "{plain}"')
                psql(admin, plain, "DROP SCHEMA public")
                settle(admin, quiet)
                ours.append(restore(fresh, tools, checked).seconds)
                psql(admin, "postgres", f'DROP DATABASE "{plain}" WITH (FORCE)')  # its autovacuum too
                # The real rollback: replace the populated schema of the source database.
                settle(admin, quiet)
                rollback.append(restore(target, tools, checked).seconds)
                # The whole command, as a user runs it, with and without the safety dump.
                settle(admin, quiet)
                seconds, lines = whole_command(admin, source, path)
                whole.append(seconds)
                for name, value in lines.items():
                    phases.setdefault(name, []).append(value)
                settle(admin, quiet)
                bare_whole.append(whole_command(admin, source, path, "--no-safety-dump")[0])
                log(
                    f"run {run + 1}: plain {theirs[-1]:.2f} s, ours {ours[-1]:.2f} s, "
                    f"ours over the populated schema {rollback[-1]:.2f} s, whole command {whole[-1]:.2f} s "
                    f"({bare_whole[-1]:.2f} s with --no-safety-dump)"
                )
            settle(admin, quiet)
            started = time.perf_counter()
            create_backup(target, tools, Path(folder), prefix="pre-rollback-", level=SAFETY_LEVEL)
            safety_seconds = time.perf_counter() - started
    finally:
        for name in (source, plain):
            psql(admin, "postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "plain": statistics.median(theirs),
        "ours": statistics.median(ours),
        "rollback": statistics.median(rollback),
        "checks": check_seconds,
        "safety_dump": safety_seconds,
        "backup": backup_seconds,
        "size_mb": checked.size / 1e6,
        "gzip_mb": checked.compressed_size / 1e6,
        "whole": statistics.median(whole),
        "whole_no_safety_dump": statistics.median(bare_whole),
        # On a shared machine one slow run moves a median; each run's own pair says more.
        "whole_ratio_per_run": statistics.median(w / p for w, p in zip(whole, theirs, strict=True)),
        "bare_ratio_per_run": statistics.median(w / p for w, p in zip(bare_whole, theirs, strict=True)),
        **{f"phase {name}": statistics.median(values) for name, values in phases.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mb", type=int, nargs="+", default=[120], help="uncompressed backup sizes to generate (MB)"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed restores of each kind")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    # A wheel install compiles the package's bytecode; a source checkout under
    # PYTHONDONTWRITEBYTECODE=1 would compile it again at every start of the command.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(__file__).parent.parent / "pytest_promotion")],
        check=True,
    )
    for mb in args.mb:
        figures = measure(mb, args.runs, args.admin_url)
        plain = figures["plain"]
        print()
        print(
            f"| {figures['size_mb']:.0f} MB of SQL ({figures['gzip_mb']:.1f} MB gzip), median of {args.runs} | seconds |"
        )
        print("|---|---|")
        print(f"| plain gunzip -c | psql --single-transaction -v ON_ERROR_STOP=1 | {plain:.2f} |")
        print(f"| our restore step, same fresh database | {figures['ours']:.2f} |")
        print(f"| ratio ours / plain (target <= 1.1) | {figures['ours'] / plain:.3f} |")
        print(f"| our restore step replacing the populated schema | {figures['rollback']:.2f} |")
        print(f"| ratio of that / plain | {figures['rollback'] / plain:.3f} |")
        print(
            f"| whole `rollback --yes` (checks, safety dump, restore, ANALYZE, status) | {figures['whole']:.2f} |"
        )
        print(f"| ratio whole / plain (target <= 1.5) | {figures['whole'] / plain:.3f} |")
        print(f"| whole `rollback --yes --no-safety-dump` | {figures['whole_no_safety_dump']:.2f} |")
        print(f"| ratio of that / plain (target <= 1.15) | {figures['whole_no_safety_dump'] / plain:.3f} |")
        print(f"| median of each run's ratio whole / plain | {figures['whole_ratio_per_run']:.3f} |")
        print(f"| median of each run's ratio, --no-safety-dump | {figures['bare_ratio_per_run']:.3f} |")
        for key, value in figures.items():
            if key.startswith("phase "):
                print(f"| {key} (whole command, with the safety dump) | {value:.2f} |")
        print(f"| full pre-restore check pass (dry run only now) | {figures['checks']:.2f} |")
        print(f"| safety dump (level {SAFETY_LEVEL}), separately | {figures['safety_dump']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
