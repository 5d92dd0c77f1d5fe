"""The view of one SQL statement that the rules share: where commands start, ALTER TABLE actions.

Rules compare token sequences, so every rule agrees on the hard parts: a DELETE after ``ON`` is a
foreign-key action, a DELETE after ``(`` opens a data-modifying CTE, and a comma splits ALTER TABLE
actions only outside parentheses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pytest_promotion.migrations.dialects import Dialect
from pytest_promotion.migrations.lexer import Kind, Token

# A word after one of these begins a command of its own (PL/pgSQL control flow in DO blocks).
_COMMAND_LEADERS = frozenset({"THEN", "ELSE", "LOOP", "BEGIN"})
_NO_SPACE_BEFORE = frozenset({",", ")", ";", ".", "::", "]"})
_NO_SPACE_AFTER = frozenset({"(", ".", "::", "["})
# Keywords followed by a space before "(" (IN ('a'), AS ENUM ('A')); other words call: NOW().
_CLAUSE_WORDS = frozenset(
    """IN VALUES AS ON USING EXISTS AND OR NOT WHERE SELECT FROM KEY CHECK ENUM INTO TABLE JOIN BY WITH
    RETURNING SET THEN ELSE WHEN UNIQUE INCLUDE""".split()
)

# Words that start an ALTER TABLE action in some dialect; any other first word continues the
# previous action's list (SQL Server's "DROP COLUMN a, b" and "ADD a INT, b INT").
_ACTION_VERBS = frozenset(
    """ADD DROP ALTER RENAME MODIFY CHANGE SET RESET ENABLE DISABLE VALIDATE OWNER INHERIT NO CLUSTER
    REPLICA ATTACH DETACH OF NOT FORCE ORDER ALGORITHM LOCK CONVERT DEFAULT CHARACTER CHARSET
    COLLATE WITH CHECK NOCHECK SWITCH REBUILD ENGINE AUTO_INCREMENT COMMENT ROW_FORMAT DISCARD
    IMPORT TRUNCATE COALESCE REORGANIZE EXCHANGE ANALYZE OPTIMIZE REPAIR REMOVE UPGRADE SPLIT MERGE""".split()
)


def normalize(tokens: Sequence[Token]) -> str:
    """Canonical text of ``tokens``: identity that ignores whitespace, comments and keyword case.

    Keywords are upper-cased; names keep the case they were written in.

    Spacing is decided from the tokens alone, never from the input, so reformatting a reviewed
    statement does not make it new.
    """
    out: list[str] = []
    prev = ""
    call = False  # the previous token names a function, type or table: NOW(), VARCHAR(191), "User"("id")
    for tok in tokens:
        text = tok.text.upper() if tok.keyword else tok.text.replace("\r\n", "\n")
        if (
            out
            and text not in _NO_SPACE_BEFORE
            and prev not in _NO_SPACE_AFTER
            and not (call and text == "(")
        ):
            out.append(" ")
        out.append(text)
        prev = text
        call = tok.kind is Kind.IDENT or (tok.kind is Kind.WORD and text not in _CLAUSE_WORDS)
    return "".join(out)


def name_key(tok: Token) -> str:
    """Compare table names the way a reader would: without quotes, ignoring case."""
    text = tok.text
    if tok.kind is Kind.IDENT and len(text) >= 2:
        text = text[1:-1]
    return text.casefold()


@dataclass(frozen=True)
class Action:
    """One comma-separated action of an ALTER TABLE statement."""

    verb: str
    """Upper-case first word, inherited by a continuation (``DROP COLUMN a, b``: both ``DROP``)."""
    args: Sequence[Token]
    """Tokens after the verb (all tokens for a continuation)."""
    start: Token
    continuation: bool


@dataclass(frozen=True)
class AlterTable:
    """``ALTER TABLE <name> <action>, <action> …`` split into its parts."""

    head: Sequence[Token]
    table: Token
    actions: Sequence[Action]

    def text(self, action: Action) -> str:
        """The statement as if it held only ``action``: one finding's identity."""
        verb = [] if not action.continuation else [Token(Kind.WORD, action.verb, action.start.start, True)]
        own = [action.start] if not action.continuation else []
        return normalize([*self.head, *verb, *own, *action.args])


def _skip_name(tokens: Sequence[Token], i: int) -> int:
    """Index just past a possibly qualified name starting at ``i``."""
    n = len(tokens)
    while i < n and tokens[i].kind in (Kind.WORD, Kind.IDENT):
        if i + 2 < n and tokens[i + 1].text == "." and tokens[i + 2].kind in (Kind.WORD, Kind.IDENT):
            i += 2
            continue
        return i + 1
    return i


@dataclass
class FileContext:
    """What earlier statements of the same migration tell the rules about later ones."""

    dialect: Dialect
    created_tables: set[str] = field(default_factory=set)
    dropped_tables: set[str] = field(default_factory=set)

    def observe(self, statement: Statement) -> None:
        """Remember tables this statement creates or drops."""
        toks = statement.tokens
        if len(toks) < 3:
            return
        i = 1
        while i < len(toks) and toks[i].is_word(
            "OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL"
        ):
            i += 1
        if toks[0].is_word("CREATE") and i < len(toks) and toks[i].is_word("TABLE"):
            names = statement.table_names(i + 1)
            self.created_tables.update(names)
        elif toks[0].is_word("DROP") and toks[1].is_word("TABLE"):
            self.dropped_tables.update(statement.table_names(2))


@dataclass(frozen=True)
class Statement:
    """The significant tokens of one statement, with the structure the rules ask about."""

    tokens: Sequence[Token]

    @property
    def is_definition(self) -> bool:
        """CREATE statements define things; bodies inside them do not run at migration time."""
        return bool(self.tokens) and self.tokens[0].is_word("CREATE")

    def command_starts(self) -> Iterator[int]:
        """Indices where a command begins: the statement itself, a CTE body, a PL/pgSQL step."""
        toks = self.tokens
        if not toks:
            return
        yield 0
        if self.is_definition:
            return
        for i in range(1, len(toks)):
            prev = toks[i - 1]
            if toks[i].kind is Kind.WORD and (prev.text == "(" or prev.is_word(*_COMMAND_LEADERS)):
                yield i

    def command_text(self, i: int) -> str:
        """Identity text of the command at ``i``: the whole statement for a CTE, else from ``i``."""
        if i > 0 and self.tokens[i - 1].text == "(":
            return normalize(self.tokens)
        return normalize(self.tokens[i:])

    def words_at(self, i: int, *words: str) -> bool:
        """True when the tokens from ``i`` are exactly the unquoted ``words``, in order."""
        toks = self.tokens
        if i + len(words) > len(toks):
            return False
        return all(toks[i + k].is_word(w) for k, w in enumerate(words))

    def table_names(self, i: int) -> set[str]:
        """Names in a ``[IF [NOT] EXISTS] a[, b]`` list starting at ``i`` (last name part)."""
        toks = self.tokens
        names: set[str] = set()
        while i < len(toks) and toks[i].is_word("IF", "NOT", "EXISTS", "ONLY"):
            i += 1
        while i < len(toks):
            end = _skip_name(toks, i)
            if end == i:
                break
            names.add(name_key(toks[end - 1]))
            if end < len(toks) and toks[end].text == ",":
                i = end + 1
            else:
                break
        return names

    def alter_table(self, i: int) -> AlterTable | None:
        """Parse ``ALTER TABLE`` at ``i`` into head and actions, or None if it is not one."""
        toks = self.tokens
        if not self.words_at(i, "ALTER", "TABLE"):
            return None
        j = i + 2
        while j < len(toks) and toks[j].is_word("IF", "EXISTS", "ONLY"):
            j += 1
        name_end = _skip_name(toks, j)
        if name_end == j:
            return None
        table = toks[name_end - 1]
        if name_end < len(toks) and toks[name_end].text == "*":
            name_end += 1
        actions: list[Action] = []
        depth = 0
        part: list[Token] = []
        for tok in [*toks[name_end:], Token(Kind.PUNCT, ",", -1)]:
            if tok.text == "(":
                depth += 1
            elif tok.text == ")":
                depth -= 1
            if tok.text == "," and depth <= 0:
                if part:
                    actions.append(_action(part, actions[-1] if actions else None))
                part = []
            else:
                part.append(tok)
        return AlterTable(head=toks[i:name_end], table=table, actions=actions)


def _action(part: list[Token], previous: Action | None) -> Action:
    first = part[0]
    if previous is not None and not (first.kind is Kind.WORD and first.upper in _ACTION_VERBS):
        return Action(verb=previous.verb, args=part, start=first, continuation=True)
    return Action(verb=first.upper, args=part[1:], start=first, continuation=False)
