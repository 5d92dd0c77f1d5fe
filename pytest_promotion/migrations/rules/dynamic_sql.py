"""dynamic-sql (opt-in): SQL run from a computed string, which no review or scan can read.

Why is this bad? The SQL is built when the migration runs (``format(…)``, ``'…' || name``, a
T-SQL or MySQL variable), so no review of the file — and no scanner — can tell what it does: it
may drop or delete anything. The forms: PostgreSQL's ``EXECUTE`` in a DO block or a routine the
file calls, SQL Server's ``EXEC(…)`` and ``sp_executesql``, MySQL's ``PREPARE … FROM``. A string
literal, or literals joined together, is read and scanned like any other SQL instead, and
PostgreSQL's top-level ``EXECUTE name(…)`` runs a prepared statement, not a string.

Use instead: write the statements out, one per object, so that they can be reviewed (and
scanned); generate them before the migration is committed, not while it runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.dynamic import dynamic_sql
from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """Each place the statement runs a string that is not made of literals alone."""
    toks = stmt.tokens
    for found in dynamic_sql(stmt, ctx.dialect):
        if found.literals is None:
            yield Hit(toks[found.at].start, stmt.command_text(found.at))


RULE = Rule(
    id="dynamic-sql",
    default=False,
    reason="EXECUTE of a computed string runs SQL that no review or scan of the migration can read.",
    instead="Write the statements out, one per object, so they can be reviewed and scanned.",
    keywords={"EXECUTE": None, "EXEC": None, "PREPARE": None},
    check=check,
    # T-SQL needs no ';' between statements: EXEC(…) need not start a command.
    starts=None,
)
