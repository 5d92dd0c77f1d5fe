"""The shape every rule module fills in: what it finds, why that is risky, what to do instead."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from pytest_promotion.migrations.statement import Action, FileContext, Statement, name_key


@dataclass(frozen=True)
class Hit:
    """A risky command: the file offset where it starts and its identity text."""

    offset: int
    statement: str


Check = Callable[[Statement, FileContext], Iterable[Hit]]


@dataclass(frozen=True, kw_only=True, eq=False)
class Rule:
    """One kind of risky SQL, with the explanation a reviewer reads beside each finding."""

    id: str
    default: bool
    reason: str
    """Why it is risky, in one line."""
    instead: str
    """The safer alternative, in one line."""
    keywords: Mapping[str, str | None]
    """The pre-filter: upper-case words the statements it fires on contain, each with an optional
    regex (matched at the word, on upper-cased text) that narrows it. Generous, never exact: a
    statement passes on to the tokens whenever it might be risky."""
    check: Check
    dialect_keywords: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    """More pre-filter words for one dialect's own syntax (MySQL's MODIFY), by dialect name."""
    uses_context: bool = False
    """Needs to know which tables earlier statements of the file created or dropped."""


def action_hits(
    stmt: Statement,
    ctx: FileContext,
    picks: Callable[[Action, FileContext], bool],
    *,
    skip_new_tables: bool = False,
) -> Iterator[Hit]:
    """A hit for each ALTER TABLE action of ``stmt`` that ``picks`` selects.

    ``skip_new_tables``: leave out tables created earlier in the same file (they are empty).
    """
    for i in stmt.command_starts():
        alter = stmt.alter_table(i)
        if alter is None or (skip_new_tables and name_key(alter.table) in ctx.created_tables):
            continue
        for action in alter.actions:
            if picks(action, ctx):
                yield Hit(action.start.start, alter.text(action))
