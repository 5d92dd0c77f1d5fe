"""drop-cascade: ``DROP TYPE|DOMAIN|EXTENSION … CASCADE``.

Why is this bad? CASCADE drops every object that depends on the type, and a column of that type
is such an object: the column and its data go with it, with no DROP COLUMN in sight. Dropping an
extension with CASCADE drops the columns of every type it defines (``citext``, ``hstore``,
``vector``). This is the direct consequence of the drop-column pattern, so it is a default rule.

Use instead: drop or convert the columns that use the type first (reviewed, as drop-column
findings), then drop the type without CASCADE: PostgreSQL then refuses if anything still uses it.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.lexer import Kind
from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement

_OBJECTS = ("TYPE", "DOMAIN", "EXTENSION")


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """DROP TYPE/DOMAIN/EXTENSION whose last word is CASCADE."""
    toks = stmt.tokens
    for i in stmt.command_starts():
        if not (stmt.words_at(i, "DROP") and i + 1 < len(toks) and toks[i + 1].is_word(*_OBJECTS)):
            continue
        words = [t for t in toks[i + 2 :] if t.kind is Kind.WORD]
        if words and words[-1].is_word("CASCADE"):
            yield Hit(toks[i].start, stmt.command_text(i))


RULE = Rule(
    id="drop-cascade",
    default=True,
    reason="CASCADE drops every column that uses the type, domain or extension, and the data in them.",
    instead="Drop or convert the columns that use it first, then drop it without CASCADE.",
    keywords={"DROP": r"DROP(?:\s+(?:TYPE|DOMAIN|EXTENSION)\b|\s*(?:/\*|--))"},
    check=check,
    starts=frozenset({"DROP"}),
)
