"""truncate: ``TRUNCATE [TABLE]`` statements.

Why is this bad? Every row goes at once, without row-level triggers or a WHERE clause to limit
it, and it cannot be undone after commit.

MySQL's ``ALTER TABLE … TRUNCATE PARTITION`` and ``… DROP PARTITION`` delete the rows of those
partitions the same way (the table stays), and are reported here too. ``VACUUM (TRUNCATE …)`` is
an option of VACUUM, not a command.

Use instead: delete the rows you mean to remove with a bounded ``DELETE … WHERE`` in a reviewed
data migration, or archive the table first.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule, action_hits
from pytest_promotion.migrations.statement import Action, FileContext, Statement


def _empties_partitions(action: Action, ctx: FileContext) -> bool:
    """MySQL's TRUNCATE/DROP PARTITION, and DISCARD TABLESPACE (the table's data file goes)."""
    if ctx.dialect.name != "mysql" or action.continuation or not action.args:
        return False
    return (action.verb in ("TRUNCATE", "DROP") and action.args[0].is_word("PARTITION")) or (
        action.verb == "DISCARD" and action.args[0].is_word("TABLESPACE")
    )


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """A TRUNCATE command; MySQL's TRUNCATE(x, d) function is never a command start."""
    toks = stmt.tokens
    for i in stmt.command_starts():
        if toks[i].is_word("TRUNCATE") and not (i + 1 < len(toks) and toks[i + 1].text == "("):
            yield Hit(toks[i].start, stmt.command_text(i))
    if ctx.dialect.name == "mysql":
        yield from action_hits(stmt, ctx, _empties_partitions)


RULE = Rule(
    id="truncate",
    default=True,
    reason="TRUNCATE removes every row of the table at once and cannot be undone after commit.",
    instead="Remove only the rows you must with a bounded DELETE … WHERE, or archive the table first.",
    keywords={"TRUNCATE": None},
    dialect_keywords={"mysql": {"DROP": r"DROP\s+PARTITION\b", "DISCARD": r"DISCARD\s+TABLESPACE\b"}},
    check=check,
    starts=frozenset({"TRUNCATE", "ALTER"}),
)
