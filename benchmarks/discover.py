"""How much the missing-folder hint and ``init``'s walk cost on a big Node monorepo; prints figures.

Builds, in a temporary folder, ``--packages`` workspace packages each with a deep ``node_modules``
(which the walk must never enter) and one Prisma migrations folder, then times
``missing_folder_hint`` (the header's bounded walk) and ``find_migration_folders`` (``init``'s).
Never asserts on timings.

    .venv/bin/python benchmarks/discover.py [--packages 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pytest_promotion.migrations.discover import find_migration_folders, missing_folder_hint


def build(root: Path, packages: int) -> int:
    folders = 0
    for p in range(packages):
        package = root / "packages" / f"pkg{p}"
        for d in range(20):  # a node_modules the walk must skip: 20 deep chains
            (package / "node_modules" / f"dep{d}" / "lib" / "prisma" / "migrations").mkdir(parents=True)
            folders += 5
        (package / "src" / "components").mkdir(parents=True)
        folders += 2
    migrations = root / "packages" / "pkg0" / "prisma" / "migrations"
    (migrations / "20240101000000_init").mkdir(parents=True)
    (migrations / "20240101000000_init" / "migration.sql").write_text("SELECT 1;\n")
    (migrations / "migration_lock.toml").write_text('provider = "postgresql"\n')
    return folders


def best(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        folders = build(root, args.packages)
        found = find_migration_folders(root)
        print(
            f"tree: {args.packages} packages, {folders} folders (most under node_modules); found {len(found)}"
        )
        hint = "named the folder" if missing_folder_hint(root) else "stopped at its bound before the folder"
        print(
            f"missing_folder_hint (header): {best(lambda: missing_folder_hint(root), args.runs):.1f} ms ({hint})"
        )
        print(
            f"find_migration_folders (init): {best(lambda: find_migration_folders(root), args.runs):.1f} ms"
        )


if __name__ == "__main__":
    main()
