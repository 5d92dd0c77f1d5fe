"""Prisma 8 packages for tests: copies of the shared history, and packages written from ops."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_promotion.migrations.prisma8 import migration_hash

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "prisma8-rc19-demo"
"""The real Prisma 8 history (prisma 8.0.0-rc.19): read-only, never copied into the repository."""
HISTORY = CORPUS / "migrations" / "app"
REAL_PLACEHOLDER = Path(__file__).parent / "fixtures" / "20261201T2207_require_body"
"""A package ``prisma migration plan`` left with unfilled placeholders (see fixtures/README.md)."""
PACKAGES = [
    "20261201T2003_init",
    "20261201T2005_add_role",
    "20261201T2006_drop_bio",
    "20261201T2006_role_drop_guest",
    "20261201T2008_require_name",
    "20261201T2009_purge_orphan_posts",
    "20261201T2012_rename_name",
]


def need_corpus() -> None:
    """Skip when the shared Prisma 8 history is not on this machine."""
    if not HISTORY.is_dir():
        pytest.skip(f"the shared Prisma 8 history is not at {HISTORY}")


def copy_history(project: Path) -> Path:
    """A writable copy of the shared history's ``migrations/`` under ``project``; its ``app`` folder."""
    need_corpus()
    target = project / "migrations"
    shutil.copytree(CORPUS / "migrations", target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target / "app"


def write_ops(ops_path: Path, ops: Any) -> None:
    """Write ``ops.json`` as Prisma 8 does: two-space indent, no trailing newline."""
    ops_path.write_text(json.dumps(ops, indent=2, ensure_ascii=False), encoding="utf-8")


def reemit(folder: Path) -> None:
    """Recompute ``migrationHash`` after an edit, as re-emitting ``migration.ts`` would."""
    meta_path = folder / "migration.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    ops = json.loads((folder / "ops.json").read_text(encoding="utf-8"))
    meta["migrationHash"] = migration_hash(meta, ops)
    meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")


def write_package(
    app: Path,
    name: str,
    ops: list[dict[str, Any]],
    *,
    source: str | None = None,
    from_hash: str | None = None,
) -> Path:
    """A consistent package ``app/<name>/`` holding ``ops`` (and ``migration.ts`` when given)."""
    folder = app / name
    folder.mkdir(parents=True)
    write_ops(folder / "ops.json", ops)
    meta = {
        "from": from_hash,
        "to": f"{name}-contract",
        "providedInvariants": [],
        "createdAt": "2026-12-01T20:00:00.000Z",
    }
    meta["migrationHash"] = migration_hash(meta, ops)
    (folder / "migration.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if source is not None:
        (folder / "migration.ts").write_text(source, encoding="utf-8")
    return folder


def op(
    op_id: str, sql: str | list[str], *, op_class: str = "additive", label: str | None = None, **extra: Any
) -> dict[str, Any]:
    """One operation as Prisma 8 writes it, with ``sql`` as its execute steps."""
    statements = [sql] if isinstance(sql, str) else sql
    return {
        "id": op_id,
        "label": label or op_id,
        "operationClass": op_class,
        "target": extra.pop("target", {"id": "postgres"}),
        "precheck": extra.pop("precheck", []),
        "execute": [{"description": f"step {k}", "sql": s} for k, s in enumerate(statements)],
        "postcheck": extra.pop("postcheck", []),
        **extra,
    }
