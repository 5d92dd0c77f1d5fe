"""Every benchmark in one run, printed as one table with the machine it ran on. Asserts nothing.

Rows are measurements, one line per size; "growth" compares each size with the previous one of
the same measurement: (time growth) / (size growth). 1.0 is linear, below 1 means a fixed cost
is being spread out, above 1 is superlinear. Comparisons between real corpus histories and
generated ones are left out: their content differs, not only their size.

  engine MB/s            ``scan.py``: decode + scan only, in a fresh process (cold) and a later
                         pass in it (warm), best of 3. Growth is computed on seconds per pass.
  pytest -m migrations   ``scan.py``: wall seconds of ``python -m pytest -m migrations`` in a
                         temporary project; median of 3 below 10,000 migrations, one run above.
                         "first run" is the ``--update-baseline`` run that accepts every finding; cold deletes ``.pytest_cache`` first, where the
                         scan cache lives (pytest's cache, key ``promotion/migration-scan``), so
                         every file is scanned; warm is the same command again, served from the
                         cache. The shared corpus is five histories: five runs, summed.
                         "start-up" is the same command over a folder with no migrations (median
                         of 3); growth is computed on the time beyond it, wall and CPU (user +
                         system of the pytest process, which other work on the machine disturbs
                         less than wall time).
  smoke                  ``smoke.py``: ``pytest -m smoke`` with default settings over N endpoints
                         that each answer in 200 ms, median of 3 runs; the value is what remains
                         after subtracting the same command with ``--collect-only``.
  restore                ``restore.py``: plain ``gunzip -c | psql --single-transaction`` against
                         our restore step into the same kind of fresh database, median of 5 each;
                         overhead is ours / plain.

Usage: .venv/bin/python benchmarks/run_all.py [--quick]
       (--quick skips 20,000 migrations, 1,000 endpoints and the larger restore)
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import restore
import scan
import smoke

MIGRATION_COUNTS = (2_000, 20_000)
ENDPOINT_COUNTS = (100, 1_000)
LATENCY_MS = 200
RESTORE_MB = (5, 50)
RESTORE_RUNS = 5
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432"
Row = dict[str, Any]


@dataclass(frozen=True)
class Line:
    """One table line. ``size`` and ``seconds`` feed the growth column; None leaves it blank."""

    measurement: str
    size_label: str
    value: str
    size: float | None = None
    seconds: float | None = None
    cpu: float | None = None
    """CPU seconds, when measured: their growth is printed too (less noisy on a busy machine)."""


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the figures."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def prefixed(prefix: str, message: str) -> None:
    """``log`` with a prefix naming the benchmark."""
    log(prefix + message)


def machine() -> str:
    """CPU model, cores, RAM, Python, OS and PostgreSQL client, on one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        ram = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        ram = "RAM unknown"
    try:
        system = platform.freedesktop_os_release()["PRETTY_NAME"] + f" (kernel {platform.release()})"
    except OSError:
        system = platform.platform()
    try:
        psql = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        psql = "psql absent"
    return (
        f"{cpu} ({platform.machine()}), {os.cpu_count()} cores, {ram}, "
        f"Python {platform.python_version()}, {system}, {psql}"
    )


def load() -> str:
    """1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def engine_lines(named: list[tuple[str, float | None, Row]]) -> list[Line]:
    """Cold and warm engine MB/s of each set; ``named`` is (label, growth size or None, row)."""
    lines = []
    for key in ("cold", "warm"):
        for label, size, row in named:
            mb = row["bytes"] / 1e6
            lines.append(
                Line(f"migration engine, {key} (MB/s)", label, f"{mb / row[key]:.1f}", size, row[key])
            )
    return lines


def gate_lines(named: list[tuple[str, float | None, Row]], startup: tuple[float, float]) -> list[Line]:
    """Wall seconds of the gate per set and phase; growth on the wall and CPU time beyond ``startup``."""
    lines = []
    for key, title in (
        ("setup", "first run, --update-baseline"),
        ("pytest_cold", "cold"),
        ("pytest_warm", "warm"),
    ):
        for label, size, row in named:
            seconds = row.get(key)
            if seconds is None:
                lines.append(Line(f"pytest -m migrations, {title} (s)", label, "failed, see notes"))
                continue
            if size is None:  # the corpus: several short runs, each mostly start-up
                value = f"{seconds:.2f} ({row['runs']} runs)"
                lines.append(Line(f"pytest -m migrations, {title} (s)", label, value))
                continue
            beyond, cpu = seconds - startup[0], row[f"{key}_cpu"] - startup[1]
            value = f"{seconds:.2f} ({beyond:.2f} beyond start-up; CPU {cpu:.2f} beyond)"
            lines.append(Line(f"pytest -m migrations, {title} (s)", label, value, size, beyond, cpu))
    return lines


def gate_startup(tmp: Path, notes: list[str]) -> tuple[float, float]:
    """Median wall and CPU seconds of ``pytest -m migrations`` over a folder with no migration."""
    folder = tmp / "empty" / "migrations"
    folder.mkdir(parents=True)
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    project = tmp / "project-empty"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text(scan.PYPROJECT.format(migrations=folder.as_posix()))
    runs = [scan.run_pytest(project) for _ in range(3)]
    for _, code, output, _ in runs:
        if code not in (0, 5):  # 5: no tests collected, the expected outcome here
            notes.append(f"start-up run exited {code}:\n{output[-1500:]}")
            break
    return statistics.median(run[0] for run in runs), statistics.median(run[3] for run in runs)


def migration_lines(counts: tuple[int, ...], notes: list[str]) -> list[Line]:
    """Engine and gate figures for the shared corpus and each generated count."""
    lines: list[Line] = []
    with tempfile.TemporaryDirectory(prefix="promotion-bench-") as scratch:
        tmp = Path(scratch)
        startup = gate_startup(tmp, notes)
        log(f"pytest -m migrations start-up: {startup[0]:.2f} s (CPU {startup[1]:.2f} s)")
        named: list[tuple[str, float | None, Row]] = []
        sets = sorted(p for p in scan.CORPUS.glob("*") if p.is_dir()) if scan.CORPUS.is_dir() else []
        if sets:
            rows = []
            for n, directory in enumerate(sets):
                log(f"corpus {directory.name}")
                row = scan.engine_figures(directory)
                row.update(scan.pytest_figures(directory, tmp / f"corpus-{n}", notes))
                rows.append(row)
            total: Row = {"runs": len(rows)}
            for key in ("files", "bytes", "cold", "warm", "setup", "pytest_cold", "pytest_warm"):
                values = [row.get(key) for row in rows]
                total[key] = None if None in values else sum(values)
            label = f"shared corpus ({len(sets)} histories, {total['files']:,} files, {total['bytes'] / 1e6:.2f} MB)"
            # No growth size: real histories are not a smaller copy of the generated ones.
            named.append((label, None, total))
        else:
            notes.append(f"corpus {scan.CORPUS} is absent or empty: corpus lines skipped")
        for count in counts:
            started = time.perf_counter()
            folder = scan.write_generated(tmp / f"gen-{count}", count)
            log(f"generated {count:,} migrations in {time.perf_counter() - started:.1f} s")
            row = scan.engine_figures(folder)
            log(f"engine {count:,}: cold {row['cold']:.2f} s, warm {row['warm']:.2f} s")
            # The smaller sizes are mostly start-up: a median of 3 keeps their noise out of "growth".
            repeats = 1 if count >= 10_000 else 3
            row.update(scan.pytest_figures(folder, tmp / f"project-{count}", notes, repeats))
            log(
                f"pytest {count:,}: {', '.join(f'{k} {v:.2f}' for k, v in row.items() if k.startswith(('pytest', 'setup')) and v is not None)}"
            )
            label = f"{count:,} generated migrations ({row['bytes'] / 1e6:.2f} MB)"
            named.append((label, row["bytes"], row))
        lines += engine_lines(named)
        value = f"{startup[0]:.2f} (CPU {startup[1]:.2f})"
        lines.append(Line("pytest -m migrations, start-up (s)", "no migrations", value))
        lines += gate_lines(named, startup)
    return lines


def smoke_lines(counts: tuple[int, ...]) -> list[Line]:
    """Default-settings smoke cost beyond start-up, per endpoint count."""
    lines = []
    for count in counts:
        figures = smoke.default_figures(count, LATENCY_MS, runs=3)
        log(f"smoke {count}: {figures}")
        lines.append(
            Line(
                f"pytest -m smoke, default concurrency, {LATENCY_MS} ms each (s beyond start-up)",
                f"{count:,} endpoints",
                f"{figures['beyond']:.2f} (wall {figures['wall']:.2f}, start-up {figures['startup']:.2f})",
                count,
                figures["beyond"],
            )
        )
    return lines


def restore_lines(sizes: tuple[int, ...]) -> list[Line]:
    """Plain psql and our restore, and the overhead ratios, per backup size."""
    results = []
    for mb in sizes:
        figures = restore.measure(mb, RESTORE_RUNS, ADMIN_URL, log=partial(prefixed, f"restore {mb} MB: "))
        results.append((f"{figures['size_mb']:.1f} MB SQL ({figures['gzip_mb']:.1f} MB gzip)", figures))
    lines = []
    for key, title in (
        ("plain", "plain gunzip -c, psql --single-transaction"),
        ("ours", "our restore step, fresh database"),
    ):
        for label, figures in results:
            lines.append(
                Line(f"restore: {title} (s)", label, f"{figures[key]:.2f}", figures["size_mb"], figures[key])
            )
    for key, title in (
        ("whole", "whole rollback command, with the safety dump"),
        ("whole_no_safety_dump", "whole rollback command, --no-safety-dump"),
    ):
        for label, figures in results:
            lines.append(
                Line(f"restore: {title} (s)", label, f"{figures[key]:.2f}", figures["size_mb"], figures[key])
            )
    for key, title in (
        ("ours", "fresh database"),
        ("rollback", "replacing the populated schema"),
        ("whole", "whole command with the safety dump (target 1.5)"),
        ("whole_no_safety_dump", "whole command, --no-safety-dump (target 1.15)"),
    ):
        for label, figures in results:
            lines.append(
                Line(
                    f"restore overhead, ours / plain, {title}",
                    label,
                    f"{figures[key] / figures['plain']:.3f}",
                )
            )
    return lines


def growth(previous: Line | None, line: Line) -> str:
    """(time growth) / (size growth) against the previous size of the same measurement."""
    if previous is None or not (previous.size and previous.seconds and line.size and line.seconds):
        return "—"
    size = line.size / previous.size
    seconds = line.seconds / previous.seconds
    text = f"{seconds / size:.2f} ({seconds:.1f}x time / {size:.1f}x size)"
    if previous.cpu and line.cpu:
        text += f"; CPU {line.cpu / previous.cpu / size:.2f}"
    return text


def table(lines: list[Line]) -> list[str]:
    """The markdown table, with the growth column filled in."""
    out = ["| measurement | size | value | growth |", "|---|---|---|---|"]
    previous: Line | None = None
    for line in lines:
        same = previous is not None and previous.measurement == line.measurement
        out.append(
            f"| {line.measurement} | {line.size_label} | {line.value} | {growth(previous if same else None, line)} |"
        )
        previous = line
    return out


def main() -> None:
    parser = ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the largest size of each benchmark")
    parser.add_argument("--skip-restore", action="store_true", help="no PostgreSQL at hand")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"machine: {machine()}", flush=True)
    print(f"load average at start: {load()}", flush=True)
    notes: list[str] = []
    lines = migration_lines(MIGRATION_COUNTS[:1] if args.quick else MIGRATION_COUNTS, notes)
    lines += smoke_lines(ENDPOINT_COUNTS[:1] if args.quick else ENDPOINT_COUNTS)
    if args.skip_restore:
        notes.append("restore skipped (--skip-restore)")
    else:
        lines += restore_lines(RESTORE_MB[:1] if args.quick else RESTORE_MB)
    print()
    print("\n".join(table(lines)))
    print()
    for note in notes:
        print(f"note: {note}")
    print(f"load average at end: {load()}")
    print(f"whole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
