"""The shape every rule module fills in: what it finds, why that is risky, what to do instead."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from pytest_promotion.migrations.statement import Action, FileContext, Statement, name_key


class Hit(NamedTuple):
    """A risky command: the file offset where it starts and its identity text.

    A named tuple, not a dataclass: a DO block of deletes makes one per statement, and a tuple
    is the cheapest object Python builds.
    """

    offset: int
    statement: str
    form: str | None = None
    """Which form of the rule's pattern this is (``add-value`` of alter-type), for switching one off."""


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
    scratch_context: bool = False
    """Needs to know only the scratch tables (TEMP, CREATE TABLE … AS, SELECT … INTO) created so far."""
    forms: Mapping[str, str] = field(default_factory=dict)
    """Forms that can be switched off by themselves (``-alter-type:add-value``), each with its meaning."""
    off: frozenset[str] = frozenset()
    """Forms switched off in this selection."""
    explain: Callable[[str], tuple[str, str]] | None = None
    """Why and instead for one finding's statement, when they depend on its form."""
    starts: frozenset[str] | None = None
    """Exact, unlike ``keywords``: every hit the check yields, and everything it notes in the file
    context, comes from a command start (:meth:`Statement.command_starts`) whose token is one of
    these unquoted words (upper case). The scanner then skips the check on statements whose
    command starts hold none of them. None: the check reads every statement."""
    reads_all_when: Callable[[FileContext], bool] | None = None
    """While this holds, the check reads every statement despite ``starts`` (alter-type, once the
    file has added an enum value: any statement may use it)."""

    def advice(self, statement: str) -> tuple[str, str]:
        """The why/instead pair that fits ``statement``."""
        return self.explain(statement) if self.explain is not None else (self.reason, self.instead)

    def reads(self, words: frozenset[str] | str, ctx: FileContext) -> bool:
        """Must the check read a statement whose command starts are ``words`` (one word: a str)?"""
        if self.starts is None or (self.reads_all_when is not None and self.reads_all_when(ctx)):
            return True
        return words in self.starts if isinstance(words, str) else not self.starts.isdisjoint(words)

    @property
    def key(self) -> str:
        """The rule's id with its switched-off forms: what the scan cache keys on."""
        return self.id + "".join(f"-{form}" for form in sorted(self.off))


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
