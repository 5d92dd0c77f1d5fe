"""rename-column (opt-in): renaming a column.

Why is this bad? The release still running during the deploy reads and writes the old column
name and fails until every instance runs the new code.

Use instead: add the new column, write to both, backfill, switch reads, then drop the old column
in a later migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.lexer import Kind
from pytest_promotion.migrations.rules.base import Hit, Rule, action_hits
from pytest_promotion.migrations.sp_rename import sp_rename_kind
from pytest_promotion.migrations.statement import Action, FileContext, Statement, name_key

_NOT_COLUMNS = frozenset({"TO", "AS", "CONSTRAINT", "INDEX", "KEY"})


def _renames_column(action: Action, ctx: FileContext) -> bool:
    args = action.args
    if action.continuation or not args:
        return False
    if action.verb == "RENAME":
        return not args[0].is_word(*_NOT_COLUMNS)
    if action.verb == "CHANGE" and ctx.dialect.name == "mysql":
        names = args[1:3] if args[0].is_word("COLUMN") else args[0:2]
        return (
            len(names) == 2
            and all(t.kind in (Kind.WORD, Kind.IDENT) for t in names)
            and (name_key(names[0]) != name_key(names[1]))
        )
    return False


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """RENAME [COLUMN] a TO b, MySQL CHANGE a b, SQL Server sp_rename … 'COLUMN'."""
    for i in stmt.command_starts():
        if sp_rename_kind(stmt, i) == "COLUMN":
            yield Hit(stmt.tokens[i].start, stmt.command_text(i))
    yield from action_hits(stmt, ctx, _renames_column)


RULE = Rule(
    id="rename-column",
    default=False,
    reason="Renaming a column breaks the running release, which still reads and writes the old name.",
    instead="Add the new column, write to both, backfill, switch reads, then drop the old column later.",
    keywords={"RENAME": None, "SP_RENAME": None},
    dialect_keywords={"mysql": {"CHANGE": None}},
    check=check,
)
