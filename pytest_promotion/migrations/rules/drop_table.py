"""drop-table: ``DROP TABLE`` outside a function body.

Why is this bad? The table's rows are gone the moment the migration commits, and the previous
release — still serving traffic during a rolling deploy — fails on every query that touches it.
In a SQLite ``RedefineTables`` block Prisma copies the rows to ``new_<table>`` first; the finding
still stands there because columns left out of the copy are lost.

MySQL's ``DROP TABLES a, b`` is the same statement, and so is PostgreSQL's ``DROP OWNED BY role``,
which drops every table the role owns in the database (and everything else it owns), and
MariaDB's ``CREATE OR REPLACE TABLE``, which drops the table of that name before it creates one. A table created earlier in the same migration
as ``TEMP``, by ``CREATE TABLE … AS`` or by ``SELECT … INTO`` is scratch work: dropping it loses no
data that existed before the migration, so it is not reported (a list that also names a real
table is).

Use instead: stop reading and writing the table, deploy, then drop it in a later migration (or
rename it to a ``_deprecated`` name first, so a rollback can bring it back).
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement, name_key

_SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"})


def _writes_schema_table(stmt: Statement, i: int) -> bool:
    """SQLite: ``UPDATE|INSERT INTO sqlite_master`` (with PRAGMA writable_schema) rewrites or
    removes table definitions, their columns and rows with them."""
    toks = stmt.tokens
    if not toks[i].is_word("UPDATE", "INSERT", "REPLACE"):
        return False
    k = i + 1
    while k < len(toks) and toks[k].is_word("OR", "IGNORE", "REPLACE", "ABORT", "FAIL", "ROLLBACK", "INTO"):
        k += 1
    while k + 2 < len(toks) and toks[k + 1].text == ".":
        k += 2
    return k < len(toks) and name_key(toks[k]) in _SCHEMA_TABLES


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """One hit per DROP TABLE command (a list of tables is one statement to review)."""
    for i in stmt.command_starts():
        if ctx.dialect.name == "sqlite" and _writes_schema_table(stmt, i):
            yield Hit(stmt.tokens[i].start, stmt.command_text(i))  # PRAGMA writable_schema's rewrite
        elif ctx.dialect.name == "mysql" and stmt.words_at(i, "CREATE", "OR", "REPLACE", "TABLE"):
            yield Hit(stmt.tokens[i].start, stmt.command_text(i))  # MariaDB drops the table first
        elif stmt.words_at(i, "DROP", "OWNED") and ctx.dialect.dollar_quotes:
            yield Hit(stmt.tokens[i].start, stmt.command_text(i))  # every table the roles own
        elif stmt.words_at(i, "DROP", "TABLE") or (
            ctx.dialect.name == "mysql" and stmt.words_at(i, "DROP", "TABLES")
        ):
            names = stmt.table_names(i + 2, qualified=True)
            if names and names <= ctx.scratch_tables:
                continue
            yield Hit(stmt.tokens[i].start, stmt.command_text(i))


RULE = Rule(
    id="drop-table",
    default=True,
    reason="Dropping a table deletes its rows and breaks the running release that still queries it.",
    instead="Stop using the table, deploy, then drop it in a later migration (expand/contract).",
    keywords={
        "DROP": r"DROP(?!\s+(?:CONSTRAINT|INDEX|DEFAULT|NOT|FOREIGN|PRIMARY|KEY|CHECK|VIEW|TYPE|SEQUENCE|TRIGGER|FUNCTION|EXTENSION|SCHEMA|DATABASE|MATERIALIZED|POLICY|PROCEDURE|ENUM|IDENTITY|EXPRESSION|COLUMN|UNIQUE)\b)"
    },
    dialect_keywords={
        "mysql": {"REPLACE": r"REPLACE\s+TABLE\b"},
        "sqlite": {
            "SQLITE_MASTER": None,
            "SQLITE_SCHEMA": None,
            "SQLITE_TEMP_MASTER": None,
            "SQLITE_TEMP_SCHEMA": None,
        },
    },
    check=check,
    starts=frozenset({"DROP", "CREATE", "UPDATE", "INSERT", "REPLACE"}),
    scratch_context=True,
)
