"""truncate: ``TRUNCATE [TABLE]`` statements.

Why is this bad? Every row goes at once, without row-level triggers or a WHERE clause to limit
it, and it cannot be undone after commit.

Use instead: delete the rows you mean to remove with a bounded ``DELETE … WHERE`` in a reviewed
data migration, or archive the table first.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """A TRUNCATE command; MySQL's TRUNCATE(x, d) function is never a command start."""
    toks = stmt.tokens
    for i in stmt.command_starts():
        if toks[i].is_word("TRUNCATE") and not (i + 1 < len(toks) and toks[i + 1].text == "("):
            yield Hit(toks[i].start, stmt.command_text(i))


RULE = Rule(
    id="truncate",
    default=True,
    reason="TRUNCATE removes every row of the table at once and cannot be undone after commit.",
    instead="Remove only the rows you must with a bounded DELETE … WHERE, or archive the table first.",
    keywords={"TRUNCATE": None},
    check=check,
)
