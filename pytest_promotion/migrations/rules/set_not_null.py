"""set-not-null (opt-in): making an existing column ``NOT NULL``.

Why is this bad? The database scans the whole table under an exclusive lock to check every row,
and the migration fails outright if any row still holds NULL. A table created earlier in the
same migration is empty and not reported.

Use instead: on PostgreSQL add ``CHECK (col IS NOT NULL) NOT VALID``, ``VALIDATE`` it, then set
NOT NULL (which then skips the scan); elsewhere backfill first and apply it in a quiet window.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule, action_hits
from pytest_promotion.migrations.statement import Action, FileContext, Statement


def _sets_not_null(action: Action, ctx: FileContext) -> bool:
    args = action.args
    if action.continuation or action.verb != "ALTER" or len(args) < 3:
        return False
    words = [t.upper for t in args]
    if any(words[k : k + 3] == ["SET", "NOT", "NULL"] for k in range(len(words) - 2)):
        return True
    # SQL Server restates the type: ALTER COLUMN c INT NOT NULL.
    return ctx.dialect.name == "sqlserver" and words[-2:] == ["NOT", "NULL"] and "SET" not in words


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """ALTER COLUMN … SET NOT NULL (or SQL Server's … NOT NULL) on a table not created here."""
    return action_hits(stmt, ctx, _sets_not_null, skip_new_tables=True)


RULE = Rule(
    id="set-not-null",
    default=False,
    reason="SET NOT NULL scans the whole table under an exclusive lock and fails if any row holds NULL.",
    instead="Backfill, add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL.",
    keywords={"NOT": None},
    check=check,
    uses_context=True,
)
