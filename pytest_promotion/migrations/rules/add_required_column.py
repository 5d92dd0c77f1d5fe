"""add-required-column (opt-in): ``ADD COLUMN … NOT NULL`` without a default.

Why is this bad? The statement fails on any table that already has rows, and where it succeeds
the running release inserts without the new column and fails. Columns with ``DEFAULT``, generated
or identity columns, ``SERIAL`` types and ``AUTO_INCREMENT`` fill themselves and are not reported,
nor are tables created earlier in the same migration.

Use instead: add the column as nullable (or with a DEFAULT), backfill it, then set NOT NULL in a
later migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.lexer import Kind
from pytest_promotion.migrations.rules.base import Hit, Rule, action_hits
from pytest_promotion.migrations.statement import Action, FileContext, Statement

_NOT_COLUMNS = frozenset(
    """CONSTRAINT INDEX KEY UNIQUE PRIMARY FOREIGN CHECK FULLTEXT SPATIAL PARTITION EXCLUDE PERIOD""".split()
)
_FILLS_ITSELF = frozenset(
    """DEFAULT GENERATED IDENTITY AUTO_INCREMENT AUTOINCREMENT SERIAL BIGSERIAL SMALLSERIAL SERIAL4
    SERIAL8 SERIAL2""".split()
)


def _adds_required_column(action: Action, ctx: FileContext) -> bool:
    if action.verb != "ADD" or not action.args:
        return False
    args = action.args
    if not action.continuation and args[0].is_word(*_NOT_COLUMNS):
        return False
    words = [t.upper for t in args if t.kind is Kind.WORD]
    not_null = any(words[k : k + 2] == ["NOT", "NULL"] for k in range(len(words) - 1))
    return not_null and not _FILLS_ITSELF.intersection(words)


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """ADD [COLUMN] c type NOT NULL with nothing to fill existing rows."""
    return action_hits(stmt, ctx, _adds_required_column, skip_new_tables=True)


RULE = Rule(
    id="add-required-column",
    default=False,
    reason="A NOT NULL column without a default fails on a table with rows and breaks inserts of the running release.",
    instead="Add it nullable or with a DEFAULT, backfill, then set NOT NULL in a later migration.",
    keywords={"NOT": None},
    check=check,
    starts=frozenset({"ALTER"}),
    uses_context=True,
)
