"""create-index-blocking (opt-in): PostgreSQL ``CREATE INDEX`` without ``CONCURRENTLY``.

Why is this bad? A plain CREATE INDEX blocks every write to the table until the index is built,
which on a large table is minutes of failed requests. MySQL, SQLite and SQL Server build
indexes differently and are not reported, nor are tables created earlier in the same migration.

Use instead: ``CREATE INDEX CONCURRENTLY`` in a migration of its own (it cannot run inside a
transaction block).
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """CREATE [UNIQUE] INDEX … ON t, without CONCURRENTLY, when t is not new in this file."""
    if not ctx.dialect.concurrent_indexes:
        return
    toks = stmt.tokens
    k = 2 if stmt.words_at(0, "CREATE", "UNIQUE") else 1
    if not stmt.words_at(0, "CREATE") or not stmt.words_at(k, "INDEX"):
        return
    words = [t.upper for t in toks]
    if "CONCURRENTLY" in words[k + 1 : k + 2] or "ON" not in words:
        return
    if stmt.table_names(words.index("ON") + 1) & ctx.created_tables:
        return
    yield Hit(toks[0].start, stmt.command_text(0))


RULE = Rule(
    id="create-index-blocking",
    default=False,
    reason="CREATE INDEX without CONCURRENTLY blocks all writes to the table until the build finishes.",
    instead="Use CREATE INDEX CONCURRENTLY, in a migration of its own (it cannot run in a transaction).",
    keywords={"INDEX": None},
    check=check,
    starts=frozenset({"CREATE"}),
    uses_context=True,
)
