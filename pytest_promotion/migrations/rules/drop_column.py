"""drop-column: each ``DROP [COLUMN]`` action of an ``ALTER TABLE``.

Why is this bad? The column's data is deleted, and the release still running during the deploy
selects or inserts it and fails. ``DROP CONSTRAINT``, ``DROP INDEX``/``KEY``, ``DROP FOREIGN KEY``,
``DROP PRIMARY KEY``, ``DROP CHECK`` (MySQL) and ``ALTER COLUMN … DROP DEFAULT/NOT NULL`` keep the
data and are not columns. PostgreSQL knows only ``DROP CONSTRAINT`` besides columns, and SQLite
nothing else: there a column may be named ``key``, ``index`` or ``identity``. On SQL Server
``COLUMN`` is required (a bare ``DROP x`` drops a constraint), and ``DROP COLUMN a, b`` drops two.

Use instead: expand/contract — stop reading the column, deploy, then drop it in a later
migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.lexer import WORD
from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement

_NOT_COLUMNS = frozenset(
    """CONSTRAINT INDEX KEY FOREIGN PRIMARY CHECK DEFAULT NOT IDENTITY EXPRESSION PARTITION PERIOD
    SYSTEM UNIQUE FULLTEXT SPATIAL""".split()
)
"""What a DROP action of ALTER TABLE drops besides columns, in MySQL and SQL Server."""
_NOT_COLUMNS_BY_DIALECT = {
    "postgresql": frozenset({"CONSTRAINT"}),
    "cockroachdb": frozenset({"CONSTRAINT"}),
    "sqlite": frozenset(),
}
# PostgreSQL and SQLite read "DROP key" as a column. The pre-filter still passes over "DROP
# INDEX i" and the like (a Prisma history holds hundreds): a column named so is followed by
# what ends an action, not by a name.
_BARE_DROP = (
    r"DROP(?!\s+(?:CONSTRAINT|INDEX|DEFAULT|NOT|FOREIGN|PRIMARY|KEY|CHECK|TABLE|VIEW|TYPE|SEQUENCE"
    r"|TRIGGER|FUNCTION|EXTENSION|SCHEMA|DATABASE|MATERIALIZED|POLICY|PROCEDURE|IDENTITY|EXPRESSION"
    r"|UNIQUE|OWNED|ROLE|USER|RULE|DOMAIN|PUBLICATION|SUBSCRIPTION|SERVER|STATISTICS|AGGREGATE"
    r"|OPERATOR|CAST|COLLATION|CONVERSION|LANGUAGE|ROUTINE|TRANSFORM|EVENT|FOREIGN|ACCESS|TEXT"
    r"|TABLESPACE|OWNED|GROUP|PARTITION|PERIOD|SYSTEM)\b)"
    r"|DROP\s+\w+\s*(?:[,;)]|--|/\*|$|CASCADE\b|RESTRICT\b)"
)


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """One hit per dropped column, at the line of its DROP action."""
    # T-SQL requires COLUMN (a bare "DROP x" drops a constraint); elsewhere COLUMN is optional.
    bare_is_column = ctx.dialect.name != "sqlserver"
    not_columns = _NOT_COLUMNS_BY_DIALECT.get(ctx.dialect.name, _NOT_COLUMNS)
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
            elif first.kind is WORD and first.text.upper() in not_columns:
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
    dialect_keywords={
        "sqlserver": {"DROP": None},
        **{name: {"DROP": _BARE_DROP} for name in _NOT_COLUMNS_BY_DIALECT},
    },
    check=check,
    starts=frozenset({"ALTER"}),
)
