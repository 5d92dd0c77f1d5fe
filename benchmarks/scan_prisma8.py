"""Throughput of the gate on Prisma 8 ``ops.json`` packages, next to the same SQL as ``migration.sql``.

A generated Prisma 8 history of N packages (default 2,000): each is one of the shared history's
seven packages (``../shared/corpus/prisma8-rc19-demo``; a built-in package when it is absent) with
its table names made unique, re-hashed so that every package passes the integrity check. The same
execute SQL is also written as a Prisma <= 7 folder of ``<name>/migration.sql`` files.

  MB              bytes read: ``ops.json`` (+ ``migration.json``) for Prisma 8, ``migration.sql``.
  findings        findings of the default rules: proof the scan did real work (the same for both).
  cold MB/s       first pass in a fresh ``python`` subprocess (regexes compiled on the way). Prisma 8:
                  read + parse + locate every ``sql`` key + recompute ``migrationHash`` + scan;
                  Prisma <= 7: decode + ``scan_text``. File reads are inside the clock for both.
                  Best of 3 subprocesses.
  warm MB/s       a later pass in that same process, best of 3.
  of which        Prisma 8 only: share of the warm time spent reading JSON and locating keys,
                  recomputing the hash, and scanning.
  pytest s        wall seconds of ``python -m pytest -m migrations -q`` on the folder (cold: no
                  cache), process start-up included. One run after an ``--update-baseline`` run.

Usage: python benchmarks/scan_prisma8.py [--count N] [--skip-pytest]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from argparse import SUPPRESS, ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

from pytest_promotion.migrations.dialects import POSTGRESQL
from pytest_promotion.migrations.prisma8 import integrity_problems, migration_hash, package_dirs, read_package
from pytest_promotion.migrations.prisma8_scan import scan_package
from pytest_promotion.migrations.rules import select_rules
from pytest_promotion.migrations.scan import decode_migration, migration_files, scan_text

REPO = Path(__file__).resolve().parent.parent
HISTORY = REPO.parent / "shared" / "corpus" / "prisma8-rc19-demo" / "migrations" / "app"
PYPROJECT = """[tool.pytest.ini_options]
testpaths = ["tests"]
[tool.promotion]
migrations_dir = '{migrations}'
baseline = "baselines/migration-safety-baseline.json"
"""
BUILT_IN = [
    {
        "id": "dropColumn.User.bio",
        "label": 'Drop column "bio" from "User"',
        "operationClass": "destructive",
        "target": {"id": "postgres"},
        "precheck": [{"description": "exists", "sql": 'SELECT EXISTS (SELECT 1 FROM "User") AS "result"'}],
        "execute": [{"description": "drop", "sql": 'ALTER TABLE "public"."User" DROP COLUMN "bio"'}],
        "postcheck": [],
    }
]


def templates() -> list[list[Any]]:
    """The ops of each shared package (or the built-in one)."""
    if not HISTORY.is_dir():
        return [BUILT_IN]
    return [json.loads((p / "ops.json").read_text(encoding="utf-8")) for p in package_dirs(HISTORY)]


def generate(root: Path, count: int) -> tuple[Path, Path]:
    """``root/app`` (Prisma 8 packages) and ``root/prisma7`` (the same execute SQL as migration.sql)."""
    app, legacy = root / "app", root / "prisma7"
    shapes = templates()
    for k in range(count):
        ops_text = json.dumps(shapes[k % len(shapes)], indent=2)
        ops_text = ops_text.replace('\\"User\\"', f'\\"User{k}\\"').replace('\\"Post\\"', f'\\"Post{k}\\"')
        ops = json.loads(ops_text)
        name = f"2026{k // 1440 + 1:04d}T{(k % 1440) // 60:02d}{k % 60:02d}_step_{k}"
        folder = app / name
        folder.mkdir(parents=True)
        (folder / "ops.json").write_text(ops_text, encoding="utf-8")
        meta: dict[str, Any] = {
            "from": f"c{k}",
            "to": f"c{k + 1}",
            "providedInvariants": [],
            "createdAt": "x",
        }
        meta["migrationHash"] = migration_hash(meta, ops)
        (folder / "migration.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        sql = ";\n".join(step["sql"] for op in ops for step in op["execute"]) + ";\n"
        (legacy / name).mkdir(parents=True)
        (legacy / name / "migration.sql").write_text(sql, encoding="utf-8")
    return app, legacy


def prisma8_pass(app: Path) -> tuple[float, int, dict[str, float]]:
    """Seconds, findings and the time split of one full pass over the packages."""
    rules = select_rules(["default"])
    split = {"read + locate": 0.0, "hash": 0.0, "scan": 0.0}
    findings = 0
    started = time.perf_counter()
    for folder in package_dirs(app):
        t0 = time.perf_counter()
        package = read_package(folder, folder.name)
        t1 = time.perf_counter()
        assert not integrity_problems(package, folder.name)
        t2 = time.perf_counter()
        findings += len(scan_package(package, rules).findings)
        t3 = time.perf_counter()
        split["read + locate"] += t1 - t0
        split["hash"] += t2 - t1
        split["scan"] += t3 - t2
    return time.perf_counter() - started, findings, split


def prisma7_pass(legacy: Path) -> tuple[float, int]:
    """Seconds and findings of one pass of decode + scan_text over the migration.sql files."""
    rules = select_rules(["default"])
    findings = 0
    started = time.perf_counter()
    for path in migration_files(legacy):
        text = decode_migration(path.read_bytes(), path)
        findings += len(scan_text(text, POSTGRESQL, rules, path.parent.name))
    return time.perf_counter() - started, findings


def worker(kind: str, folder: Path) -> None:
    """One fresh process: a cold pass, then three warm passes; prints JSON."""
    if kind == "prisma8":
        runs = [prisma8_pass(folder) for _ in range(4)]
        best = min(runs[1:], key=lambda r: r[0])
        print(json.dumps({"cold": runs[0][0], "warm": best[0], "findings": runs[0][1], "split": best[2]}))
    else:
        plain = [prisma7_pass(folder) for _ in range(4)]
        print(
            json.dumps({"cold": plain[0][0], "warm": min(r[0] for r in plain[1:]), "findings": plain[0][1]})
        )


def measure(kind: str, folder: Path) -> dict[str, Any]:
    """Best of 3 fresh processes."""
    results = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, __file__, "--worker", kind, str(folder)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(done.stdout))
    best: dict[str, Any] = min(results, key=lambda r: r["cold"])
    best["warm"] = min(r["warm"] for r in results)
    return best


def size(folder: Path, names: tuple[str, ...]) -> int:
    return sum(p.stat().st_size for name in names for p in folder.glob(f"*/{name}"))


def pytest_seconds(folder: Path, project: Path) -> float:
    """Wall seconds of a cold ``pytest -m migrations`` (after one --update-baseline run)."""
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT.format(migrations=folder.as_posix()))
    (project / "tests").mkdir()
    command = [sys.executable, "-m", "pytest", "-m", "migrations", "-q", "-p", "no:randomly"]
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    command[3:3] = ["-p", "pytest_promotion.plugin"]
    subprocess.run([*command, "--update-baseline"], cwd=project, env=env, capture_output=True, check=False)
    shutil.rmtree(project / ".pytest_cache", ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pytest failed in {project}:\n{done.stdout[-2000:]}")
    return elapsed


def main() -> None:
    """Print the comparison table."""
    parser = ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="packages to generate (default 2,000)")
    parser.add_argument("--skip-pytest", action="store_true", help="engine figures only")
    parser.add_argument("--worker", nargs=2, help=SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return
    with tempfile.TemporaryDirectory(prefix="prisma8-bench-") as tmp:
        app, legacy = generate(Path(tmp), args.count)
        source = (
            "the shared history's 7 packages" if HISTORY.is_dir() else "a built-in package (corpus absent)"
        )
        print(f"{args.count:,} generated packages from {source}, default rules\n")
        rows = []
        for label, kind, folder, names in (
            ("Prisma 8 ops.json", "prisma8", app, ("ops.json", "migration.json")),
            ("same SQL as migration.sql", "prisma7", legacy, ("migration.sql",)),
        ):
            mb = size(folder, names) / 1e6
            figures = measure(kind, folder)
            seconds = (
                "—" if args.skip_pytest else f"{pytest_seconds(folder, Path(tmp) / f'project-{kind}'):.2f}"
            )
            split = figures.get("split")
            share = "—"
            if split:
                total = sum(split.values())
                share = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in split.items())
            rows.append(
                [
                    label,
                    f"{mb:.2f}",
                    str(figures["findings"]),
                    f"{mb / figures['cold']:.1f}",
                    f"{mb / figures['warm']:.1f}",
                    share,
                    seconds,
                ]
            )
        header = ["set", "MB", "findings", "cold MB/s", "warm MB/s", "of which (warm)", "pytest s"]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
