"""delete-from: ``DELETE`` commands, including those inside a data-modifying CTE.

Why is this bad? A migration runs once, unattended, against production data; a WHERE clause
that is wrong there deletes rows no review of the schema diff will show. ``ON DELETE CASCADE``,
``AFTER DELETE`` triggers, ``GRANT DELETE`` and ``CREATE POLICY … FOR DELETE`` delete nothing when
the migration runs, and bodies of functions, triggers and rules run later, not at migration time.

Use instead: run data clean-ups as a reviewed, idempotent job with a dry run and a row count
check, outside the schema migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """A DELETE in command position (statement start, CTE body, PL/pgSQL step)."""
    for i in stmt.command_starts():
        if stmt.tokens[i].is_word("DELETE"):
            yield Hit(stmt.tokens[i].start, stmt.command_text(i))


RULE = Rule(
    id="delete-from",
    default=True,
    reason="A DELETE in a migration removes production rows once, unattended, with no dry run.",
    instead="Move the clean-up to a reviewed, idempotent data job with a dry run and a row-count check.",
    keywords={"DELETE": r"DELETE(?!\s+(?:CASCADE|RESTRICT|SET|NO)\b)"},
    check=check,
    starts=frozenset({"DELETE"}),
)
