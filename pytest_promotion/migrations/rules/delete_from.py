"""delete-from: ``DELETE`` commands, including those inside a data-modifying CTE.

Why is this bad? A migration runs once, unattended, against production data; a WHERE clause
that is wrong there deletes rows no review of the schema diff will show. ``ON DELETE CASCADE``,
``AFTER DELETE`` triggers, ``GRANT DELETE`` and ``CREATE POLICY … FOR DELETE`` delete nothing when
the migration runs, and bodies of functions, triggers and rules run later, not at migration time.

MySQL's and SQLite's ``REPLACE`` (and SQLite's ``INSERT OR REPLACE``, ``UPDATE OR REPLACE``)
delete the row a new one collides with, and ``ON DELETE CASCADE`` follows to its children;
MySQL's ``ALTER IGNORE TABLE … ADD UNIQUE`` deletes the duplicate rows.

Use instead: run data clean-ups as a reviewed, idempotent job with a dry run and a row count
check, outside the schema migration.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pytest_promotion.migrations.lexer import Token
from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement


def _replaces(toks: Sequence[Token], i: int) -> bool:
    """``REPLACE [INTO] t`` (not the ``REPLACE(…)`` function), ``INSERT OR REPLACE``, ``UPDATE OR REPLACE``."""
    tok = toks[i]
    if tok.is_word("REPLACE"):
        return not (i + 1 < len(toks) and toks[i + 1].text == "(")
    return (
        tok.is_word("INSERT", "UPDATE")
        and i + 2 < len(toks)
        and toks[i + 1].is_word("OR")
        and toks[i + 2].is_word("REPLACE")
    )


def _drops_duplicates(stmt: Statement, i: int) -> bool:
    """MySQL/MariaDB ``ALTER IGNORE TABLE … ADD UNIQUE|PRIMARY KEY``: the duplicate rows are deleted."""
    alter = stmt.alter_table(i)
    if alter is None or not any(tok.is_word("IGNORE") for tok in alter.head):
        return False
    return any(
        action.verb == "ADD" and any(arg.is_word("UNIQUE", "PRIMARY") for arg in action.args[:3])
        for action in alter.actions
    )


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """A DELETE in command position (statement start, CTE body, PL/pgSQL step), and the forms
    of MySQL and SQLite that delete rows without saying DELETE."""
    toks = stmt.tokens
    implicit = ctx.dialect.name in ("mysql", "sqlite")
    for i in stmt.command_starts():
        if toks[i].is_word("DELETE") or (
            implicit and (_replaces(toks, i) or (ctx.dialect.name == "mysql" and _drops_duplicates(stmt, i)))
        ):
            yield Hit(toks[i].start, stmt.command_text(i))


RULE = Rule(
    id="delete-from",
    default=True,
    reason="A DELETE in a migration removes production rows once, unattended, with no dry run.",
    instead="Move the clean-up to a reviewed, idempotent data job with a dry run and a row-count check.",
    keywords={"DELETE": r"DELETE(?!\s+(?:CASCADE|RESTRICT|SET|NO)\b)"},
    dialect_keywords={
        "mysql": {"REPLACE": r"REPLACE(?!\s*\()", "IGNORE": r"IGNORE\s+TABLE\b"},
        "sqlite": {"REPLACE": r"REPLACE(?!\s*\()"},
    },
    check=check,
    starts=frozenset({"DELETE", "REPLACE", "INSERT", "UPDATE", "ALTER"}),
)
