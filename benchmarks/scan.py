"""Throughput of the migration scan engine and of the pytest gate. Prints figures, asserts nothing.

Each row is one migrations folder ("set"): the folders of ``../shared/corpus`` (relative to the
repo root; skipped with a note when absent), their total, and a generated PostgreSQL history.

  files, MB      migration.sql files in the set and their total size (1 MB = 10**6 bytes).
  findings       findings of the default rules over the set: proof the scan did real work.
  engine cold    MB/s of the first pass over the set in a fresh ``python`` subprocess, so regexes
                 are compiled and caches filled on the way. Only ``decode_migration`` +
                 ``scan_text`` are timed: imports, ``dialect_for``, ``select_rules`` and file reads
                 happen before the clock starts. Best of 3 subprocesses.
  engine warm    MB/s of a later pass in that same process. Best of 3 passes.
  pytest cold    wall seconds of ``python -m pytest -m migrations -p no:randomly -q`` in a temporary
                 project whose ``migrations_dir`` is the set's absolute path, after deleting its
                 ``.pytest_cache``: every file is scanned. One run, process start-up included.
  pytest warm    the same command again: scan results come from pytest's cache. One run.

Before timing, each project runs once with ``--update-baseline`` so that every item passes.
The total row adds the corpus folders' bytes, findings and times (MB/s = total MB / total time).

Usage: python benchmarks/scan.py [--count N] [--skip-pytest]
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from argparse import SUPPRESS, ArgumentParser, RawDescriptionHelpFormatter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_promotion.migrations.dialects import Dialect, dialect_for
from pytest_promotion.migrations.rules import Rule, select_rules
from pytest_promotion.migrations.scan import decode_migration, migration_files, scan_text

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
PYPROJECT = """[tool.pytest.ini_options]
testpaths = ["tests"]
[tool.promotion]
migrations_dir = '{migrations}'
baseline = "baselines/migration-safety-baseline.json"
"""
WORDS = ("account", "session", "project", "invoice", "comment", "member", "event", "token", "price", "asset")
TYPES = ("TEXT", "INTEGER", "BOOLEAN", "TIMESTAMP(3)", "DOUBLE PRECISION", "JSONB", "VARCHAR(255)", "BIGINT")
RISKY = (
    '-- AlterTable\nALTER TABLE "{t}" DROP COLUMN "legacyField";\n',
    '-- DropTable\nDROP TABLE "{t}";\n',
    "-- AlterEnum\nALTER TYPE \"Status\" RENAME VALUE 'ARCHIVED' TO 'CLOSED';\n",
    '-- Backfill\nDELETE FROM "{t}" WHERE "createdAt" < now() - interval \'1 year\';\n',
)
TABLE_SQL = (
    '-- CreateTable\nCREATE TABLE "{t}" (\n{body}\n    CONSTRAINT "{t}_pkey" PRIMARY KEY ("id")\n);\n\n'
)
INDEX_SQL = '-- CreateIndex\nCREATE {unique}INDEX "{t}_{c}_idx" ON "{t}"("{c}");\n\n'
FK_SQL = (
    '-- AddForeignKey\nALTER TABLE "{t}" ADD CONSTRAINT "{t}_{c}_fkey" FOREIGN KEY ("{c}") '
    'REFERENCES "{p}"("id") ON DELETE CASCADE ON UPDATE CASCADE;\n\n'
)
Row = dict[str, Any]
Files = list[tuple[str, Path, bytes]]
HEADER = "set|files|MB|findings|engine cold MB/s|engine warm MB/s|pytest cold s|pytest warm s".split("|")


def engine_pass(files: Files, dialect: Dialect, rules: tuple[Rule, ...]) -> tuple[float, int]:
    """Seconds to decode and scan every file once, and the number of findings."""
    found = 0
    start = time.perf_counter()
    for name, path, raw in files:
        found += len(scan_text(decode_migration(raw, path), dialect, rules, name))
    return time.perf_counter() - start, found


def engine_worker(directory: Path) -> None:
    """In a fresh process: one cold pass, then the best of 3 warm passes, as JSON on stdout."""
    dialect, rules = dialect_for(directory), select_rules(["default"])
    files = [(p.parent.name, p, p.read_bytes()) for p in migration_files(directory)]
    cold, findings = engine_pass(files, dialect, rules)
    warm = min(engine_pass(files, dialect, rules)[0] for _ in range(3))
    size = sum(len(raw) for _, _, raw in files)
    print(json.dumps({"files": len(files), "bytes": size, "findings": findings, "cold": cold, "warm": warm}))


def engine_figures(directory: Path) -> Row:
    """Best cold and warm engine times over 3 fresh subprocesses."""
    runs = []
    for _ in range(3):
        cmd = [sys.executable, __file__, "--engine-worker", str(directory)]
        runs.append(json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout))
    return {**runs[0], "cold": min(r["cold"] for r in runs), "warm": min(r["warm"] for r in runs)}


def run_pytest(project: Path, *extra: str) -> tuple[float, int, str, float]:
    """Wall seconds, exit code, output and CPU seconds of one ``pytest -m migrations`` run.

    CPU seconds (user + system of the child) are less disturbed than wall time by other work
    on a shared machine.
    """
    cmd = [sys.executable, "-m", "pytest", "-m", "migrations", "-p", "no:randomly", "-q", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, proc.returncode, proc.stdout + proc.stderr, cpu


def pytest_figures(migrations: Path, project: Path, notes: list[str], repeats: int = 1) -> Row:
    """Wall and CPU seconds of the first (setup), cold and warm runs; a failed run is noted, not timed.

    With ``repeats`` > 1 the three runs are repeated from scratch (baseline and cache deleted)
    and each figure is the median.
    """
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT.format(migrations=migrations.as_posix()))
    phases = (("setup", ("--update-baseline",)), ("pytest_cold", ()), ("pytest_warm", ()))
    runs: dict[str, list[tuple[float, float] | None]] = {label: [] for label, _ in phases}
    for _ in range(repeats):
        shutil.rmtree(project / "baselines", ignore_errors=True)
        for label, extra in phases:
            if label != "pytest_warm":
                shutil.rmtree(project / ".pytest_cache", ignore_errors=True)
            seconds, code, output, cpu = run_pytest(project, *extra)
            runs[label].append((seconds, cpu) if code == 0 else None)
            if code != 0:
                notes.append(f"{migrations.name}: pytest {label} exited {code}:\n{output[-1500:]}")
    row: Row = {}
    for label, timed in runs.items():
        ok = [t for t in timed if t is not None]
        failed = len(ok) < len(timed)
        row[label] = None if failed else statistics.median(t[0] for t in ok)
        row[f"{label}_cpu"] = None if failed else statistics.median(t[1] for t in ok)
    return row


def create_table(rng: random.Random, table: str, parent: str | None) -> str:
    """A Prisma-style CREATE TABLE with 5-15 quoted columns, 1-2 indexes and maybe a foreign key."""
    names = [f"{rng.choice(WORDS)}{rng.choice(WORDS).title()}{k}" for k in range(rng.randint(3, 12))]
    cols = [("id", "TEXT NOT NULL"), *((c, rng.choice(TYPES) + rng.choice(("", " NOT NULL"))) for c in names)]
    cols.append(("createdAt", "TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP"))
    fk = f"{parent.lower()}Id" if parent else ""
    if parent:
        cols.append((fk, "TEXT NOT NULL"))
    sql = TABLE_SQL.format(t=table, body="".join(f'    "{c}" {kind},\n' for c, kind in cols))
    for c in rng.sample(names, k=rng.randint(1, 2)):
        sql += INDEX_SQL.format(t=table, c=c, unique=rng.choice(("", "", "UNIQUE ")))
    return sql + (FK_SQL.format(t=table, c=fk, p=parent) if parent else "")


def write_generated(root: Path, count: int) -> Path:
    """``count`` deterministic PostgreSQL migrations, 5% of them holding a risky statement."""
    rng = random.Random(42)
    folder = root / "generated" / "migrations"
    folder.mkdir(parents=True)
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    tables, risky = ["User"], set(rng.sample(range(count), k=count // 20))
    for n in range(count):
        sql = ""
        for _ in range(rng.choice((1, 2))):
            table = f"{rng.choice(WORDS).title()}{len(tables)}"
            sql += create_table(rng, table, rng.choice(tables) if rng.random() < 0.7 else None)
            tables.append(table)
        if n in risky:
            sql += rng.choice(RISKY).format(t=rng.choice(tables))
        stamp = (datetime(2021, 1, 1) + timedelta(hours=n)).strftime("%Y%m%d%H%M%S")
        (folder / f"{stamp}_migration_{n}").mkdir()
        (folder / f"{stamp}_migration_{n}" / "migration.sql").write_text(sql)
    return folder


def cells(name: str, row: Row) -> list[str]:
    """One table line; a pytest figure that was skipped or failed shows as "-"."""
    mb = row["bytes"] / 1e6
    wall = ["-" if row.get(key) is None else f"{row[key]:.2f}" for key in ("pytest_cold", "pytest_warm")]
    rate = [f"{mb / row[key]:.1f}" if row[key] else "-" for key in ("cold", "warm")]
    return [name, str(row["files"]), f"{mb:.2f}", str(row["findings"]), *rate, *wall]


def main() -> None:
    parser = ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="generated migrations (default 2000)")
    parser.add_argument("--skip-pytest", action="store_true", help="print only the engine figures")
    parser.add_argument("--engine-worker", type=Path, help=SUPPRESS)
    args = parser.parse_args()
    if args.engine_worker is not None:
        engine_worker(args.engine_worker)
        return
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    print("engine: best of 3 (cold: 3 fresh processes; warm: 3 passes each); pytest: one run each")
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="promotion-bench-") as tmp:
        sets = sorted(p for p in CORPUS.glob("*") if p.is_dir()) if CORPUS.is_dir() else []
        if not sets:
            notes.append(f"corpus {CORPUS} is absent or empty: corpus rows skipped")
        generated = write_generated(Path(tmp), args.count)
        rows: list[tuple[str, Row]] = []
        for directory in [*sets, generated]:
            row = engine_figures(directory)
            if not args.skip_pytest:
                row.update(pytest_figures(directory, Path(tmp) / f"project-{len(rows)}", notes))
            name = f"generated ({args.count})" if directory == generated else directory.name
            rows.append((name, row))
    if sets:
        corpus_rows = [row for _, row in rows[: len(sets)]]
        total: Row = {}
        for key in ("files", "bytes", "findings", "cold", "warm", "pytest_cold", "pytest_warm"):
            values = [row.get(key) for row in corpus_rows]
            total[key] = None if None in values else sum(values)
        rows.insert(len(sets), ("corpus total", total))
    table = [HEADER, *(cells(name, row) for name, row in rows)]
    widths = [max(len(line[k]) for line in table) for k in range(len(HEADER))]
    for line in table:
        print(
            line[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)),
            sep="  ",
        )
    generated_row = rows[-1][1]
    print(f"generated: average file {generated_row['bytes'] / max(generated_row['files'], 1) / 1e3:.2f} KB")
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
