"""The view of one SQL statement that the rules share: where commands start, ALTER TABLE actions.

Rules compare token sequences, so every rule agrees on the hard parts: a DELETE after ``ON`` is a
foreign-key action, ``(DELETE FROM`` opens a data-modifying CTE, the statement after a CTE list is
a command too, and a comma splits ALTER TABLE actions only outside parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from pytest_promotion.migrations.dialects import Dialect
from pytest_promotion.migrations.lexer import IDENT, OTHER, PUNCT, WORD, Token

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
    return "".join(_normalized_pieces(tokens))


def _normalized_pieces(tokens: Sequence[Token]) -> list[str]:
    """Each token's normalised text with the space before it: a suffix joins to its own identity."""
    out: list[str] = []
    append = out.append
    no_before, no_after, clause_words = _NO_SPACE_BEFORE, _NO_SPACE_AFTER, _CLAUSE_WORDS
    ident, word = IDENT, WORD
    prev = ""
    call = False  # the previous token names a function, type or table: NOW(), VARCHAR(191), "User"("id")
    for kind, raw, _, keyword in tokens:
        text = raw.upper() if keyword else raw.replace("\r\n", "\n") if "\r" in raw else raw
        if out and text not in no_before and prev not in no_after and not (call and text == "("):
            append(" " + text)
        else:
            append(text)
        prev = text
        call = kind is ident or (kind is word and text not in clause_words)
    return out


def name_key(tok: Token) -> str:
    """Compare table names the way a reader would: without quotes, ignoring case."""
    text = tok.text
    if tok.kind is IDENT and len(text) >= 2:
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
    name: str = ""
    """The table's name as written, every part (:func:`_exact_name`)."""

    def text(self, action: Action) -> str:
        """The statement as if it held only ``action``: one finding's identity."""
        verb = [] if not action.continuation else [Token(WORD, action.verb, action.start.start, True)]
        own = [action.start] if not action.continuation else []
        return normalize([*self.head, *verb, *own, *action.args])


def outside_parentheses(tokens: Sequence[Token], i: int) -> Iterator[int]:
    """Indices from ``i`` on of the tokens outside any parentheses (the parentheses not included)."""
    depth = 0
    for j in range(i, len(tokens)):
        text = tokens[j].text
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif depth == 0:
            yield j


def _exact_name(tokens: Sequence[Token], i: int, end: int) -> str:
    """A table's name as written, each part apart: a quoted part exactly, an unquoted one with
    ASCII letters lower-cased (the folding every database agrees on); "main.t" quoted is one part."""
    parts = []
    for k in range(i, end, 2):
        tok = tokens[k]
        parts.append(tok.text[1:-1] if tok.kind is IDENT else tok.text.translate(_ASCII_LOWER))
    return "\x1f".join(parts)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _last_part(name: str) -> str:
    return name.rsplit("\x1f", 1)[-1]


def _top_level_as(tokens: Sequence[Token], i: int) -> bool:
    """Is there an ``AS`` outside parentheses from ``i`` on (``CREATE TABLE t (a, b) USING x AS …``)?"""
    return any(tokens[j].is_word("AS") for j in outside_parentheses(tokens, i))


def _skip_name(tokens: Sequence[Token], i: int) -> int:
    """Index just past a possibly qualified name starting at ``i``."""
    n = len(tokens)
    while i < n and tokens[i].kind in (WORD, IDENT):
        if i + 2 < n and tokens[i + 1].text == "." and tokens[i + 2].kind in (WORD, IDENT):
            i += 2
            continue
        return i + 1
    return i


@dataclass
class Routine:
    """A function or procedure created in this migration: its body runs when the file calls it."""

    start: int
    end: int
    """The file span to scan when it is called: its dollar-quoted body or its BEGIN … END."""
    procedural: bool
    literal: tuple[Token, ...] | None = None
    """A body written as a string literal (``AS 'DELETE …'``, or constants continued over lines),
    scanned through its content."""
    spans: Sequence[tuple[int, int]] | None = None
    """A BEGIN … END body's statement spans, as the split of the text it was created in found them."""


@dataclass
class FileContext:
    """What earlier statements of the same migration tell the rules about later ones."""

    dialect: Dialect
    created_tables: set[str] = field(default_factory=set)
    dropped_tables: set[str] = field(default_factory=set)
    scratch_tables: set[str] = field(default_factory=set)
    """Created here as TEMP, by CREATE TABLE … AS or by SELECT … INTO: dropping them loses nothing."""
    checked_not_null: set[tuple[str, str]] = field(default_factory=set)
    """(table, column) with a validated ``CHECK (column IS NOT NULL)``: SET NOT NULL skips its scan."""
    pending_checks: dict[tuple[str, str], str] = field(default_factory=dict)
    """(table, constraint) -> column of a ``CHECK (column IS NOT NULL) NOT VALID`` not yet validated."""
    added_enum_values: set[str] = field(default_factory=set)
    """String literals (as written, quotes included) that ``ALTER TYPE … ADD VALUE`` added here."""
    routines: dict[str, Routine] = field(default_factory=dict)
    called: set[str] = field(default_factory=set)
    triggers: dict[str, list[tuple[frozenset[str], str]]] = field(default_factory=dict)
    """Table -> (events, routine) of each trigger created here on a routine created here."""
    renamed_triggers: list[str] = field(default_factory=list)
    """Tables whose triggers came to them by a rename, not yet searched for (the scan takes them)."""

    def observe(self, statement: Statement) -> None:
        """Remember tables this statement creates or drops, and checks it adds or validates."""
        toks = statement.tokens
        if len(toks) < 3 or not toks[0].is_word("CREATE", "DROP", "SELECT", "ALTER", "RENAME"):
            return
        if toks[0].is_word("RENAME") and toks[1].is_word("TABLE", "TABLES"):  # MySQL: RENAME TABLE a TO b, …
            k = 2
            while k < len(toks):
                old_end = _skip_name(toks, k)
                if not (old_end < len(toks) and toks[old_end].is_word("TO")):
                    break
                new_end = _skip_name(toks, old_end + 1)
                self._moved({_exact_name(toks, k, old_end)}, _exact_name(toks, old_end + 1, new_end))
                if not (new_end < len(toks) and toks[new_end].text == ","):
                    break
                k = new_end + 1
            return
        i = 1
        temp = False
        while i < len(toks) and toks[i].is_word(
            "OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL"
        ):
            temp = temp or toks[i].is_word("TEMP", "TEMPORARY")
            i += 1
        if toks[0].is_word("CREATE") and i < len(toks) and toks[i].is_word("TABLE"):
            j = i + 1
            absent_only = j < len(toks) and toks[j].is_word("IF")  # IF NOT EXISTS: maybe nothing made
            if not absent_only:  # a table that was there already keeps its rows: not exempt
                self.created_tables.update(statement.table_names(i + 1))
            while j < len(toks) and toks[j].is_word("IF", "NOT", "EXISTS"):
                j += 1
            after = _skip_name(toks, j)
            if temp:
                # Outside a transaction, ON COMMIT DROP takes the temp table at once: a later
                # DROP meets a real table of that name.
                scratch = not any(
                    toks[k].is_word("COMMIT") and toks[k + 1].is_word("DROP")
                    for k in range(after, len(toks) - 1)
                )
            else:
                made_as = (after < len(toks) and toks[after].is_word("SELECT")) or _top_level_as(toks, after)
                scratch = made_as and not absent_only
            if scratch:
                self.scratch_tables.update(statement.table_names(i + 1, qualified=True))
        elif toks[0].is_word("DROP") and toks[1].is_word("TABLE", "TABLES"):
            self.dropped_tables.update(statement.table_names(2))
            self._unscratch(statement.table_names(2, qualified=True))  # a second DROP meets a real one
        elif toks[0].is_word("SELECT") and not statement.procedural:
            into = next((k for k, t in enumerate(toks) if t.is_word("INTO", "FROM")), None)
            if into is not None and toks[into].is_word("INTO"):
                k = into + 1
                while k < len(toks) and toks[k].is_word("TEMP", "TEMPORARY", "UNLOGGED", "TABLE"):
                    k += 1
                self.scratch_tables.update(statement.table_names(k, qualified=True))
        elif toks[0].is_word("ALTER") and toks[1].is_word("TABLE"):
            self._observe_checks(statement)
            if any(
                tok.is_word("RENAME") and toks[k + 1].is_word("TO", "AS") for k, tok in enumerate(toks[:-1])
            ):
                self._observe_rename(statement)

    def _unscratch(self, names: set[str]) -> None:
        """``names`` no longer are scratch tables, nor any of the same last name (``temp.t``, ``t``)."""
        last = {_last_part(name) for name in names}
        self.scratch_tables = {name for name in self.scratch_tables if _last_part(name) not in last}

    def _observe_rename(self, statement: Statement) -> None:
        """``ALTER TABLE a RENAME TO b``: the scratch table moves to ``b``; a real one there is real."""
        alter = statement.alter_table(0)
        if alter is None:
            return
        for action in alter.actions:
            if not (action.verb == "RENAME" and action.args and action.args[0].is_word("TO", "AS")):
                continue  # RENAME COLUMN, RENAME CONSTRAINT …
            start = 1
            end = _skip_name(action.args, start)
            if end == start:
                continue
            self._moved({alter.name}, _exact_name(action.args, start, end))

    def _moved(self, old_names: set[str], new: str) -> None:
        """A table renamed from ``old_names`` to ``new``: scratch there only if it was scratch,
        and its triggers go with it."""
        for old in old_names:
            fired = self.triggers.pop(_last_part(old).casefold(), None)
            if fired:
                self.triggers.setdefault(_last_part(new).casefold(), []).extend(fired)
                self.renamed_triggers.append(_last_part(new).casefold())
        was_scratch = bool(old_names & self.scratch_tables)
        self._unscratch(old_names | {new})
        if was_scratch:
            self.scratch_tables.add(new)

    def _observe_checks(self, statement: Statement) -> None:
        alter = statement.alter_table(0)
        if alter is None:
            return
        table = name_key(alter.table)
        for action in alter.actions:
            words = [t.upper if t.kind is WORD else name_key(t) for t in action.args]
            if action.verb == "ADD" and words[:1] == ["CONSTRAINT"] and "CHECK" in words:
                k = words.index("CHECK")
                # CHECK ( column IS NOT NULL ) [NOT VALID]
                if words[k + 1 : k + 2] == ["("] and words[k + 3 : k + 7] == ["IS", "NOT", "NULL", ")"]:
                    column = name_key(action.args[k + 2])
                    if words[k + 7 : k + 9] == ["NOT", "VALID"]:
                        self.pending_checks[(table, name_key(action.args[1]))] = column
                    else:
                        self.checked_not_null.add((table, column))
            elif action.verb == "VALIDATE" and words[:1] == ["CONSTRAINT"] and len(action.args) > 1:
                pending = self.pending_checks.pop((table, name_key(action.args[1])), None)
                if pending is not None:
                    self.checked_not_null.add((table, pending))


# Text with none of these (in ASCII) holds one command: no "(" for a subquery or CTE body, no word
# that leads a step, opens a CASE, or starts an inner query (WITH, EXPLAIN, MERGE, FOR, OPEN, RETURN,
# PREPARE … AS).
_INNER_WORDS = (
    "THEN ELSE LOOP BEGIN ATOMIC CASE END WITH EXPLAIN MERGE FOR OPEN RETURN PREPARE ANALYZE DO REPEAT"
).split()
# ``\bWORD\b`` written as ``WORD(?<!\wWORD)\b``: a pattern whose every branch starts with a
# letter or "(" is searched by a fast scan for those first characters; a leading ``\b`` is
# tried at every position instead.
_INNER_HINT = re.compile(r"\(|" + "|".join(rf"{w}(?<!\w{w})\b" for w in _INNER_WORDS))


def holds_one_command(text: str, upper: str, start: int, end: int, ascii: bool | None = None) -> bool:
    """True when ``text[start:end]`` cannot hold a command beyond its first (a cheap, safe test).

    ``upper`` is ``text`` upper-cased, offset for offset; ``ascii``, when the caller knows it,
    whether ``text[start:end]`` is ASCII.
    """
    if ascii is None:
        ascii = text[start:end].isascii()
    return ascii and _INNER_HINT.search(upper, start, end) is None


# Words that begin a query (a CTE body, a subquery, the target of EXPLAIN ANALYZE or FOR … IN).
_QUERY_WORDS = frozenset(
    {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE", "VALUES", "TABLE", "REPLACE"}
)
# After one of these a word starts a step of a procedural block (PL/pgSQL in DO bodies, T-SQL).
_STEP_LEADERS = frozenset({"THEN", "ELSE", "LOOP", "BEGIN", "ATOMIC", "DO", "REPEAT"})


_T = TypeVar("_T")
_FIRST = (0,)


class _Once(Generic[_T]):
    """A property computed on first use and then kept in the instance's ``__dict__``.

    ``functools.cached_property`` does the same but takes a lock on each first use (Python
    3.11), which costs more than the value for the small statements a scan makes by the
    hundred thousand.
    """

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Once[_T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...
    def __get__(self, obj: object, owner: type | None = None) -> _T | _Once[_T]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


@dataclass(frozen=True)
class Statement:
    """The significant tokens of one statement, with the structure the rules ask about."""

    tokens: Sequence[Token]
    procedural: bool = False
    """A step of a procedural body (a DO block, a called routine): THEN, ELSE, LOOP and BEGIN
    start commands, and EXECUTE runs SQL."""
    dialect: str = "postgresql"
    one_command: bool = False
    """Set by the scanner when the statement's text holds no parenthesis and none of the words
    that start inner commands (:data:`_INNER_HINT`): its only command starts at its first token."""

    @_Once
    def is_definition(self) -> bool:
        """CREATE statements define things; bodies inside them do not run at migration time."""
        return bool(self.tokens) and self.tokens[0].is_word("CREATE")

    def command_starts(self) -> Iterator[int]:
        """Indices where a command begins, in order.

        The statement itself; a CTE body and the statement its CTE list leads to; a subquery
        that is a data-modifying command (``COPY (DELETE …)``); the statement ``EXPLAIN ANALYZE``
        runs (plain EXPLAIN runs nothing); the actions of ``MERGE … THEN``; and in procedural
        bodies each step after THEN/ELSE/LOOP/BEGIN, ``FOR … IN <query>``, ``OPEN c FOR <query>``
        and ``RETURN QUERY <query>``. A word after ``(`` or THEN is a command only when what
        follows makes it one: ``INSERT INTO t (delete, b)`` and ``CASE WHEN a THEN truncate``
        hold none.
        """
        if self.one_command:  # no pass needed: the only command starts at the first token
            return iter(_FIRST if self.tokens else ())
        return iter(self._starts[0])

    @_Once
    def _starts(self) -> tuple[list[int], dict[int, int]]:
        return _command_starts(self)

    @_Once
    def _pieces(self) -> list[str]:
        return _normalized_pieces(self.tokens)

    @_Once
    def text(self) -> str:
        """Normalised text of the whole statement (computed once, however many commands it holds)."""
        pieces = self.__dict__.get("_pieces")  # kept only when a command's text needs a suffix
        return "".join(_normalized_pieces(self.tokens) if pieces is None else pieces)

    def command_text(self, i: int) -> str:
        """Identity text of the command at ``i``.

        The whole statement for a command reached through parentheses or a CTE list (as it
        always was for CTE bodies), else the text from the step that holds it.
        """
        start = i if self.one_command else self._starts[1].get(i, i)
        if start == 0:
            return self.text
        return "".join(self._pieces[start:]).removeprefix(" ")

    def words_at(self, i: int, *words: str) -> bool:
        """True when the tokens from ``i`` are exactly the unquoted ``words``, in order."""
        toks = self.tokens
        if i + len(words) > len(toks):
            return False
        for k, w in enumerate(words):
            tok = toks[i + k]
            if tok.kind is not WORD or tok.text.upper() != w:
                return False
        return True

    def table_names(self, i: int, *, qualified: bool = False) -> set[str]:
        """Names in a ``[IF [NOT] EXISTS] a[, b]`` list starting at ``i``.

        The last name part, or with ``qualified`` every part as written (:func:`_exact_name`).
        """
        toks = self.tokens
        names: set[str] = set()
        while i < len(toks) and toks[i].is_word("IF", "NOT", "EXISTS", "ONLY"):
            i += 1
        while i < len(toks):
            end = _skip_name(toks, i)
            if end == i:
                break
            if qualified:
                names.add(_exact_name(toks, i, end))
            else:
                names.add(name_key(toks[end - 1]))
            if end < len(toks) and toks[end].text == ",":
                i = end + 1
            else:
                break
        return names

    def alter_table(self, i: int) -> AlterTable | None:
        """Parse ``ALTER TABLE`` at ``i`` into head and actions, or None if it is not one.

        MariaDB's ``ALTER ONLINE|IGNORE TABLE`` and the lock options after the name (``NOWAIT``,
        ``WAIT n``) belong to the head.
        """
        toks = self.tokens
        j = i + 1
        while j < len(toks) and toks[j].is_word("ONLINE", "IGNORE"):
            j += 1
        if not (i < len(toks) and toks[i].is_word("ALTER") and j < len(toks) and toks[j].is_word("TABLE")):
            return None
        j += 1
        while j < len(toks) and toks[j].is_word("IF", "EXISTS", "ONLY"):
            j += 1
        name_end = _skip_name(toks, j)
        if name_end == j:
            return None
        table, name = toks[name_end - 1], _exact_name(toks, j, name_end)
        if name_end < len(toks) and toks[name_end].text == "*":
            name_end += 1
        if name_end < len(toks) and toks[name_end].is_word("NOWAIT"):
            name_end += 1
        elif name_end + 1 < len(toks) and toks[name_end].is_word("WAIT") and toks[name_end + 1].kind is OTHER:
            name_end += 2
        actions: list[Action] = []
        depth = 0
        part: list[Token] = []
        for tok in [*toks[name_end:], Token(PUNCT, ",", -1)]:
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
        return AlterTable(head=toks[i:name_end], table=table, actions=actions, name=name)


def _action(part: list[Token], previous: Action | None) -> Action:
    first = part[0]
    if previous is not None and not (first.kind is WORD and first.upper in _ACTION_VERBS):
        return Action(verb=previous.verb, args=part, start=first, continuation=True)
    return Action(verb=first.upper, args=part[1:], start=first, continuation=False)


def matching_parens(toks: Sequence[Token]) -> list[int]:
    """For each ``(`` the index of its ``)`` (the end when unbalanced); -1 elsewhere."""
    close = [-1] * len(toks)
    stack: list[int] = []
    for k, tok in enumerate(toks):
        if tok.kind is PUNCT:
            if tok.text == "(":
                stack.append(k)
            elif tok.text == ")" and stack:
                close[stack.pop()] = k
    for k in stack:
        close[k] = len(toks)
    return close


def _is_subquery_command(toks: Sequence[Token], k: int) -> bool:
    """Is the word at ``k`` (just after ``(``) a data-modifying command or a WITH query?"""
    tok = toks[k]
    nxt = toks[k + 1] if k + 1 < len(toks) else None
    if nxt is None or tok.kind is not WORD:
        return False
    if tok.is_word("DELETE"):
        return nxt.is_word("FROM")
    if tok.is_word("INSERT", "MERGE"):
        return nxt.is_word("INTO")
    if tok.is_word("UPDATE", "WITH"):
        return nxt.kind in (WORD, IDENT) and not nxt.is_word("AS", "FROM")
    return False


def _explain_target(toks: Sequence[Token], i: int, close: list[int]) -> tuple[int, bool]:
    """Index of the statement ``EXPLAIN`` at ``i`` explains, and whether ANALYZE runs it."""
    j = i + 1
    analyze = False
    if j < len(toks) and toks[j].text == "(":
        end = close[j]
        k = j + 1
        while k < end:
            if toks[k].is_word("ANALYZE", "ANALYSE"):
                value = toks[k + 1] if k + 1 < end else None
                off = value is not None and (value.is_word("FALSE", "OFF") or value.text == "0")
                analyze = not off
            k += 1
        return end + 1, analyze
    while j < len(toks) and toks[j].is_word("ANALYZE", "ANALYSE", "VERBOSE"):
        analyze = analyze or toks[j].is_word("ANALYZE", "ANALYSE")
        j += 1
    return j, analyze


def _with_main(toks: Sequence[Token], i: int, close: list[int]) -> int | None:
    """Index of the statement a ``WITH`` list at ``i`` leads to (after its last CTE), if any."""
    n = len(toks)
    j = i + 1
    if j < n and toks[j].is_word("RECURSIVE"):
        j += 1
    while j < n:
        if toks[j].kind not in (WORD, IDENT):
            return None
        j += 1
        if j < n and toks[j].text == "(":  # column list
            j = close[j] + 1
        if not (j < n and toks[j].is_word("AS")):
            return None
        j += 1
        while j < n and toks[j].is_word("NOT", "MATERIALIZED"):
            j += 1
        if not (j < n and toks[j].text == "("):
            return None
        j = close[j] + 1
        # SEARCH … SET … / CYCLE … SET … USING … clauses of a recursive CTE
        while j < n and toks[j].text != "," and not toks[j].is_word(*_QUERY_WORDS):
            if toks[j].text == "(":
                j = close[j]
            j += 1
        if j < n and toks[j].text == ",":
            j += 1
            continue
        return j if j < n else None
    return None


def _command_starts(stmt: Statement) -> tuple[list[int], dict[int, int]]:
    """Command starts of ``stmt`` and, where it is not the start itself, where each one's text begins.

    One pass over the tokens with a table of matching parentheses, so a statement of any size
    costs time in proportion to its length.
    """
    toks = stmt.tokens
    n = len(toks)
    if n == 0:
        return [], {}
    pending: dict[int, int] = {0: 0}
    if stmt.is_definition:
        # CREATE TABLE … AS runs its query now, and so a data-modifying CTE of it; nothing else
        # in a CREATE runs (a plain SELECT there holds no command to report: no start either).
        query = None if stmt.one_command else definition_query(toks)
        if query is None or query >= n or not toks[query].is_word("WITH"):
            return [0], {}
        pending[query] = 0
    elif stmt.one_command:
        return [0], {}
    close = matching_parens(toks)
    postgres = stmt.dialect in ("postgresql", "cockroachdb")
    leaders_anywhere = stmt.procedural or not postgres
    text_from: dict[int, int] = {}
    starts: list[int] = []
    cases: list[bool] = []  # open CASE blocks: True for a CASE statement, False for an expression
    merge = False
    word, punct = WORD, PUNCT
    prev_up = ""  # the previous token upper-cased when it is a word, "(" for a parenthesis
    k = 0
    while k < n:
        tok = toks[k]
        up = tok.text.upper() if tok.kind is word else ""
        if k not in pending and up and prev_up:
            if prev_up == "(":
                if _is_subquery_command(toks, k):
                    pending[k] = 0
            elif (
                prev_up in _STEP_LEADERS
                and not (cases and not cases[-1])
                and (leaders_anywhere or (merge and prev_up == "THEN"))
            ):
                pending[k] = k
        prev_up = up or ("(" if tok.kind is punct and tok.text == "(" else "")
        if k in pending:
            origin = pending.pop(k)
            starts.append(k)
            if origin != k:
                text_from[k] = origin
            if up == "WITH":
                main = _with_main(toks, k, close)
                if main is not None and main not in pending:
                    pending[main] = origin
            elif up == "EXPLAIN":
                target, analyze = _explain_target(toks, k, close)
                if not analyze:
                    break  # plain EXPLAIN plans the statement and runs none of it
                if target < n:
                    pending[target] = origin
            elif up == "MERGE":
                merge = True
            elif up == "SET" and not postgres and k + 1 < n and toks[k + 1].is_word("STATEMENT"):
                command = next((j + 1 for j in outside_parentheses(toks, k) if toks[j].is_word("FOR")), n)
                if command < n and command not in pending:
                    pending[command] = origin  # MariaDB: SET STATEMENT var = value FOR <statement>
            elif (
                up == "DECLARE"
                and not postgres
                and k + 3 < n
                and toks[k + 2].is_word("HANDLER")
                and toks[k + 3].is_word("FOR")
            ):
                body = _handler_body(toks, k + 4)
                if body < n and body not in pending:
                    pending[body] = origin  # DECLARE … HANDLER FOR conditions <statement>
            elif up == "ANALYZE" and not postgres:
                command = next(
                    (j for j in range(k + 1, min(n, k + 6)) if toks[j].is_word(*_QUERY_WORDS, "REPLACE")), n
                )
                if command < n and command not in pending:
                    pending[command] = origin  # MariaDB: ANALYZE runs the statement, then explains it
            elif up == "PREPARE" and postgres:
                prepared = _prepared(toks, k, close)
                if prepared is not None and prepared not in pending:
                    pending[prepared] = origin
            elif stmt.procedural:
                query = _procedural_query(toks, k)
                if query is not None:
                    pending[query] = origin
            if up == "CASE":
                cases.append(True)
                k += 1
                continue
        if up == "CASE":
            cases.append(False)
        elif up == "END" and cases:
            cases.pop()
        k += 1
    return starts, text_from


def definition_query(toks: Sequence[Token]) -> int | None:
    """Where the query of ``CREATE TABLE … AS`` or ``CREATE MATERIALIZED VIEW … AS`` starts.

    None for any other CREATE, and for ``… WITH NO DATA`` (the query runs later, at REFRESH).
    """
    k = 1
    while k < len(toks) and toks[k].is_word(
        "OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL"
    ):
        k += 1
    if not (k < len(toks) and (toks[k].is_word("TABLE") or toks[k].is_word("MATERIALIZED"))):
        return None
    if any(
        toks[j].is_word("WITH") and toks[j + 1].is_word("NO") and toks[j + 2].is_word("DATA")
        for j in range(len(toks) - 2)
    ):
        return None
    for j in outside_parentheses(toks, k):
        if toks[j].is_word("AS"):
            return j + 1
        if toks[j].is_word("SELECT"):
            return j  # MySQL: CREATE TABLE t [(…)] SELECT …
    return None


def _handler_body(toks: Sequence[Token], j: int) -> int:
    """Where the statement of ``HANDLER FOR cond[, cond …]`` starts, the conditions read from ``j``."""
    n = len(toks)
    while j < n:
        if toks[j].is_word("SQLSTATE"):
            j += 3 if j + 1 < n and toks[j + 1].is_word("VALUE") else 2
        elif toks[j].is_word("NOT"):
            j += 2  # NOT FOUND
        else:
            j += 1  # SQLEXCEPTION, SQLWARNING, an error number or a condition's name
        if not (j < n and toks[j].text == ","):
            return j
        j += 1
    return n


def _prepared(toks: Sequence[Token], k: int, close: list[int]) -> int | None:
    """The command of ``PREPARE name [(types)] AS <command>`` at ``k``: what EXECUTE runs."""
    j = k + 2
    if j < len(toks) and toks[j].text == "(":
        j = close[j] + 1
    if j + 1 < len(toks) and toks[j].is_word("AS"):
        return j + 1
    return None


def _procedural_query(toks: Sequence[Token], k: int) -> int | None:
    """The query of ``FOR … IN <query>``, ``OPEN c FOR <query>`` or ``RETURN QUERY <query>`` at ``k``."""
    n = len(toks)
    j: int | None = None
    if toks[k].is_word("FOR"):
        j = k + 1
        while j < n and (toks[j].kind in (WORD, IDENT) or toks[j].text == ",") and not toks[j].is_word("IN"):
            j += 1
        if j < n and toks[j].is_word("IN"):
            j += 1
    elif toks[k].is_word("OPEN"):
        j = k + 2
        while j < n and toks[j].is_word("NO", "SCROLL"):
            j += 1
        if not (j < n and toks[j].is_word("FOR")):
            return None
        j += 1
    elif toks[k].is_word("RETURN") and k + 1 < n and toks[k + 1].is_word("QUERY"):
        j = k + 2
    if j is not None and j < n and (toks[j].is_word(*_QUERY_WORDS) or toks[j].is_word("EXECUTE")):
        return j
    return None
