"""Find the Prisma migration folders under a project, cheaply: for ``init`` and the report header.

A Prisma (<= 7) migrations folder is recognised by the ``migration_lock.toml`` Prisma writes into
it; a Prisma 8 one is a ``migrations/app`` folder holding migrations (``ops.json`` or
``migration.ts``). The walk never enters ``node_modules``, virtual environments or hidden folders,
stops at a depth and a folder count, and imports nothing but the standard library: the header
calls it on runs that have no migrations folder configured.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "migration_lock.toml"
SKIPPED = frozenset({"node_modules", "__pycache__", "site-packages", "venv", "vendor", "dist", "build"})
MAX_DEPTH = 6
"""Folders below the start looked into: ``packages/db/prisma/migrations`` is depth 4."""
MAX_FOLDERS = 3000
"""Folders listed at most, so a huge tree costs a bounded few milliseconds."""


@dataclass(frozen=True)
class Found:
    """One migrations folder: where (relative to the start), which layout, how many migrations."""

    path: Path
    layout: str
    """``prisma`` (``migration_lock.toml``) or ``prisma8`` (``migrations/app``)."""
    migrations: int

    @property
    def setting(self) -> str:
        """The ``migrations_dir`` value that points at it."""
        return self.path.as_posix()


def _subfolders(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return sorted((e for e in entries if e.is_dir(follow_symlinks=False)), key=lambda e: e.name)
    except OSError:
        return []


def _count(folder: Path, markers: tuple[str, ...]) -> int:
    return sum(1 for sub in _subfolders(folder) if any((Path(sub.path) / m).is_file() for m in markers))


def _recognise(folder: Path) -> tuple[str, int] | None:
    if (folder / LOCK_FILE).is_file():
        return "prisma", _count(folder, ("migration.sql",))
    if folder.name == "app" and folder.parent.name == "migrations":
        count = _count(folder, ("ops.json", "migration.ts"))
        if count:
            return "prisma8", count
    return None


def find_migration_folders(
    start: Path, *, max_depth: int = MAX_DEPTH, max_folders: int = MAX_FOLDERS
) -> list[Found]:
    """Every migrations folder under ``start``, breadth first, in path order within a depth."""
    found: list[Found] = []
    queue: deque[tuple[Path, int]] = deque([(start, 0)])
    listed = 0
    while queue and listed < max_folders:
        folder, depth = queue.popleft()
        listed += 1
        recognised = _recognise(folder) if depth else None
        if recognised is not None:
            found.append(Found(folder.relative_to(start), *recognised))
            continue  # a migrations folder holds migrations, not more projects
        if depth >= max_depth:
            continue
        for sub in _subfolders(folder):
            if not sub.name.startswith(".") and sub.name not in SKIPPED:
                queue.append((Path(sub.path), depth + 1))
    return found


def choose(found: list[Found]) -> tuple[Found, str]:
    """The folder ``init`` gates when several exist, and why: the most migrations, then the shortest path."""
    best = min(found, key=lambda f: (-f.migrations, len(f.path.parts), f.setting))
    if len(found) == 1:
        return best, "it is the only one found"
    return best, f"it holds the most migrations ({best.migrations}), nearest the top on a tie"


DEFAULT_FOLDER = Path("prisma/migrations")
HINT_FOLDERS = 500
"""The header's walk is smaller than ``init``'s: it runs on every run that has work but no folder."""


def missing_folder_hint(project: Path) -> str | None:
    """The header line for a project without ``prisma/migrations`` whose migrations live elsewhere.

    Not an error: the plugin stays harmless in a project that has no migrations at all.
    """
    if (project / DEFAULT_FOLDER).is_dir():
        return None
    found = find_migration_folders(project, max_folders=HINT_FOLDERS)
    if not found:
        return None
    best, _ = choose(found)
    names = ", ".join(f.setting for f in found)
    return (
        f"promotion: no {DEFAULT_FOLDER.as_posix()} here, so no migrations are gated; found {names} — "
        f'set migrations_dir = "{best.setting}" in [tool.promotion] (or run pytest-promotion init)'
    )
