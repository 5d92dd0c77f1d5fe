"""rename-table (opt-in): renaming a table.

Why is this bad? The release still running during the deploy queries the old name and fails
until every instance runs the new code. Prisma's SQLite ``RedefineTables`` step renames
``new_<table>`` back to a table dropped just before it in the same file; that keeps the name
and is not reported.

Use instead: create the new table (or a view under the new name), write to both, switch reads,
then drop the old name in a later migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule, action_hits
from pytest_promotion.migrations.sp_rename import sp_rename_kind
from pytest_promotion.migrations.statement import Action, FileContext, Statement


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """ALTER TABLE … RENAME TO/AS, MySQL RENAME TABLE, SQL Server sp_rename of an object."""
    for i in stmt.command_starts():
        if stmt.words_at(i, "RENAME", "TABLE") or sp_rename_kind(stmt, i) == "OBJECT":
            yield Hit(stmt.tokens[i].start, stmt.command_text(i))

    def renames_table(action: Action, ctx: FileContext) -> bool:
        args = action.args
        if action.continuation or action.verb != "RENAME" or len(args) < 2 or not args[0].is_word("TO", "AS"):
            return False
        # Prisma's SQLite RedefineTables renames new_<t> back to a <t> dropped just before.
        return not stmt.table_names(list(stmt.tokens).index(args[1])) & ctx.dropped_tables

    yield from action_hits(stmt, ctx, renames_table)


RULE = Rule(
    id="rename-table",
    default=False,
    reason="Renaming a table breaks the running release, which still queries the old name.",
    instead="Create the new table or a view, write to both, switch reads, then drop the old name later.",
    keywords={"RENAME": None, "SP_RENAME": None},
    check=check,
    uses_context=True,
)
