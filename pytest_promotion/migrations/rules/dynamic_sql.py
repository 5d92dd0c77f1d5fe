"""dynamic-sql (opt-in): ``EXECUTE`` of a computed string in a DO block or a routine the file calls.

Why is this bad? The SQL is built when the migration runs (``format(…)``, ``'…' || name``), so no
review of the file — and no scanner — can tell what it does: it may drop or delete anything.
``EXECUTE`` of a string literal, or of literals joined with ``||``, is read and scanned like any
other SQL instead, and top-level ``EXECUTE name(…)`` runs a prepared statement, not a string.

Use instead: write the statements out, one per object, so that they can be reviewed (and
scanned); generate them before the migration is committed, not while it runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.lexer import Kind
from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement


def _literal_only(stmt: Statement, k: int) -> bool:
    toks = stmt.tokens
    j = k
    while j < len(toks) and toks[j].kind in (Kind.STRING, Kind.DOLLAR):
        j += 1
        if j < len(toks) and toks[j].text == "||":
            j += 1
            continue
        break
    return j > k and (j >= len(toks) or toks[j].is_word("USING", "INTO", "LOOP"))


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """EXECUTE in a procedural body whose argument is not made of literals alone."""
    if not stmt.procedural or not ctx.dialect.dollar_quotes:
        return
    toks = stmt.tokens
    for i in stmt.command_starts():
        if toks[i].is_word("EXECUTE") and not _literal_only(stmt, i + 1):
            yield Hit(toks[i].start, stmt.command_text(i))


RULE = Rule(
    id="dynamic-sql",
    default=False,
    reason="EXECUTE of a computed string runs SQL that no review or scan of the migration can read.",
    instead="Write the statements out, one per object, so they can be reviewed and scanned.",
    keywords={"EXECUTE": None},
    check=check,
    starts=frozenset({"EXECUTE"}),
)
