"""Prisma 8's ``prisma_contract`` written the way ``prisma db migrate`` writes it (see SOURCE.txt).

Checked against prisma 8.0.0-rc.19: one ledger row per applied package (space ``app``, the folder
name, its ``migrationHash``, origin ``empty`` for the first, the destination contract, the
operations), the marker at the last package's ``to``, and each package's ``execute`` SQL run in
one transaction. ``--advance-ref db`` skips the purge package (an invariant-only package at a
contract the path leaves), so :data:`APPLIED_BY_PRISMA` leaves it out too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.database.conftest import Database
from tests.prisma8.helpers import CORPUS, PACKAGES

DDL = CORPUS / "prisma_contract_ddl.sql"
APPLIED_BY_PRISMA = [name for name in PACKAGES if "purge" not in name]


def literal(value: object) -> str:
    """A parameter as SQL text (the test's stand-in for the driver's binding)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return "NULL" if value is None else str(value)


def bind(sql: str, params: list[object]) -> str:
    return re.sub(r"\$(\d+)", lambda m: literal(params[int(m.group(1)) - 1]), sql)


def apply_packages(db: Database, app: Path, names: list[str], *, run_sql: bool = True) -> None:
    """Apply ``names`` as ``prisma db migrate`` does: run their SQL, add ledger rows, move the marker."""
    script = ["BEGIN;"]
    if db.sql("SELECT to_regnamespace('prisma_contract') IS NULL") == "t":
        script.append(DDL.read_text(encoding="utf-8"))
    last = None
    for name in names:
        folder = app / name
        ops = json.loads((folder / "ops.json").read_text(encoding="utf-8"))
        meta = json.loads((folder / "migration.json").read_text(encoding="utf-8"))
        if run_sql:
            for op in ops:
                script += [bind(step["sql"], step.get("params", [])) + ";" for step in op["execute"]]
        script.append(
            "INSERT INTO prisma_contract.ledger (space, migration_name, migration_hash, origin_core_hash, "
            f"destination_core_hash, operations) VALUES ('app', {literal(name)}, {literal(meta['migrationHash'])}, "
            f"{literal(meta['from'] or 'empty')}, {literal(meta['to'])}, {literal(json.dumps(ops))}::jsonb);"
        )
        script.append(
            f"INSERT INTO prisma_contract.contract (core_hash, contract_json) VALUES ({literal(meta['to'])}, '{{}}') "
            "ON CONFLICT DO NOTHING;"
        )
        last = meta["to"]
    if last is not None:
        script.append(
            "INSERT INTO prisma_contract.marker (space, core_hash, profile_hash) VALUES "
            f"('app', {literal(last)}, 'profile') ON CONFLICT (space) DO UPDATE SET core_hash = EXCLUDED.core_hash, "
            "updated_at = now();"
        )
    script.append("COMMIT;")
    db.sql("\n".join(script))
