"""alter-type: ``ALTER TYPE`` statements (PostgreSQL enums) and MySQL enum column changes.

Why is this bad? Prisma changes an enum by renaming and swapping types (values removed from it
fail every row and every running query that still uses them), and ``ALTER TYPE … ADD VALUE``
cannot be used in the same transaction that adds it. On MySQL, Prisma rewrites the column with
``MODIFY … ENUM(…)``, which rejects or blanks rows holding a removed value.

Use instead: add the new value in one release, migrate the rows and code, and remove the old
value in a later migration only once no row or query uses it.

Prisma 8 enums are CHECK constraints, not types: a value removal there is ``DROP CONSTRAINT`` +
``ADD CONSTRAINT … CHECK (col IN (…))``, and fails existing rows and old app versions alike. It is
reported under this rule too, by the package scan (``migrations/prisma8_scan.py``), not by ``check``.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.lexer import Kind
from pytest_promotion.migrations.rules.base import Hit, Rule, action_hits
from pytest_promotion.migrations.statement import Action, FileContext, Statement


def is_enum_change(action: Action) -> bool:
    """MySQL ``MODIFY``/``CHANGE`` of a column to an ``ENUM(...)`` type."""
    if action.continuation or action.verb not in ("MODIFY", "CHANGE"):
        return False
    args = action.args
    return any(
        tok.is_word("ENUM") and k + 1 < len(args) and args[k + 1].text == "(" for k, tok in enumerate(args)
    )


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """ALTER TYPE commands; on MySQL also enum-typed MODIFY/CHANGE actions."""
    toks = stmt.tokens
    for i in stmt.command_starts():
        if (
            stmt.words_at(i, "ALTER", "TYPE")
            and i + 2 < len(toks)
            and toks[i + 2].kind in (Kind.WORD, Kind.IDENT)
        ):
            yield Hit(toks[i].start, stmt.command_text(i))
    if ctx.dialect.name == "mysql":
        yield from action_hits(stmt, ctx, lambda action, _: is_enum_change(action))


RULE = Rule(
    id="alter-type",
    default=True,
    reason="Changing an enum type can fail rows and running queries that use a removed or renamed value.",
    instead="Add the new value first, migrate rows and code, and remove the old value in a later migration.",
    keywords={"ALTER": r"ALTER(?:\s+TYPE\b|\s*(?:/\*|--|#))"},
    dialect_keywords={"mysql": {"MODIFY": None, "CHANGE": None}},
    check=check,
)
