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

Scale (``--scale``, also printed after the table): each adversarial shape below, generated at 1, 2
and 4 MB, scanned with the default rules in this process (CPU seconds, best of 5; the repeats take
turns over the sizes, and each scan starts with the lexer's per-word memos empty, as a run meets a
file once). Printed: seconds at each size, the time ratio per doubling (linear time is about 2.0;
the target is at most 2.2) and MB/s at 4 MB (target at least 2). ``--scale --instructions`` counts
instructions instead, under valgrind's callgrind (a figure the machine's load does not move; about
50 minutes on 2 cores). The shapes:

  mysql-procedure   one MySQL procedure, BEGIN … END around N DELETE statements (not called)
  begin-atomic      one PostgreSQL BEGIN ATOMIC function of N DELETE statements (not called)
  called-routine    the same function, then SELECT f(): its body is scanned, N findings
  delete-ctes       one WITH of N data-modifying CTEs (N findings, one identity text)
  delete-in-list    one DELETE … WHERE id IN (1, 1, …) statement
  seed-strings      one INSERT of N rows whose strings say "delete" and "drop table"
  do-block          one DO block of N DELETE statements (N findings)
  many-routines     N functions, each called once after it is created (N findings): every
                    statement is searched for the names of all routines made so far
  word-soup         one DELETE … WHERE a = 1 OR b = 2 OR … statement (many words)

Squawk: when a ``squawk`` executable is on PATH (``pip install squawk-cli``), the corpus rows
also print squawk's MB/s over the same PostgreSQL files (one process per folder, all files as
arguments, best of 3), for comparison with "engine cold".

Usage: python benchmarks/scan.py [--count N] [--skip-pytest] [--scale [--instructions]]
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
from itertools import pairwise
from pathlib import Path
from typing import Any

from pytest_promotion.migrations.dialects import Dialect, dialect_for
from pytest_promotion.migrations.rules import Rule, select_rules
from pytest_promotion.migrations.scan import decode_migration, migration_files, read_migration, scan_text

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
HEADER = (
    "set|files|MB|findings|engine cold MB/s|engine warm MB/s|squawk MB/s|pytest cold s|pytest warm s".split(
        "|"
    )
)


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
    files = [(p.parent.name, p, read_migration(p)) for p in migration_files(directory)]
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


SCALE_SIZES = (1, 2, 4)


def _repeat(head: str, line: str, tail: str, megabytes: int) -> str:
    """``head`` + ``line`` (formatted with k = 0, 1, …) repeated to about ``megabytes`` MB + ``tail``."""
    target = megabytes * 10**6
    parts = [head]
    size = len(head) + len(tail)
    k = 0
    while size < target:
        piece = line.format(k=k)
        parts.append(piece)
        size += len(piece)
        k += 1
    parts.append(tail)
    return "".join(parts)


def scale_shapes(megabytes: int) -> dict[str, tuple[str, str]]:
    """The adversarial shapes at one size: name -> (dialect name, SQL)."""
    delete = '  DELETE FROM "T" WHERE "id" = {k};\n'
    return {
        "mysql-procedure": (
            "mysql",
            _repeat(
                "CREATE PROCEDURE `p`()\nBEGIN\n",
                "  DELETE FROM `T` WHERE `id` = {k};\n",
                "END;\n",
                megabytes,
            ),
        ),
        "begin-atomic": (
            "postgresql",
            _repeat(
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n", delete, "END;\n", megabytes
            ),
        ),
        "called-routine": (
            "postgresql",
            _repeat(
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n",
                delete,
                "END;\nSELECT f();\n",
                megabytes,
            ),
        ),
        "delete-ctes": (
            "postgresql",
            _repeat(
                "WITH d AS (SELECT 1)",
                ',\n d{k} AS (DELETE FROM "T" WHERE "id" = {k} RETURNING "id")',
                "\nSELECT 1;\n",
                megabytes,
            ),
        ),
        "delete-in-list": (
            "postgresql",
            _repeat('DELETE FROM "T" WHERE "id" IN (1', ", 1", ");\n", megabytes),
        ),
        "seed-strings": (
            "postgresql",
            _repeat(
                'INSERT INTO "Note" ("id", "body", "hint") VALUES (0, \'\', \'\')',
                ",\n({k}, 'please delete this row', 'then drop table x; truncate y')",
                ";\n",
                megabytes,
            ),
        ),
        "do-block": ("postgresql", _repeat("DO $$\nBEGIN\n", delete, "END $$;\n", megabytes)),
        "many-routines": (
            "postgresql",
            _repeat(
                "",
                'CREATE FUNCTION f{k}() RETURNS int LANGUAGE sql AS $$ DELETE FROM "T" WHERE "id" = {k} '
                "RETURNING 1 $$;\nSELECT f{k}();\n",
                "",
                megabytes,
            ),
        ),
        "word-soup": (
            "postgresql",
            _repeat('DELETE FROM "T" WHERE a = 0', " OR col_{k} = k{k}", ";\n", megabytes),
        ),
    }


def _fresh_memos() -> None:
    """Forget the lexer's per-word memos, as a run meets each file once.

    Timing the same text again would find the first ~50,000 names of a shape already learned
    (the memo is bounded), a share that halves with every doubling: the 1 MB figure alone
    would profit, and the ratio per doubling would read high for reasons no user meets.
    """
    from pytest_promotion.migrations import lexer

    lexer._NAMES.clear()
    lexer._KEYWORD_FLAG.clear()
    lexer._lex_short.cache_clear()


def scale_seconds(repeats: int = 5) -> dict[str, list[tuple[float, int, int]]]:
    """Per shape, at each size: (best CPU seconds, bytes, findings).

    The repeats take turns over the sizes (1, 2, 4, 1, 2, 4, …), so a slow spell of a shared
    machine falls on every size alike instead of on one of them.
    """
    from pytest_promotion.migrations.dialects import DIALECTS

    rules = select_rules(["default"])
    shapes = {megabytes: scale_shapes(megabytes) for megabytes in SCALE_SIZES}
    best: dict[tuple[str, int], float] = {}
    found: dict[tuple[str, int], int] = {}
    for _ in range(repeats):
        for megabytes in SCALE_SIZES:
            for name, (dialect, sql) in shapes[megabytes].items():
                _fresh_memos()
                # CPU seconds of this process: other work on a shared machine barely moves them.
                start = time.process_time()
                found[name, megabytes] = len(scan_text(sql, DIALECTS[dialect], rules, name))
                elapsed = time.process_time() - start
                best[name, megabytes] = min(best.get((name, megabytes), elapsed), elapsed)
    return {
        name: [(best[name, mb], len(shapes[mb][name][1]), found[name, mb]) for mb in SCALE_SIZES]
        for name in shapes[SCALE_SIZES[0]]
    }


def scale_instructions() -> dict[str, list[tuple[float, int, int]]]:
    """Per shape, at each size: (instructions of the scan, bytes, findings), counted by callgrind.

    A count does not move with the machine's load, so it shows growth that seconds on a shared
    machine hide in noise. Each scan runs in a process of its own under valgrind, after a
    small scan that compiles the dialect's patterns; the same process without the big scan is
    subtracted. About 50 times slower than ``--scale``: some 50 minutes on 2 cores.
    """
    from concurrent.futures import ThreadPoolExecutor

    def count(name: str, megabytes: int, scan: bool) -> tuple[int, int]:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--scale-worker",
            f"{name}:{megabytes}:{'scan' if scan else 'base'}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        collected = [line for line in done.stderr.splitlines() if "Collected :" in line]
        return int(collected[-1].split(":")[-1]), int(done.stdout.strip() or 0)

    sizes = {mb: {name: len(sql) for name, (_, sql) in scale_shapes(mb).items()} for mb in SCALE_SIZES}
    names = list(sizes[SCALE_SIZES[0]])
    jobs = [(name, mb, True) for mb in reversed(SCALE_SIZES) for name in names]  # the longest first
    jobs += [(names[0], mb, False) for mb in SCALE_SIZES]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counted = dict(zip(jobs, pool.map(lambda job: count(*job), jobs), strict=True))
    return {
        name: [
            (
                counted[name, mb, True][0] - counted[names[0], mb, False][0],
                sizes[mb][name],
                counted[name, mb, True][1],
            )
            for mb in SCALE_SIZES
        ]
        for name in names
    }


def scale_worker(job: str) -> None:
    """One process of :func:`scale_instructions`: prints the scan's findings (0 for the base)."""
    from pytest_promotion.migrations.dialects import DIALECTS

    name, megabytes, mode = job.split(":")
    rules = select_rules(["default"])
    dialect, sql = scale_shapes(float(megabytes))[name]
    scan_text("SELECT 1;\nDELETE FROM t;\n", DIALECTS[dialect], rules, name)
    print(len(scan_text(sql, DIALECTS[dialect], rules, name)) if mode == "scan" else 0)


def scale_figures(instructions: bool = False) -> list[str]:
    """One line per shape: cost at 1, 2, 4 MB, the ratio per doubling, MB/s at 4 MB, findings."""
    times = scale_instructions() if instructions else scale_seconds()
    unit = "G instr" if instructions else "s"
    sizes = [f"{mb:g}" for mb in SCALE_SIZES]
    lines = [
        [
            "shape",
            *(f"{mb} MB {unit}" for mb in sizes),
            *(f"ratio {b}/{a}" for a, b in pairwise(sizes)),
            *([] if instructions else [f"MB/s at {sizes[-1]} MB"]),
            f"findings at {sizes[-1]} MB",
        ]
    ]
    for name, runs in times.items():
        costs = [t / 1e9 if instructions else t for t, _, _ in runs]
        ratios = [costs[k + 1] / max(costs[k], 1e-9) for k in range(len(costs) - 1)]
        rate = [] if instructions else [f"{runs[-1][1] / 1e6 / max(costs[-1], 1e-9):.1f}"]
        lines.append(
            [name, *(f"{t:.2f}" for t in costs), *(f"{r:.2f}" for r in ratios), *rate, str(runs[-1][2])]
        )
    widths = [max(len(line[k]) for line in lines) for k in range(len(lines[0]))]
    return [
        "  ".join(
            [line[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True))]
        )
        for line in lines
    ]


def squawk_rate(directory: Path) -> float | None:
    """squawk's MB/s over a PostgreSQL folder's migration files (best of 3), or None without squawk."""
    squawk = shutil.which("squawk")
    if squawk is None or dialect_for(directory).name != "postgresql":
        return None
    files = [str(p) for p in migration_files(directory)]
    size = sum(Path(p).stat().st_size for p in files)
    best = None
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([squawk, *files], capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return size / 1e6 / best if best else None


def cells(name: str, row: Row) -> list[str]:
    """One table line; a pytest figure that was skipped or failed shows as "-"."""
    mb = row["bytes"] / 1e6
    wall = ["-" if row.get(key) is None else f"{row[key]:.2f}" for key in ("pytest_cold", "pytest_warm")]
    rate = [f"{mb / row[key]:.1f}" if row[key] else "-" for key in ("cold", "warm")]
    squawk = "-" if row.get("squawk") is None else f"{row['squawk']:.1f}"
    return [name, str(row["files"]), f"{mb:.2f}", str(row["findings"]), *rate, squawk, *wall]


def main() -> None:
    parser = ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="generated migrations (default 2000)")
    parser.add_argument("--skip-pytest", action="store_true", help="print only the engine figures")
    parser.add_argument("--scale", action="store_true", help="print only the scale figures")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="with --scale: count instructions under valgrind's callgrind instead of CPU seconds (slow)",
    )
    parser.add_argument("--engine-worker", type=Path, help=SUPPRESS)
    parser.add_argument("--scale-worker", help=SUPPRESS)
    args = parser.parse_args()
    if args.engine_worker is not None:
        engine_worker(args.engine_worker)
        return
    if args.instructions and not args.scale:
        parser.error("--instructions counts the scale shapes: give it with --scale")
    if args.scale_worker is not None:
        scale_worker(args.scale_worker)
        return
    if args.scale:
        if args.instructions and shutil.which("valgrind") is None:
            parser.error("--instructions needs valgrind on PATH (Debian: apt install valgrind)")
        print("\n".join(scale_figures(args.instructions)))
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
            row["squawk"] = squawk_rate(directory) if directory != generated else None
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
    print()
    print("\n".join(scale_figures()))


if __name__ == "__main__":
    main()
