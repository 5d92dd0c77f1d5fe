"""set-not-null (opt-in): making an existing column ``NOT NULL``.

Why is this bad? The database scans the whole table under an exclusive lock to check every row,
and the migration fails outright if any row still holds NULL. A table created earlier in the
same migration is empty and not reported.

Use instead: on PostgreSQL add ``CHECK (col IS NOT NULL) NOT VALID``, ``VALIDATE`` it, then set
NOT NULL (which then skips the scan: so SET NOT NULL after a validated check on that column in
the same migration is not reported); elsewhere backfill first and apply it in a quiet window.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import Action, FileContext, Statement, name_key


def _sets_not_null(action: Action, ctx: FileContext, table: str) -> bool:
    args = action.args
    if action.continuation or action.verb != "ALTER" or len(args) < 3:
        return False
    words = [t.upper for t in args]
    if any(words[k : k + 3] == ["SET", "NOT", "NULL"] for k in range(len(words) - 2)):
        column = args[1] if args[0].is_word("COLUMN") else args[0]
        return (table, name_key(column)) not in ctx.checked_not_null
    # SQL Server restates the type: ALTER COLUMN c INT NOT NULL.
    return ctx.dialect.name == "sqlserver" and words[-2:] == ["NOT", "NULL"] and "SET" not in words


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """ALTER COLUMN … SET NOT NULL (or SQL Server's … NOT NULL) on a table not created here."""
    for i in stmt.command_starts():
        alter = stmt.alter_table(i)
        if alter is None:
            continue
        table = name_key(alter.table)
        if table in ctx.created_tables:
            continue
        for action in alter.actions:
            if _sets_not_null(action, ctx, table):
                yield Hit(action.start.start, alter.text(action))


RULE = Rule(
    id="set-not-null",
    default=False,
    reason="SET NOT NULL scans the whole table under an exclusive lock and fails if any row holds NULL.",
    instead="Backfill, add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL.",
    keywords={"NOT": None},
    # Its own advice — CHECK … NOT VALID, VALIDATE, SET NOT NULL — must not be reported.
    check=check,
    starts=frozenset({"ALTER"}),
    uses_context=True,
)
