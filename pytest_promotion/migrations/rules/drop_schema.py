"""drop-schema (opt-in): ``DROP SCHEMA`` and ``DROP DATABASE``.

Why is this bad? Everything inside goes with it — every table, row, function and grant — and
``CASCADE`` hides how much that is.

Use instead: drop the objects you mean to remove one by one, each reviewed, in later migrations.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """DROP SCHEMA / DROP DATABASE commands, and MariaDB's CREATE OR REPLACE of either."""
    replaces = ctx.dialect.name == "mysql"
    for i in stmt.command_starts():
        if (
            stmt.words_at(i, "DROP", "SCHEMA")
            or stmt.words_at(i, "DROP", "DATABASE")
            or (
                replaces
                and (
                    stmt.words_at(i, "CREATE", "OR", "REPLACE", "DATABASE")
                    or stmt.words_at(i, "CREATE", "OR", "REPLACE", "SCHEMA")
                )
            )
        ):
            yield Hit(stmt.tokens[i].start, stmt.command_text(i))


RULE = Rule(
    id="drop-schema",
    default=False,
    reason="Dropping a schema or database deletes every table and row inside it at once.",
    instead="Drop the objects you mean to remove one by one, each reviewed, in later migrations.",
    keywords={
        "DROP": r"DROP(?!\s+(?:CONSTRAINT|INDEX|DEFAULT|NOT|FOREIGN|PRIMARY|KEY|CHECK|VIEW|TYPE|SEQUENCE|TRIGGER|FUNCTION|EXTENSION|MATERIALIZED|POLICY|PROCEDURE|ENUM|IDENTITY|EXPRESSION|COLUMN|UNIQUE|TABLE)\b)"
    },
    dialect_keywords={"mysql": {"REPLACE": r"REPLACE\s+(?:DATABASE|SCHEMA)\b"}},
    check=check,
    starts=frozenset({"DROP", "CREATE"}),
)
