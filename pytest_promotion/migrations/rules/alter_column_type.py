"""alter-column-type (opt-in): changing a column's type in place.

Why is this bad? Most type changes rewrite the whole table under an exclusive lock (PostgreSQL
``ALTER COLUMN … TYPE``, MySQL ``MODIFY``/``CHANGE``, SQL Server ``ALTER COLUMN``), blocking reads
and writes for as long as the rewrite takes, and a narrowing change can fail or truncate rows.
A table created earlier in the same migration is empty, so changes to it are not reported.

Use instead: add a new column of the new type, backfill it in batches, switch the code, then
drop the old column in a later migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.alter_type import is_enum_change
from pytest_promotion.migrations.rules.base import Hit, Rule, action_hits
from pytest_promotion.migrations.statement import Action, FileContext, Statement

_COLUMN_SUBCOMMANDS = frozenset({"SET", "DROP", "ADD", "RESET", "RESTART", "OPTIONS"})


def _changes_type(action: Action, ctx: FileContext) -> bool:
    dialect = ctx.dialect.name
    args = list(action.args)
    if action.continuation:
        return False
    if action.verb in ("MODIFY", "CHANGE"):
        return dialect == "mysql" and not is_enum_change(action)
    if action.verb != "ALTER":
        return False
    k = 1 if args and args[0].is_word("COLUMN") else 0
    rest = args[k + 1 :]
    if not rest:
        return False
    if rest[0].is_word("TYPE") or (len(rest) > 2 and rest[0].is_word("SET") and rest[1].is_word("DATA")):
        return True
    return dialect == "sqlserver" and not rest[0].is_word(*_COLUMN_SUBCOMMANDS)


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """ALTER COLUMN … TYPE and its dialect equivalents, on tables not created in this file."""
    return action_hits(stmt, ctx, _changes_type, skip_new_tables=True)


RULE = Rule(
    id="alter-column-type",
    default=False,
    reason="Changing a column's type usually rewrites the table under an exclusive lock and can fail rows.",
    instead="Add a column of the new type, backfill in batches, switch the code, then drop the old column.",
    keywords={"ALTER": None},
    dialect_keywords={"mysql": {"MODIFY": None, "CHANGE": None}},
    check=check,
    starts=frozenset({"ALTER"}),
    uses_context=True,
)
