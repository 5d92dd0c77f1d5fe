"""How Prisma 8's ``prisma_contract`` schema travels with a backup, a rollback and the restore drill.

Prisma ORM 8 records what it applied in the database's ``prisma_contract`` schema (ledger, marker,
contracts), next to the application's schema rather than inside it. A backup of the application
schema alone would, once restored, leave a ledger and marker that still list every package
applied after the backup was taken: the database would claim a contract its tables no longer
have, and ``prisma db migrate`` would skip what must run again. So:

- ``backup`` dumps ``prisma_contract`` together with the target schema whenever it exists in the
  target's database (one Prisma 8 app contract per database is Prisma 8's model);
- ``rollback`` replaces it with the backup's copy in the same single transaction as the schema;
- a backup that does not hold it, restored into a database that has one, is refused before
  anything runs: the restored schema would not match the ledger, and only a person can say
  whether the database should leave Prisma 8 (``DROP SCHEMA prisma_contract CASCADE`` first).
"""

from __future__ import annotations

from collections.abc import Set
from pathlib import Path

from pytest_promotion.database.tools import PgTools, run_psql
from pytest_promotion.database.url import DatabaseTarget, quote_ident, quote_literal

CONTRACT_SCHEMA = "prisma_contract"


def has_contract_schema(target: DatabaseTarget, tools: PgTools) -> bool:
    """The target's database holds ``prisma_contract`` (and it is not itself the target schema)."""
    if target.schema == CONTRACT_SCHEMA:
        return False
    out = run_psql(
        tools,
        target,
        f"SELECT to_regnamespace({quote_literal(quote_ident(CONTRACT_SCHEMA))}) IS NOT NULL",
        what=f"look for the {CONTRACT_SCHEMA} schema",
    )
    return out.strip() == "t"


def carries_contract(target: DatabaseTarget, created_schemas: Set[str]) -> bool:
    """The backup (whose ``CREATE SCHEMA`` names are given) re-creates ``prisma_contract``."""
    return target.schema != CONTRACT_SCHEMA and CONTRACT_SCHEMA in created_schemas


def drop_companions(target: DatabaseTarget, created_schemas: Set[str]) -> str:
    """Preamble lines that drop the schemas the backup brings back, inside the restore's transaction."""
    if not carries_contract(target, created_schemas):
        return ""
    return f"DROP SCHEMA IF EXISTS {quote_ident(CONTRACT_SCHEMA)} CASCADE;\n"


def restore_refusal(
    target: DatabaseTarget, tools: PgTools, backup: Path, created_schemas: Set[str]
) -> str | None:
    """Why this backup must not be restored here (None when it may): the ledger would lie."""
    if carries_contract(target, created_schemas) or not has_contract_schema(target, tools):
        return None
    return (
        f"{backup}: holds no {CONTRACT_SCHEMA} schema, but {target.display()} has one (Prisma 8's "
        f"ledger and marker). Restoring only schema {target.schema!r} would leave a ledger that records "
        "packages the restored tables do not have. Nothing was changed. Restore a backup taken by "
        f"`pytest-promotion backup` since Prisma 8 managed this database, or, to go back to before "
        f"Prisma 8 on purpose, drop the schema first (DROP SCHEMA {CONTRACT_SCHEMA} CASCADE) and run again."
    )
