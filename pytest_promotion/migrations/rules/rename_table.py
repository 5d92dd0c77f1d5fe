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

from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.rules.sp_rename import sp_rename_kind
from pytest_promotion.migrations.statement import FileContext, Statement


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """ALTER TABLE … RENAME TO/AS, MySQL RENAME TABLE, SQL Server sp_rename of an object."""
    toks = stmt.tokens
    for i in stmt.command_starts():
        if stmt.words_at(i, "RENAME", "TABLE") or sp_rename_kind(stmt, i) == "OBJECT":
            yield Hit(toks[i].start, stmt.command_text(i))
            continue
        alter = stmt.alter_table(i)
        if alter is None:
            continue
        for action in alter.actions:
            args = action.args
            if action.continuation or action.verb != "RENAME" or not args or not args[0].is_word("TO", "AS"):
                continue
            if len(args) < 2 or stmt.table_names(toks.index(args[1])) & ctx.dropped_tables:
                continue
            yield Hit(action.start.start, alter.text(action))


RULE = Rule(
    id="rename-table",
    default=False,
    reason="Renaming a table breaks the running release, which still queries the old name.",
    instead="Create the new table or a view, write to both, switch reads, then drop the old name later.",
    keywords={"RENAME": None, "SP_RENAME": None},
    check=check,
    uses_context=True,
)
