"""drop-column: each ``DROP [COLUMN]`` action of an ``ALTER TABLE``.

Why is this bad? The column's data is deleted, and the release still running during the deploy
selects or inserts it and fails. ``DROP CONSTRAINT``, ``DROP INDEX``/``KEY``, ``DROP FOREIGN KEY``,
``DROP PRIMARY KEY``, ``DROP CHECK`` and ``ALTER COLUMN … DROP DEFAULT/NOT NULL`` keep the data and
are not columns. On SQL Server ``COLUMN`` is required (a bare ``DROP x`` drops a constraint), and
``DROP COLUMN a, b`` drops two.

Use instead: expand/contract — stop reading the column, deploy, then drop it in a later
migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement

_NOT_COLUMNS = frozenset(
    """CONSTRAINT INDEX KEY FOREIGN PRIMARY CHECK DEFAULT NOT IDENTITY EXPRESSION PARTITION PERIOD
    SYSTEM UNIQUE FULLTEXT SPATIAL""".split()
)


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """One hit per dropped column, at the line of its DROP action."""
    # T-SQL requires COLUMN (a bare "DROP x" drops a constraint); elsewhere COLUMN is optional.
    bare_is_column = ctx.dialect.name != "sqlserver"
    for i in stmt.command_starts():
        alter = stmt.alter_table(i)
        if alter is None:
            continue
        dropping_columns = False
        for action in alter.actions:
            if action.verb != "DROP" or not action.args:
                continue
            first = action.args[0]
            if first.is_word("COLUMN"):
                dropping_columns = True
            elif first.is_word(*_NOT_COLUMNS):
                dropping_columns = False
            elif not action.continuation:
                dropping_columns = bare_is_column
            # A continuation ("DROP COLUMN a, b") keeps the kind of the list it continues.
            if dropping_columns:
                yield Hit(action.start.start, alter.text(action))


RULE = Rule(
    id="drop-column",
    default=True,
    reason="Dropping a column deletes its data and breaks the running release that still reads or writes it.",
    instead="Expand/contract: stop reading the column, deploy, then drop it in a later migration.",
    keywords={
        "DROP": r"DROP(?!\s+(?:CONSTRAINT|INDEX|DEFAULT|NOT|FOREIGN|PRIMARY|KEY|CHECK|TABLE|VIEW|TYPE|SEQUENCE|TRIGGER|FUNCTION|EXTENSION|SCHEMA|DATABASE|MATERIALIZED|POLICY|PROCEDURE|IDENTITY|EXPRESSION|UNIQUE)\b)"
    },
    # T-SQL continues a DROP list across kinds: DROP CONSTRAINT c, COLUMN x.
    dialect_keywords={"sqlserver": {"DROP": None}},
    check=check,
    starts=frozenset({"ALTER"}),
)
