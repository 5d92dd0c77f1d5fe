"""destructive-operation: a Prisma 8 operation of class ``destructive`` or ``data`` no other rule matched.

Prisma 8 labels every operation in ``ops.json`` with an ``operationClass``; ``destructive`` (a
dropped constraint, ``SET NOT NULL``) and ``data`` (a backfill, a clean-up) are Prisma's own
warning that the operation can fail on, or change, existing rows. The gate always lists such an
operation in the item's text ("destructive/data operation, not matched by a rule"); with this rule
turned on, each becomes a finding that must be reviewed into the baseline like any other.

Why is this bad? An ``UPDATE`` backfill or a constraint change runs once, unattended, against
production rows; no statement rule describes it, so without this rule nobody is asked to look.

Use instead: review the operation's SQL and its prechecks, then accept it with a reason.

The SQL scanner never fires this rule (it works on whole operations, in
``pytest_promotion.migrations.prisma8_scan``), so its statement check finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.rules.base import Hit, Rule
from pytest_promotion.migrations.statement import FileContext, Statement

ID = "destructive-operation"


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """Nothing at statement level: the operation class is not in the SQL."""
    return iter(())


RULE = Rule(
    id=ID,
    default=False,
    reason="Prisma 8 classes this operation as destructive or data: it can fail on, or change, existing rows.",
    instead="Review the operation's SQL and prechecks against production data, then accept it with a reason.",
    # A pre-filter word that never passes its refinement: the statement scanner has nothing to do.
    keywords={"DROP": r"(?!)"},
    check=check,
    starts=frozenset(()),
)
