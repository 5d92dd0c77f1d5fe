"""The scan engine: a migration's text in, the risky commands it holds out.

Only statements that hold a risky keyword in code (not in a literal or comment) are tokenized
(see ``lexer``), so a history of thousands of ``CREATE TABLE`` statements, or a seed-data file
whose strings say "delete", costs one regex pass. Routine bodies (triggers, procedures, rules)
are kept whole and not scanned — they run later, not when the migration does — unless the same
file calls the function or procedure. ``DO`` blocks run at migration time, so their bodies are
scanned like a file, and so is SQL that a body runs from a literal (``EXECUTE 'DROP …'``). Every
step costs time in proportion to the text it reads: nothing is re-read per statement or per
finding.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import stat
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pytest_promotion.migrations.dialects import MYSQL, Dialect, dialect_for, mysql_modes
from pytest_promotion.migrations.dynamic import assigned_literals, dynamic_sql, joined_literals, variable_at
from pytest_promotion.migrations.lexer import (
    DOLLAR,
    IDENT,
    STRING,
    WORD,
    Token,
    Tokenizer,
    code_stretches,
    first_opaque,
    opaque_search,
    statement_spans,
    tokenize,
)
from pytest_promotion.migrations.name_search import NameSearch, alternation
from pytest_promotion.migrations.rules import RULES, Rule, select_rules
from pytest_promotion.migrations.statement import (
    FileContext,
    Routine,
    Statement,
    definition_query,
    holds_one_command,
    matching_parens,
    name_key,
    outside_parentheses,
)

MIGRATION_FILE = "migration.sql"

# Between the words of a routine's head: whitespace or comments (``CREATE /* … */ FUNCTION``).
_GAP = r"(?:\s|--[^\n]*+|/\*(?:[^*]|\*(?!/))*+\*/)++"
_ROUTINE_NAME = re.compile(
    rf"(?:\s|--[^\n]*|/\*(?:[^*]|\*(?!/))*\*/)*+CREATE{_GAP}(?:OR{_GAP}(?:REPLACE|ALTER){_GAP})?"
    rf"(?:DEFINER\s*=\s*\S+{_GAP})?(?:FUNCTION|PROCEDURE|PROC)\b",
    re.IGNORECASE | re.DOTALL,
)
_ROUTINE_HEAD = re.compile(
    # Possessive: leading comments are skipped once, never re-split (no backtracking blow-up).
    rf"(?:\s|--[^\n]*|/\*(?:[^*]|\*(?!/))*\*/)*+CREATE{_GAP}(?:OR{_GAP}(?:REPLACE|ALTER){_GAP})?"
    rf"(?:(?:TEMP|TEMPORARY|CONSTRAINT|DEFINER\s*=\s*\S+){_GAP})*(?:TRIGGER|FUNCTION|PROCEDURE|PROC|RULE|EVENT)\b",
    re.IGNORECASE | re.DOTALL,
)
_ROUTINE_HEAD_TRIGGER = re.compile(
    rf"(?:\s|--[^\n]*|/\*(?:[^*]|\*(?!/))*\*/)*+CREATE{_GAP}(?:OR{_GAP}REPLACE{_GAP})?(?:CONSTRAINT{_GAP})?TRIGGER\b",
    re.IGNORECASE | re.DOTALL,
)
"""``CREATE [OR REPLACE] [CONSTRAINT] TRIGGER`` at a statement's start."""
# A function or procedure created anywhere in a text (read on the upper-cased text, case-sensitively,
# the look-behind after the first letter so that sre scans for "C" in C): a step of a body that runs
# now (``BEGIN CREATE FUNCTION …`` in a DO block) creates it as much as the file does.
_CREATES_ROUTINE = re.compile(
    rf"C(?<![\w$]C)REATE{_GAP}(?:OR{_GAP}(?:REPLACE|ALTER){_GAP})?(?:DEFINER\s*=\s*\S+{_GAP})?"
    r"(?:FUNCTION|PROCEDURE|PROC)(?![\w$])",
    re.DOTALL,
)
# Statements that name a routine without running it (DROP FUNCTION f(), COMMENT ON FUNCTION f()).
_NAMES_ROUTINES = ("DROP", "COMMENT", "GRANT", "REVOKE", "SECURITY")
"""Commands that name a routine without running it (``ALTER`` only of a routine: :func:`_names_routines`)."""
_ROUTINE_OBJECTS = ("FUNCTION", "PROCEDURE", "ROUTINE", "PROC", "AGGREGATE")
_RUNS_QUOTED = re.compile(r"(?<![\w$])(?:DO|EXEC(?:UTE)?|PREPARE)(?![\w$])", re.IGNORECASE)
# Read on the upper-cased text, case-sensitively: one fast pass per file.
# A rename moves a scratch table's name: RENAME TO/AS, MySQL's RENAME TABLE (not RENAME COLUMN …).
_SCRATCH_TRIGGER = re.compile(r"(?:TEMP(?:ORARY)?|AS|SELECT|RENAME\s+(?:TO|AS|TABLE))(?![A-Z0-9_$])")
_CONTEXT_TRIGGER = re.compile(r"(?:CREATE|DROP|VALIDATE|INTO|RENAME\s+(?:TO|AS|TABLE))(?![A-Z0-9_$])")
_NOT_BLOCKS = frozenset({"TRAN", "TRANSACTION", "WORK", "DISTRIBUTED"})
_END_OF_STATEMENT_BLOCKS = frozenset({"IF", "LOOP", "WHILE", "REPEAT", "FOR"})
_HEAD_CHARS = 256


@dataclass(frozen=True, order=True)
class Finding:
    """One risky command in one migration, as reported and as recorded in the baseline."""

    migration: str
    """The migration's folder name, e.g. ``20240105093000_init``."""
    line: int
    """1-based line where the command (or ALTER TABLE action) starts."""
    rule: str
    statement: str
    """Normalised text: whitespace, comments and keyword case do not change it."""
    fingerprint: str
    """Short hash of rule and statement: the identity a baseline entry matches."""
    file: str = MIGRATION_FILE
    """The file inside the migration's folder (``ops.json`` for a Prisma 8 package)."""
    where: str = ""
    """Where in that file, beyond the line: a Prisma 8 operation and step, e.g. ``op 2 "…" (id), execute[0]``."""

    @property
    def path(self) -> str:
        """The file, relative to the migrations folder, with forward slashes."""
        return f"{self.migration}/{self.file}"


class MigrationFileError(Exception):
    """A migration file that cannot be scanned; the message says which and what to do."""


def fingerprint(rule: str, statement: str) -> str:
    """Identity of a finding: changes when the statement changes, not when it moves."""
    return hashlib.sha256(f"{rule}\n{statement}".encode()).hexdigest()[:16]


def decode_migration(raw: bytes, path: Path | str) -> str:
    """Text of a migration file; a BOM is dropped, non-UTF-8 bytes are a clear error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise MigrationFileError(
            f"{path}: is not valid UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}). "
            "Prisma reads migrations as UTF-8: re-save the file as UTF-8, then run again."
        ) from None
    return text.removeprefix("\ufeff")


@dataclass(frozen=True)
class _Prefilter:
    """Where a rule could fire: rule keywords found in one fast pass over upper-cased text."""

    words: re.Pattern[str]
    refine: dict[str, tuple[re.Pattern[str], ...] | None]
    chars: frozenset[str] | None
    """Every character the keywords are made of: a keyword match never spans any other (None:
    a keyword is not a plain word, and nothing is known)."""

    def marks(self, upper: str, start: int, end: int) -> _Marks:
        """The keywords of ``upper[start:end]`` (upper-cased text) that pass their refinement."""
        return _Marks(self, upper, start, end)


_RESTART_GAP = 4096
"""Past this many characters without a query, :class:`_Marks` starts a new search at the query."""


class _Marks:
    """The pre-filter marks of one range, found lazily, in order, as the scan asks for them.

    The scan asks with positions that never decrease, so one pass of the keyword regex serves
    every statement of the range, however many there are, and no list of marks is kept. Across
    a long stretch the scan skips (a routine body that is only created, not scanned) the search
    starts again at the query: the same marks come out, as no keyword match can straddle a
    character that no keyword holds.
    """

    __slots__ = ("_found", "_matches", "_prefilter", "_searched", "_upper", "end")

    def __init__(self, prefilter: _Prefilter, upper: str, start: int, end: int) -> None:
        self._prefilter, self._upper, self.end = prefilter, upper, end
        self._matches = prefilter.words.finditer(upper, start, end)
        self._searched = start  # the search has read up to here
        self._found = start - 1  # the last mark found (``end`` once there are none left)

    def first_from(self, pos: int) -> int:
        """The first mark at or after ``pos`` (``end`` when there is none); ``pos`` never decreases."""
        found = self._found
        if found >= pos:
            return found
        upper, end = self._upper, self.end
        chars = self._prefilter.chars
        if pos - self._searched > _RESTART_GAP and chars is not None and upper[pos - 1] not in chars:
            self._matches = self._prefilter.words.finditer(upper, pos, end)
        refine = self._prefilter.refine
        for m in self._matches:
            at = m.start()
            self._searched = m.end()
            if at < pos or (at > 0 and (upper[at - 1].isalnum() or upper[at - 1] == "_")):
                continue
            narrow = refine[m.group()]
            if narrow is None or (
                narrow[0].match(upper, at, end)
                if len(narrow) == 1
                else any(p.match(upper, at, end) for p in narrow)
            ):
                self._found = at
                return at
        self._searched = self._found = end
        return end

    def any_between(self, s: int, e: int) -> bool:
        """Is there a mark in ``[s, e)`` (``s`` not below any earlier query)?"""
        return self.first_from(s) < e


def upper_same_length(text: str) -> str:
    """``text`` upper-cased, offset for offset (a few characters grow: "ß" -> "SS")."""
    upper = text.upper()
    if len(upper) != len(text):
        upper = "".join(c if len(c.upper()) != 1 else c.upper() for c in text)
    return upper


@cache
def _prefilter(rules: tuple[Rule, ...], dialect: Dialect) -> _Prefilter:
    refine: dict[str, list[re.Pattern[str]] | None] = {}
    for rule in rules:
        keywords = {**rule.keywords, **rule.dialect_keywords.get(dialect.name, {})}
        for word, pattern in keywords.items():
            if pattern is None:
                refine[word] = None
            elif refine.setdefault(word, []) is not None:
                refine[word].append(re.compile(pattern))  # type: ignore[union-attr]
    words = re.compile("(?:" + "|".join(sorted(refine, key=len, reverse=True)) + r")\b")
    chars = frozenset("".join(refine)) if all(re.fullmatch(r"\w+", w) for w in refine) else None
    return _Prefilter(words, {w: None if p is None else tuple(p) for w, p in refine.items()}, chars)


_BLOCK_WORDS = re.compile(r"(?<![\w$])(BEGIN|CASE|END)(?![\w$])(?:(?=\s+(\w+)))?|[()]", re.IGNORECASE)


def _open_blocks(text: str, dialect: Dialect, start: int, end: int, stack: list[str]) -> None:
    """Push the parentheses and BEGIN/CASE … END blocks ``text[start:end]`` opens onto ``stack``;
    pop those it closes.

    Only the code between literals and comments is read, with one regex, so joining a routine of
    any number of statements costs one pass over it. A BEGIN that is a name (a column ``begin``,
    ``NEW.begin``, ``AS begin FROM``) opens nothing, nor does ``BEGIN;`` (a transaction); the END
    of a CASE expression closes it even when an alias follows that reads like ``END LOOP``.
    """
    if _BLOCK_WORDS.search(text, start, end) is None:
        return  # most steps of a routine body: no block word or parenthesis even in literals
    closing_case = False  # the CASE of "END CASE" closes, it does not open
    for lo, hi in code_stretches(text, dialect, start, end):
        for m in _BLOCK_WORDS.finditer(text, lo, hi):
            word = m.group(1)
            if word is None:
                if m.group() == "(":
                    stack.append("(")
                elif stack:
                    stack.pop()
                continue
            word, nxt = word.upper(), (m.group(2) or "").upper()
            if word == "END":
                closing_case = nxt == "CASE"
                if stack and (stack[-1] == "CASE" or nxt not in _END_OF_STATEMENT_BLOCKS):
                    stack.pop()
            elif word == "CASE" and closing_case:
                closing_case = False
            elif word == "CASE":
                stack.append("CASE")
            elif nxt not in _NOT_BLOCKS and not _begin_is_a_name(text, m.start(), m.end(), lo, hi):
                stack.append("BEGIN")


_NAME_BEFORE = frozenset(".,(")
_NAME_AFTER = frozenset(".,)=<>!+-*/|%;")
_WORDS_AROUND_NAMES = frozenset(
    {"SELECT", "DISTINCT", "BY", "WHERE", "WHEN", "AND", "OR", "NOT", "ON", "SET"}
)
_WORDS_AFTER_NAMES = frozenset(
    {"FROM", "AS", "IS", "IN", "AND", "OR", "LIKE", "GLOB", "BETWEEN", "ASC", "DESC", "THEN", "COLLATE"}
)
_WORD_BEFORE = re.compile(r"(\w+)\s*$")
_WORD_AFTER = re.compile(r"\w+")


def _begin_is_a_name(text: str, at: int, past: int, lo: int, hi: int) -> bool:
    """Is the BEGIN at ``text[at:past]`` a name, or ``BEGIN;``, rather than the start of a block?"""
    before = text[max(lo, at - 40) : at].rstrip()
    if before and before[-1] in _NAME_BEFORE:
        return True
    word = _WORD_BEFORE.search(before)
    if word is not None and word.group(1).upper() in _WORDS_AROUND_NAMES:
        return True
    after = text[past : min(hi, past + 40)].lstrip()
    if not after:
        return False
    if after[0] in _NAME_AFTER:
        return True
    following = _WORD_AFTER.match(after)
    return following is not None and following.group().upper() in _WORDS_AFTER_NAMES


def _head_tokens(text: str, dialect: Dialect, start: int, end: int) -> list[Token]:
    """The first few tokens of a statement, without tokenizing a long CREATE TABLE body."""
    limit = start + _HEAD_CHARS
    while True:
        tokens = tokenize(text, dialect, start, min(end, limit))
        if len(tokens) >= 6 or limit >= end:
            return tokens
        limit += limit - start


def _dollar_body(tok: Token) -> tuple[int, int]:
    tag = tok.text[: tok.text.index("$", 1) + 1]
    closed = len(tok.text) >= 2 * len(tag) and tok.text.endswith(tag)
    return tok.start + len(tag), tok.start + len(tok.text) - (len(tag) if closed else 0)


@dataclass(frozen=True)
class _Source:
    """SQL held in string literals (``DO '…'``, ``EXECUTE 'a' || 'b'``), with the way back to the file.

    ``text`` is the literals' content with quotes undoubled; ``marks`` maps offsets in it to file
    offsets: each ``(offset in text, offset in file)`` starts a stretch copied as is.
    """

    text: str
    marks: tuple[tuple[int, int], ...]

    def file_offset(self, offset: int) -> int:
        k = bisect_right(self.marks, (offset, 1 << 62)) - 1
        here, there = self.marks[max(k, 0)]
        return there + offset - here


_ESCAPED_QUOTE = re.compile(
    r"''|\\(?:x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL
)
_GAP_RE = r"(?:\s|--[^\n]*\n|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/)"
_SPELLED_SQL = re.compile(rf"'(?:(?<=E')(?:[^'\\]|'')*\\|{_GAP_RE}*(?:\|\||\+)|{_GAP_RE}+\w?')")
"""Where quoted SQL may spell a keyword that the text does not hold as such (upper-cased text):
an ``E'…'`` literal with a backslash (its escapes), or literals joined into one string:
``'DR' || 'OP TABLE x'`` for EXECUTE, SQL Server's ``+``, or written one after another, as
PostgreSQL joins constants continued over lines. A match inside another literal or a name only
makes a statement be read, never a finding. One pattern, so one pass, that
starts with the quote (a search for ``E'`` would stop at every E)."""
_MYSQL_ESCAPED = re.compile(r"'(?=(?:[^'\\]|'')*\\)|\"(?=(?:[^\"\\]|\"\")*\\)")
"""MySQL: a literal with a backslash, whose escapes may spell a keyword (``PREPARE s FROM 'DR\\OP …'``).
Only the quote is matched: a match from the closing quote of one literal must not swallow the
opening quote of the next (a ``"…"`` string's text may hold ``'``)."""


_RUNS_STRING = (
    re.compile(r"EXEC(?<![\w$]EXEC)(?:UTE)?(?![\w$])"),
    re.compile(r"PREPARE(?<![\w$]PREPARE)(?![\w$])"),
)
"""EXECUTE, EXEC and PREPARE run a string: one held in a variable (``EXECUTE q``, ``EXEC(@s)``,
``FROM @q``) is read in the literals the variable was assigned, so the statement is read."""


def _spelled_sql(upper: str, start: int, end: int, dialect: Dialect) -> list[int]:
    """Offsets in ``upper[start:end]`` where quoted SQL may spell a keyword or run, in order.

    The words that run a string are looked for only where ``str.find`` sees them at all (a
    regex would stop at every E of the text).
    """
    found = [m.start() for m in _SPELLED_SQL.finditer(upper, start, end)]
    extra = False
    if dialect.hash_comments:
        found.extend(m.start() for m in _MYSQL_ESCAPED.finditer(upper, start, end))
        extra = True
    for word, pattern in zip(("EXEC", "PREPARE"), _RUNS_STRING, strict=True):
        if upper.find(word, start, end) >= 0:
            found.extend(m.start() for m in pattern.finditer(upper, start, end))
            extra = True
    if extra:
        found.sort()
    return found


_CONTROL = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_MYSQL_ESCAPE = re.compile(r"''|\"\"|\\.", re.DOTALL)
_MYSQL_CONTROL = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "%": "\\%", "_": "\\_"}


def _unescape_mysql(sequence: str) -> str:
    """What MySQL reads for a doubled quote or one backslash escape (``\\%`` and ``\\_`` stay as written)."""
    if sequence in ("''", '""'):
        return sequence[0]
    return _MYSQL_CONTROL.get(sequence[1], sequence[1])


def _unescape(sequence: str) -> str:
    """What PostgreSQL reads for ``''`` or one backslash escape of an ``E'…'`` literal."""
    if sequence == "''":
        return "'"
    kind, digits = sequence[1], sequence[2:]
    try:
        if kind in "xuU" and digits:
            return chr(int(digits, 16))
        if kind in "01234567":
            return chr(int(sequence[1:], 8))
    except (ValueError, OverflowError):  # not a code point: PostgreSQL refuses the literal
        return sequence
    return _CONTROL.get(kind, kind)


def _literal_source(literals: Sequence[Token], backslashes: bool = False) -> _Source:
    """The SQL that a literal, or a concatenation of literals, holds.

    ``backslashes``: MySQL's literals, where a backslash escapes the next character.
    """
    parts: list[str] = []
    marks: list[tuple[int, int]] = []
    size = 0
    for tok in literals:
        if tok.kind is DOLLAR:
            body_start, body_end = _dollar_body(tok)
            marks.append((size, body_start))
            parts.append(tok.text[body_start - tok.start : body_end - tok.start])
            size += body_end - body_start
            continue
        escapes = tok.text[:1] in "Ee"
        quote = next(k for k, c in enumerate(tok.text) if c in "'\"")
        doubled = tok.text[quote] * 2
        if backslashes:
            escapes = True
        body = (
            tok.text[quote + 1 : -1]
            if tok.text.endswith("'") and len(tok.text) > quote + 1
            else tok.text[quote + 1 :]
        )
        origin = tok.start + quote + 1
        pos = 0
        for m in (_MYSQL_ESCAPE if backslashes else _ESCAPED_QUOTE).finditer(body):
            if m.group() != doubled and (not escapes or m.group() in ("''", '""')):
                continue
            marks.append((size, origin + pos))
            piece = body[pos : m.start()] + (_unescape_mysql if backslashes else _unescape)(m.group())
            parts.append(piece)
            size += len(piece)
            pos = m.end()
        marks.append((size, origin + pos))
        parts.append(body[pos:])
        size += len(body) - pos
    return _Source("".join(parts), tuple(marks))


_Hit = tuple[int, Rule, str]
_Origin = tuple[_Source, ...]
"""The literals a text was read from, innermost first: each maps offsets one level outwards."""


@dataclass(frozen=True)
class _Place:
    """A text the scan reads (the file, or SQL held in literals), with its way back to the file."""

    text: str
    upper: str
    origin: _Origin


@dataclass
class _Scan:
    """One file's scan: the rules, the file context, and the routines it has already entered."""

    dialect: Dialect
    rules: tuple[Rule, ...]
    ctx: FileContext
    context: re.Pattern[str] | None
    """Statements worth remembering for later ones (None: no selected rule reads the context)."""
    calls: NameSearch | None = None
    """Names of routines created so far (and tables with triggers on them), for finding the
    statements that may run them."""
    calls_upper: NameSearch | None = None
    """The same names upper-cased, without the look-behind (None: a name is not ASCII)."""
    calls_version: int = 0
    """Counts the names added to :attr:`calls`: a scan in progress sees when it must search anew."""
    longest_name: int = 0
    indexed: set[str] = field(default_factory=set)
    """The names :attr:`calls` holds."""
    assignments: dict[tuple[int, int, str], list[tuple[Token, ...]]] = field(default_factory=dict)
    """(text, range start, variable) -> the literals the variable is assigned there."""
    ran_assigned: set[tuple[int, int]] = field(default_factory=set)
    """(text, offset) of each assigned literal already read as the SQL a variable runs."""
    watched: re.Pattern[str] | None = None
    """Enum values added so far, for finding the statements that use them."""
    watched_count: int = 0
    running: set[str] = field(default_factory=set)
    """Routines whose bodies are being scanned now: re-creating one of these from its own body does
    not make it new (its call there is the one being scanned)."""
    places: dict[str, _Place] = field(default_factory=dict)
    """Where each routine of ``ctx.routines`` was created: its offsets are offsets in that text."""
    readers: dict[tuple[frozenset[str] | str, tuple[bool, ...]], tuple[Rule, ...]] = field(
        default_factory=dict
    )
    """The rules to read a statement, by its command-start words and which ``reads_all_when`` hold."""
    conditional: tuple[Callable[[FileContext], bool], ...] = field(init=False)
    """The ``reads_all_when`` conditions of the selected rules that have one."""

    prefilter: _Prefilter = field(init=False)
    opaque: Callable[[str, int, int], re.Match[str] | None] = field(init=False)
    """Finds the next literal, identifier, comment or dollar quote in a span (see ``lexer``)."""

    def __post_init__(self) -> None:
        self.conditional = tuple(r.reads_all_when for r in self.rules if r.reads_all_when is not None)
        self.prefilter = _prefilter(self.rules, self.dialect)
        self.opaque = opaque_search(self.dialect)

    def hits(
        self,
        text: str,
        upper: str,
        start: int,
        end: int,
        procedural: bool,
        out: list[_Hit],
        origin: _Origin,
        split: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        """Append ``(file offset, rule, statement)`` for every risky command in ``text[start:end]``.

        ``upper`` is ``text`` upper-cased (:func:`upper_same_length`); ``origin`` leads from
        offsets in ``text`` to offsets in the file (empty: ``text`` is the file). The hits are
        appended, not yielded: a DO body's hits would otherwise pass through a generator per
        level of nesting each. ``split``: the range's statement spans, when they are known
        already (a BEGIN … END body, split with the file it was created in).
        """
        dialect, ctx, context = self.dialect, self.ctx, self.context
        marks = self.prefilter.marks(upper, start, end)
        # A statement whose quoted SQL may spell a keyword (E'…' escapes, joined literals) is read.
        escapes = _spelled_sql(upper, start, end, dialect)
        if not (
            marks.any_between(start, end)
            or (self.calls is not None and self.calls.search(text, start, end))
            or (self.watched is not None and self.watched.search(text, start, end))
            or _CREATES_ROUTINE.search(upper, start, end)
            or escapes
        ):
            # No rule keyword, no call of a routine made here, no use of a value added here, and
            # no routine created here (whose body may call one that the file creates later).
            return
        # Where routines are created: a statement holding one is read even with no rule keyword,
        # so that SQL it runs now (a DO body, EXECUTE of a literal) remembers what it creates.
        creations = [m.start() for m in _CREATES_ROUTINE.finditer(upper, start, end)]
        creation, last_creation = 0, len(creations)
        context_marks = [] if context is None else [m.start() for m in context.finditer(upper, start, end)]
        name = dialect.name
        append = out.append
        # Split first (one tight pass), and let go of each span once read: a body called from
        # the file's last statement is scanned while the file's own spans are already gone.
        spans = deque(statement_spans(text, dialect, start, end) if split is None else split)
        next_span = spans.popleft
        opaque = self.opaque
        tokens = Tokenizer(text, dialect, end).tokens
        watched_re = self.watched
        calls_re, version, names = self._name_search(text, upper, end)
        block_words = _BlockWords(text, upper, end)
        while spans:
            s, e = next_span()
            # The head's first word, found in C before the regex tries it (most steps hold none).
            if upper.find("CREATE", s, e) >= 0 and _ROUTINE_HEAD.match(text, s, e):
                # A body of BEGIN … END holds ';' of its own: keep the definition whole. It runs
                # only if this file calls it, so it is remembered, not scanned; the spans it was
                # joined from are kept for the call, which reads the same statements.
                blocks: list[str] = []
                _open_blocks(text, dialect, s, e, blocks)
                joined = [(s, e)]
                while blocks and spans:
                    span = next_span()
                    joined.append(span)
                    following = span[1]
                    if block_words.first_from(e) < following:  # else it opens and closes no block
                        _open_blocks(text, dialect, e, following, blocks)
                    e = following
                if blocks and len(joined) > 1:
                    # Never closed: the block words were misread, no body runs to the end of the
                    # range. The definition is its first statement; the rest is read as usual.
                    spans.extendleft(reversed(joined[1:]))
                    joined, e = joined[:1], joined[0][1]
                self._remember_routine(text, upper, s, e, origin, joined, out)
                if self.calls_version != version:
                    calls_re, version, names = self._name_search(text, upper, end)
                continue
            # The usual case inline: the first keyword comes before any literal or comment.
            first = marks.first_from(s)
            if first >= e:
                candidate = False
            else:
                quoted = opaque(text, s, e)
                candidate = (quoted is None or first < quoted.start()) or _has_mark_in_code(
                    text, dialect, s, e, marks
                )
            if last_creation:
                while creation < last_creation and creations[creation] < s:
                    creation += 1
                creates = creation < last_creation and creations[creation] < e
                candidate = candidate or creates
            else:
                creates = False
            if escapes:
                candidate = candidate or _any_between(escapes, s, e)
            ascii = text[s:e].isascii()
            if calls_re is None:
                calls = False
            elif ascii and names.quick is not None:
                # One search of the range serves all its statements (a called body of thousands
                # of them names no routine in most); a name running past the span is read again.
                at, past = names.first_from(s, e)
                calls = at < e and (past <= e or self._names_routine(text, upper, s, e, ascii))
            else:
                calls = self._names_routine(text, upper, s, e, ascii)
            called = calls or (watched_re is not None and watched_re.search(text, s, e) is not None)
            if candidate or called:
                one = holds_one_command(text, upper, s, e, ascii)
                stmt = _statement(tokens(s, e), procedural, name, one)
                if creates and not one:
                    inner = _routine_step(text, stmt, e)
                    if inner is not None:
                        # ``BEGIN CREATE FUNCTION …``: the steps before the definition are read
                        # here, the definition from its CREATE on, next, as one at a span's start.
                        k, at = inner
                        spans.appendleft((at, e))
                        e = at
                        ascii = text[s:e].isascii()
                        one = holds_one_command(text, upper, s, e, ascii)
                        stmt = _statement(stmt.tokens[:k], procedural, name, one)
            elif context_marks and _any_between(context_marks, s, e):
                stmt = Statement(_head_tokens(text, dialect, s, e), procedural, name)
            else:
                continue
            if candidate or called:
                # Every selected rule reads a statement that any of them may fire on (a keyword
                # another rule's pre-filter let through can still be one of this rule's commands),
                # unless its command starts hold none of the words the rule's commands start with.
                for rule in self._readers(stmt):
                    off = rule.off
                    for hit in rule.check(stmt, ctx):
                        if hit.form not in off:
                            offset = hit.offset
                            for source in origin:
                                offset = source.file_offset(offset)
                            append((offset, rule, hit.statement))
                # A call is found by name in the text; a name that only case-folding makes one
                # (non-ASCII) is looked for among the tokens anyway.
                calls = calls or not ascii
                toks = stmt.tokens
                if (
                    _runs_inner(stmt, calls)
                    if calls or not one
                    # One command: only its first word can be DO or EXECUTE (then it is no CREATE).
                    else toks and toks[0].kind is WORD and toks[0].text.upper() in _RUNS_INNER
                ):
                    self._inner(text, upper, stmt, calls, out, origin, (start, end))
                    if self.calls_version != version:  # the inner SQL created routines
                        calls_re, version, names = self._name_search(text, upper, end)
                if len(ctx.added_enum_values) != self.watched_count:
                    self.watched_count = len(ctx.added_enum_values)
                    self.watched = re.compile("|".join(re.escape(v) for v in sorted(ctx.added_enum_values)))
                watched_re = self.watched
            if context is not None:
                ctx.observe(stmt)
                while ctx.renamed_triggers:  # a renamed table brings its triggers: search its new name
                    self._index_name(ctx.renamed_triggers.pop())
                if self.calls_version != version:
                    calls_re, version, names = self._name_search(text, upper, end)

    def _name_search(self, text: str, upper: str, end: int) -> tuple[NameSearch | None, int, _Names]:
        """The names made so far, their version, and a fresh lazy search of them up to ``end``."""
        return self.calls, self.calls_version, _Names(self.calls_upper, text, upper, end, self.longest_name)

    def _names_routine(self, text: str, upper: str, s: int, e: int, ascii: bool) -> bool:
        """Does ``text[s:e]`` name a routine created so far (as :attr:`calls` finds it)?

        On ASCII text with ASCII names, a case-sensitive search of the upper-cased text finds
        the same, and one that starts with the name's letters runs a fast literal scan in C
        (a look-behind first would be tried at every character): the character before (``\\w``
        is ``isalnum`` or ``_``) is checked here, and the search moves on by one character when
        it fails.
        """
        quick = self.calls_upper
        if quick is None or not ascii:
            return self.calls is not None and self.calls.search(text, s, e) is not None
        pos = s
        while (m := quick.search(upper, pos, e)) is not None:
            at = m.start()
            before = text[at - 1] if at else ""  # as written: it may lie before the ASCII span
            if not (before.isalnum() or before in ("_", "$")):
                return True
            pos = at + 1
        return False

    def _readers(self, stmt: Statement) -> tuple[Rule, ...]:
        """The selected rules that must read ``stmt``, in selection order (see :attr:`Rule.starts`)."""
        toks = stmt.tokens
        words: frozenset[str] | str
        # One command (the usual case): it starts at the first token, and the starts need no pass.
        starts = (0,) if stmt.one_command and toks else tuple(stmt.command_starts())
        if len(starts) == 1:
            tok = toks[starts[0]]
            words = tok.text.upper() if tok.kind is WORD else ""
        else:
            words = frozenset(toks[i].text.upper() for i in starts if toks[i].kind is WORD)
        ctx, conditional = self.ctx, self.conditional
        if not conditional:
            key: tuple[frozenset[str] | str, tuple[bool, ...]] = (words, ())
        elif len(conditional) == 1:
            key = (words, (conditional[0](ctx),))
        else:
            key = (words, tuple(holds(ctx) for holds in conditional))
        readers = self.readers.get(key)
        if readers is None:
            readers = tuple(rule for rule in self.rules if rule.reads(words, self.ctx))
            if len(self.readers) < 4096:  # bounded: procedural steps may start with any word
                self.readers[key] = readers
        return readers

    def _inner(
        self,
        text: str,
        upper: str,
        stmt: Statement,
        calls: bool,
        out: list[_Hit],
        origin: _Origin,
        within: tuple[int, int],
    ) -> None:
        """SQL that the statement runs now: DO bodies, EXECUTE of literals, routines it calls.

        ``calls``: the statement's text may name a routine created earlier in the file.
        """
        toks = stmt.tokens
        if not toks:
            return  # a statement of nothing but comments names no routine it could call
        postgres = self.dialect.dollar_quotes
        first = 0
        if stmt.is_definition:
            if postgres and _trigger_head(toks):  # a step of a body: BEGIN CREATE TRIGGER …
                self._remember_trigger(
                    toks, _Place(text, upper, origin), toks[-1].start + len(toks[-1].text), []
                )
                return
            # CREATE TABLE … AS and CREATE MATERIALIZED VIEW … AS run their query now.
            query = definition_query(toks)
            if query is None:
                return
            first = query
        for i in stmt.command_starts():
            tok = toks[i]
            if tok.is_word("DO") and postgres:
                body_at = next((k for k in range(i + 1, len(toks)) if toks[k].kind in (DOLLAR, STRING)), None)
                language = [t.upper for t in toks[i + 1 :] if t.kind is WORD]
                procedural = "LANGUAGE" not in language or "PLPGSQL" in language
                if body_at is not None:
                    # 'a'<newline>'b' is one constant to PostgreSQL: the body is all of them.
                    body = (
                        [toks[body_at]]
                        if toks[body_at].kind is DOLLAR
                        else joined_literals(toks, body_at, "")[0]
                    )
                    self._run_literals(text, upper, body, procedural, out, origin)
        for found in dynamic_sql(stmt, self.dialect):
            inner_procedural = stmt.procedural and not postgres  # a T-SQL batch; one PL/pgSQL command
            if found.literals is not None:
                self._run_literals(
                    text, upper, found.literals, inner_procedural, out, origin, found.backslashes
                )
            elif found.variable is not None:
                for literals in self._assigned(text, found.variable, within):
                    if (id(text), literals[0].start) in self.ran_assigned:
                        continue  # another EXECUTE of the same variable: read once
                    self.ran_assigned.add((id(text), literals[0].start))
                    self._run_literals(
                        text, upper, literals, inner_procedural, out, origin, found.backslashes
                    )
        if calls and self.calls is not None and not _names_routines(toks, 0):
            # A step that drops, alters, comments on or grants a routine names it without
            # calling it, as such a statement does (a body's step after BEGIN or THEN).
            uncalled = _not_calls(toks, sorted({0, *stmt.command_starts()}))
            for k in range(first, len(toks)):
                tok = toks[k]
                if tok.kind not in (WORD, IDENT) or uncalled[k]:
                    continue
                name = name_key(tok)
                routine = self.ctx.routines.get(name)
                if routine is None or name in self.ctx.called or name in self.running:
                    continue
                nxt = toks[k + 1] if k + 1 < len(toks) else None
                prev = _word_before_name(toks, k)
                if prev is not None and prev.is_word("FUNCTION", "PROCEDURE", "ROUTINE", "PROC"):
                    continue  # GRANT EXECUTE ON FUNCTION f(), a trigger's EXECUTE FUNCTION f()
                if (nxt is not None and nxt.text == "(") or (
                    prev is not None and prev.is_word("CALL", "EXEC", "EXECUTE")
                ):
                    self._run_routine(name, out)
        if calls and self.ctx.triggers:
            # A write of a table with a trigger created here runs the trigger's routine.
            starts = sorted({0, *stmt.command_starts()})
            for i, end in zip(starts, [*starts[1:], len(toks)], strict=True):
                for table, events in _written(stmt, i, end):
                    for fired_by, name in self.ctx.triggers.get(table, ()):
                        if events & fired_by:
                            self._run_routine(name, out)

    def _assigned(self, text: str, variable: str, within: tuple[int, int]) -> list[tuple[Token, ...]]:
        """The literals ``variable`` is assigned in the range ``within`` (every one, in any order:
        a loop may run a later assignment before a later EXECUTE)."""
        start, end = within
        key = (id(text), start, variable.casefold())
        found = self.assignments.get(key)
        if found is None:
            code = list(code_stretches(text, self.dialect, start, end))
            lows = [lo for lo, _ in code]

            def in_code(at: int) -> bool:
                k = bisect_right(lows, at) - 1
                return k >= 0 and at < code[k][1]

            name = re.compile(r"(?<![\w$@])" + re.escape(variable) + r"(?![\w$])", re.IGNORECASE)
            places = (m.start() for m in name.finditer(text, start, end) if in_code(m.start()))
            found = [
                literals
                for _, literals in assigned_literals(text, self.dialect, variable, places)
                if literals
            ]
            self.assignments[key] = found
        return found

    def _run_routine(self, name: str, out: list[_Hit]) -> None:
        """Scan the body of routine ``name`` as it runs now (once per definition)."""
        routine = self.ctx.routines.get(name)
        if routine is None or name in self.ctx.called or name in self.running:
            return
        self.ctx.called.add(name)
        # The body is read in the text the routine was created in (the file, or the string a DO
        # block was given as), not in the text of the call.
        where = self.places[name]
        self.running.add(name)
        try:
            if routine.literal is not None:
                self._run_literals(
                    where.text, where.upper, routine.literal, routine.procedural, out, where.origin
                )
            else:
                self.hits(
                    where.text,
                    where.upper,
                    routine.start,
                    routine.end,
                    routine.procedural,
                    out,
                    where.origin,
                    routine.spans,
                )
        finally:
            self.running.discard(name)

    def _remember_trigger(
        self, toks: Sequence[Token], place: _Place, e: int, joined: list[tuple[int, int]]
    ) -> None:
        """Note a trigger: its table, its events, and what it runs.

        PostgreSQL's ``EXECUTE FUNCTION f()`` runs a routine (noted only when ``f`` was created
        here: no other body can be read); MySQL's and SQLite's triggers hold their own body,
        after ``FOR EACH ROW`` (MySQL, and ``FOLLOWS|PRECEDES other``) or from ``BEGIN``.
        """
        events: set[str] = set()
        table: str | None = None
        k = 0
        while k < len(toks) and table is None:
            tok = toks[k]
            if tok.is_word("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
                events.add(tok.text.upper())
            elif tok.is_word("ON") and k + 1 < len(toks):
                k = _last_name_part(toks, k + 1)
                table = name_key(toks[k])
                self._index_written(toks[k])
            k += 1
        body: int | None = None
        if self.dialect.name == "sqlserver":  # ON table {AFTER|INSTEAD OF} INSERT, UPDATE AS body
            while k < len(toks) and not (toks[k].is_word("AS") and not toks[k - 1].is_word("EXECUTE")):
                if toks[k].is_word("INSERT", "UPDATE", "DELETE"):
                    events.add(toks[k].text.upper())
                k += 1
            body = k + 1 if k + 1 < len(toks) else None
        elif not self.dialect.dollar_quotes:
            body = _trigger_body(toks, k)
        if table is None or not events:
            return
        runs: str | None = None
        if self.dialect.dollar_quotes:
            for j in range(k, len(toks) - 2):
                if toks[j].is_word("EXECUTE") and toks[j + 1].is_word("FUNCTION", "PROCEDURE"):
                    name = name_key(toks[_last_name_part(toks, j + 2)])
                    runs = name if name in self.ctx.routines else None
                    break
        elif body is not None:
            start = toks[body].start
            runs = f"\x00trigger {len(self.ctx.routines)}"  # never a name in SQL text
            routine = Routine(start, e, True, None, _body_spans(joined, start))
            self._store_routine(runs, routine, place.text, place.upper, place.origin)
        if runs is None:
            return
        self.ctx.triggers.setdefault(table, []).append((frozenset(events), runs))
        self._index_name(table)

    def _run_event(
        self, toks: Sequence[Token], place: _Place, e: int, joined: list[tuple[int, int]], out: list[_Hit]
    ) -> None:
        """Scan the body of ``CREATE EVENT … DO body`` as a routine that runs now."""
        body = next((j + 1 for j in outside_parentheses(toks, 1) if toks[j].is_word("DO")), len(toks))
        if body >= len(toks):
            return
        start = toks[body].start
        key = f"\x00event {len(self.ctx.routines)}"  # never a name in SQL text
        routine = Routine(start, e, True, None, _body_spans(joined, start))
        self._store_routine(key, routine, place.text, place.upper, place.origin)
        self._run_routine(key, out)

    def _remember_rule(self, toks: Sequence[Token], place: _Place, e: int) -> None:
        """Note ``CREATE RULE … AS ON event TO table DO [ALSO|INSTEAD] actions``: they run with the event."""
        event = table = None
        for k, tok in enumerate(toks):
            if event is None and tok.is_word("ON") and k + 1 < len(toks):
                event = toks[k + 1].text.upper()
            elif table is None and event is not None and tok.is_word("TO") and k + 1 < len(toks):
                table = name_key(toks[_last_name_part(toks, k + 1)])
                self._index_written(toks[_last_name_part(toks, k + 1)])
            elif table is not None and event is not None and tok.is_word("DO"):
                j = k + 1
                while j < len(toks) and toks[j].is_word("ALSO", "INSTEAD"):
                    j += 1
                if j >= len(toks) or toks[j].is_word("NOTHING"):
                    return
                start, end = toks[j].start, e
                if toks[j].text == "(":
                    close = matching_parens(toks)[j]
                    start = toks[j + 1].start if j + 1 < len(toks) else e
                    end = toks[close].start if close < len(toks) else e
                key = f"\x00rule {len(self.ctx.routines)}"  # never a name in SQL text
                routine = Routine(start, end, False, None, None)
                self._store_routine(key, routine, place.text, place.upper, place.origin)
                self.ctx.triggers.setdefault(table, []).append((frozenset({event}), key))
                self._index_name(table)
                return

    def _run_literals(
        self,
        text: str,
        upper: str,
        literals: Sequence[Token],
        procedural: bool,
        out: list[_Hit],
        origin: _Origin,
        backslashes: bool = False,
    ) -> None:
        if len(literals) == 1 and literals[0].kind is DOLLAR:
            body_start, body_end = _dollar_body(literals[0])
            self.hits(text, upper, body_start, body_end, procedural, out, origin)
            return
        source = _literal_source(literals, backslashes)
        inner = source.text
        self.hits(inner, upper_same_length(inner), 0, len(inner), procedural, out, (source, *origin))

    def _remember_routine(
        self,
        text: str,
        upper: str,
        s: int,
        e: int,
        origin: _Origin,
        joined: list[tuple[int, int]],
        out: list[_Hit],
    ) -> None:
        """Note a created function or procedure, to scan its body if the file calls it.

        ``joined``: the statement spans the definition was joined from.
        """
        head = _ROUTINE_NAME.match(text, s, e)
        if head is None:
            # A trigger or rule runs its routine or its own body when a later statement writes its table.
            if (
                self.dialect.dollar_quotes
                and not self.ctx.routines
                and _ROUTINE_HEAD_TRIGGER.match(text, s, e)
            ):
                return  # a PostgreSQL trigger runs a routine, and none was made here to read
            toks = tokenize(text, self.dialect, s, e)
            kind = _definition_kind(toks)
            if kind == "TRIGGER":
                self._remember_trigger(toks, _Place(text, upper, origin), e, joined)
            elif kind == "RULE" and self.dialect.dollar_quotes:
                self._remember_rule(toks, _Place(text, upper, origin), e)
            elif kind == "EVENT" and self.dialect.name == "mysql":
                # An event runs its body unattended: at once, when scheduled AT CURRENT_TIMESTAMP
                # with the scheduler on (MySQL 8's default), else soon. Read it as run now.
                self._run_event(toks, _Place(text, upper, origin), e, joined, out)
            return
        toks = _routine_head(text, self.dialect, head.end(), e)
        if not toks:
            return
        k = _last_name_part(toks, 0)
        name = name_key(toks[k])
        words = [t.upper for t in toks if t.kind is WORD]
        language = words[words.index("LANGUAGE") + 1 :][:1] if "LANGUAGE" in words else []
        procedural = language != ["SQL"]
        at = next(
            (
                j
                for j, t in enumerate(toks)
                if t.kind is DOLLAR or t.is_word("BEGIN") or (t.kind is STRING and toks[j - 1].is_word("AS"))
            ),
            None,
        )
        literal: tuple[Token, ...] | None = None
        spans: list[tuple[int, int]] | None = None
        if at is None and self.dialect.name == "sqlserver":
            # T-SQL: the body is everything after AS, BEGIN … END or not (WITH EXECUTE AS is no body).
            at = next(
                (
                    j + 1
                    for j, t in enumerate(toks[:-1])
                    if t.is_word("AS") and not toks[j - 1].is_word("EXECUTE")
                ),
                None,
            )
            if at is not None:
                start = toks[at].start
                routine = Routine(start, e, True, None, _body_spans(joined, start))
                self._store_routine(name, routine, text, upper, origin)
            return
        if at is None and self.dialect.name == "mysql":
            # MySQL: one statement after the parameters and the characteristics is a body too.
            at = _mysql_body(toks, k + 1)
            if at is not None:
                start = toks[at].start
                self._store_routine(name, Routine(start, e, False, None, None), text, upper, origin)
            return
        if at is None:
            return
        body = toks[at]
        if body.kind is DOLLAR:
            start, end = _dollar_body(body)
        elif body.kind is STRING:
            # 'a'<newline>'b' is one constant to PostgreSQL: the body is all of them.
            literal = tuple(joined_literals(toks, at, "")[0])
            last = literal[-1]
            start, end = body.start, last.start + len(last.text)
        else:  # BEGIN [ATOMIC] … END: the body runs to the end of the definition
            start, end = body.start, e
            procedural = True
            spans = _body_spans(joined, start)
        self._store_routine(name, Routine(start, end, procedural, literal, spans), text, upper, origin)

    def _store_routine(self, name: str, routine: Routine, text: str, upper: str, origin: _Origin) -> None:
        self.ctx.routines[name] = routine
        self.places[name] = _Place(text, upper, origin)
        if name not in self.running:
            self.ctx.called.discard(name)  # re-created: the next call runs the new body
        if not name.startswith("\x00"):  # a trigger's or rule's own body has no name to call it by
            self._index_name(name)

    def _index_written(self, tok: Token) -> None:
        """Index a name also as written: case-folding makes "ß" "ss", which the text does not say."""
        written = tok.text[1:-1] if tok.kind is IDENT else tok.text
        if written.casefold() != written.lower():
            self._index_name(written.lower())

    def _index_name(self, name: str) -> None:
        """Let later statements be searched for ``name``: a routine made here, or a trigger's table."""
        if self.calls is None:
            self.calls = NameSearch(
                lambda names: alternation(names, r"(?<![\w$])", r"(?![\w$])", re.IGNORECASE), str.casefold
            )
            self.calls_upper = NameSearch(lambda names: alternation(names, "", r"(?![\w$])"), _same)
        if name in self.indexed:
            return
        self.indexed.add(name)
        self.calls.add(name)
        if self.calls_upper is not None:
            if name.isascii():
                self.calls_upper.add(name.upper())
            else:
                self.calls_upper = None  # a name that only case-folding makes: the regex decides
        self.longest_name = max(self.longest_name, len(name.upper()))
        self.calls_version += 1


def _same(word: str) -> str:
    return word


_RUNS_INNER = frozenset({"DO", "EXECUTE", "EXEC", "PREPARE"})


class _BlockWords:
    """Where a BEGIN, CASE, END or parenthesis may be in one range, found lazily, in order.

    Joining a routine of thousands of statements asks, for each, whether it holds one; one
    ``str.find`` per word and range answers all of them (sre tries a pattern that starts with a
    look-behind at every character, four times slower). Generous, never short: any word
    :data:`_BLOCK_WORDS` matches is found here too (upper-cased, a letter it matches ignoring
    case is the ASCII letter, except "İ", which then sends the range to that regex).
    """

    __slots__ = ("_at", "_exact", "_text", "_upper", "end")

    _NEEDLES = ("BEGIN", "CASE", "END", "(", ")")

    def __init__(self, text: str, upper: str, end: int) -> None:
        self._text, self._upper, self.end = text, upper, end
        self._at = [-1] * len(self._NEEDLES)
        self._exact: int | None = None  # set when the range holds "İ": the regex's next match

    def first_from(self, pos: int) -> int:
        """A place at or after ``pos`` where one may be, no later than the first (``end``: none)."""
        at, upper, end = self._at, self._upper, self.end
        if self._exact is not None or (at[0] < 0 and upper.find("\u0130", pos, end) >= 0):
            if self._exact is None or self._exact < pos:
                match = _BLOCK_WORDS.search(self._text, pos, end)
                self._exact = end if match is None else match.start()
            return self._exact
        for k, needle in enumerate(self._NEEDLES):
            if at[k] < pos:
                found = upper.find(needle, pos, end)
                at[k] = end if found < 0 else found
        return min(at)


_NAMES_WINDOW = 1 << 10
"""Characters :class:`_Names` searches ahead of a statement at first; each search after it
without a name found doubles the stretch, so that one search serves the many small statements
of a long body. Never the rest of the range at once: a scan that adds names statement by
statement (thousands of functions) starts a new search after each."""


class _Names:
    """Where names of the routines created so far occur in one range, found lazily, in order.

    The call search of :meth:`_Scan._names_routine` for ASCII text, made once for a stretch of
    the range: asked with positions that never decrease, it searches again only past what it
    has searched. A stretch ends ``longest`` characters before a name could have been cut by
    its end, so the next one starts that much earlier. A match there is only a hint that the
    caller checks: a name read past the stretch's end may be part of a longer word.
    """

    __slots__ = ("_clear", "_found", "_past", "_text", "_upper", "_window", "end", "longest", "quick")

    def __init__(self, quick: NameSearch | None, text: str, upper: str, end: int, longest: int) -> None:
        self.quick, self._text, self._upper, self.end, self.longest = quick, text, upper, end, longest
        self._found = self._past = -1
        self._clear = -1  # no name starts before this offset (from where the last search began)
        self._window = _NAMES_WINDOW

    def first_from(self, pos: int, until: int) -> tuple[int, int]:
        """Start and end of the first name at or after ``pos``, when one starts before ``until``.

        ``(end, end)`` when none does (a name found later may be returned too).
        """
        if self._found >= pos:
            return self._found, self._past
        if until <= self._clear:
            return self.end, self.end
        quick, text, upper, end = self.quick, self._text, self._upper, self.end
        assert quick is not None
        start = max(pos, self._clear - self.longest)
        horizon = min(end, max(until, start + self._window))
        self._window *= 2
        while (m := quick.search(upper, start, horizon)) is not None:
            at = m.start()
            before = text[at - 1] if at else ""
            if not (before.isalnum() or before in ("_", "$")):
                self._found, self._past, self._clear = at, m.end(), at
                return at, m.end()
            start = at + 1
        self._found, self._clear = -1, horizon
        return end, end


def _names_routines(toks: Sequence[Token], i: int) -> bool:
    """Does the command at ``toks[i]`` only name routines: drop, alter, comment on, grant them?

    ``ALTER TABLE`` is not such a command: a new column's ``DEFAULT f()``, ``USING f(c)`` and a
    ``CHECK`` validated against the rows run the routine now.
    """
    tok = toks[i]
    if tok.is_word("ALTER"):
        return i + 1 < len(toks) and toks[i + 1].is_word(*_ROUTINE_OBJECTS)
    return tok.is_word(*_NAMES_ROUTINES)


def _not_calls(toks: Sequence[Token], starts: list[int]) -> bytearray:
    """1 for each token where a routine's name does not call it, 0 where it may.

    That is every token of a command that only names routines, and the expression of an
    ``ALTER … SET DEFAULT``, which is stored for rows inserted later, not evaluated now (up to
    the next top-level ``,`` of the command). ``starts``: the command starts, sorted.
    """
    skip = bytearray(len(toks))
    for s, e in zip(starts, [*starts[1:], len(toks)], strict=True):
        if _names_routines(toks, s):
            skip[s:e] = b"\x01" * (e - s)
        elif toks[s].is_word("ALTER"):
            depth, stored = 0, False
            for j in range(s, e):
                text = toks[j].text
                if text in ("(", "["):
                    depth += 1
                elif text in (")", "]"):
                    depth -= 1
                elif depth == 0 and text in (",", ";"):
                    stored = False
                elif depth == 0 and toks[j].is_word("DEFAULT") and toks[j - 1].is_word("SET"):
                    stored = True
                if stored:
                    skip[j] = 1
    return skip


def _trigger_head(toks: Sequence[Token]) -> bool:
    """``CREATE [OR REPLACE] [CONSTRAINT] TRIGGER``."""
    return _definition_kind(toks) == "TRIGGER"


def _definition_kind(toks: Sequence[Token]) -> str | None:
    """TRIGGER, RULE or EVENT for ``CREATE [OR REPLACE|DEFINER = u|TEMP|CONSTRAINT …] TRIGGER|RULE|EVENT``.

    None for anything else, PostgreSQL's event trigger included (it fires on DDL, not on a table).
    """
    for k in range(1, min(len(toks), 12)):
        tok = toks[k]
        if tok.is_word("TRIGGER"):
            return None if toks[k - 1].is_word("EVENT") else "TRIGGER"
        if tok.is_word("RULE"):
            return "RULE"
        if tok.is_word("EVENT"):
            return None if k + 1 < len(toks) and toks[k + 1].is_word("TRIGGER") else "EVENT"
        if tok.is_word("FUNCTION", "PROCEDURE", "PROC", "TABLE", "VIEW", "INDEX", "ON"):
            return None
    return None


def _trigger_body(toks: Sequence[Token], k: int) -> int | None:
    """Where a MySQL or SQLite trigger's own body starts, from ``k`` (after its table)."""
    for j in range(k, len(toks)):
        if toks[j].is_word("BEGIN"):
            return j
        if toks[j].is_word("ROW") and j >= 2 and toks[j - 1].is_word("EACH"):
            body = j + 1
            if body < len(toks) and toks[body].is_word("FOLLOWS", "PRECEDES"):
                body += 2
            if body < len(toks) and toks[body].is_word("WHEN"):
                continue  # SQLite: WHEN expr, then BEGIN
            return body if body < len(toks) else None
    return None


_MYSQL_BODY_WORDS = frozenset(
    "DELETE INSERT UPDATE REPLACE DROP TRUNCATE ALTER CREATE RENAME SELECT CALL SET DO RETURN EXECUTE PREPARE"
    " WHILE REPEAT LOOP IF CASE".split()
)
"""Words a MySQL routine's one-statement body starts with (no characteristic is one of them)."""


def _mysql_body(toks: Sequence[Token], k: int) -> int | None:
    """Where the body of a MySQL routine without BEGIN starts: after ``(…)`` and the characteristics."""
    if not (k < len(toks) and toks[k].text == "("):
        return None
    return next(
        (
            j
            for j in outside_parentheses(toks, k)
            if toks[j].kind is WORD
            and toks[j].text.upper() in _MYSQL_BODY_WORDS
            and not toks[j - 1].is_word("CHARACTER")  # RETURNS VARCHAR(9) CHARACTER SET utf8mb4
        ),
        None,
    )


def _word_before_name(toks: Sequence[Token], k: int) -> Token | None:
    """The token before the qualified name whose last part is ``toks[k]`` (``EXEC [dbo].[p]``).

    SQL Server's ``EXEC @rc = p`` counts as ``EXEC p``.
    """
    j = k - 1
    while j >= 1 and toks[j].text == ".":
        j -= 1
        while j >= 1 and toks[j].text == ".":  # master..p
            j -= 1
        j -= 1
    if j >= 2 and toks[j].text == "=":  # EXEC @rc = p, EXEC @r = p (the lexer splits "@" off "r")
        for back in (1, 2):
            if j - back - 1 >= 0 and toks[j - back - 1].is_word("EXEC", "EXECUTE"):
                named = variable_at(toks, j - back)
                if named is not None and named[1] == j:
                    return toks[j - back - 1]
    return toks[j] if j >= 0 else None


def _body_spans(joined: list[tuple[int, int]], start: int) -> list[tuple[int, int]] | None:
    """A body's statements: the definition's spans (``joined``) from the one holding ``start`` on.

    The body starts at code (BEGIN, a trigger's first word), where splitting from it reads the
    text as splitting the file did. None when no span holds it (the scan splits the body itself).
    """
    at = bisect_right(joined, (start, 1 << 62)) - 1
    return [(start, joined[at][1]), *joined[at + 1 :]] if at >= 0 else None


def _last_name_part(toks: Sequence[Token], k: int) -> int:
    """Index of the last part of the (possibly qualified) name starting at ``k``."""
    while k + 2 < len(toks) and toks[k + 1].text == ".":
        k += 2
    return k


_FIRES = {
    "INSERT": frozenset({"INSERT"}),
    "UPDATE": frozenset({"UPDATE"}),
    "DELETE": frozenset({"DELETE"}),
    "TRUNCATE": frozenset({"TRUNCATE"}),
    "COPY": frozenset({"INSERT"}),
    "MERGE": frozenset({"INSERT", "UPDATE", "DELETE"}),
    "REPLACE": frozenset({"INSERT", "DELETE"}),  # MySQL: a replaced row is deleted, then inserted
}
"""The trigger events a command fires on the table it writes."""


def _written(stmt: Statement, i: int, end: int) -> list[tuple[str, frozenset[str]]]:
    """The tables the command at ``i`` writes, each with the trigger events the write fires.

    ``end``: where the next command starts (what follows the command is read up to there only,
    so a statement of many commands costs time in proportion to its length).
    """
    toks = stmt.tokens
    tok = toks[i]
    if tok.kind is not WORD:
        return []
    verb = tok.text.upper()
    k = i + 1
    events = _FIRES.get(verb)
    if events is None:
        return []
    if k + 1 < end and toks[k].is_word("OR"):
        k += 2  # SQLite: INSERT OR IGNORE INTO …, UPDATE OR REPLACE …
    while k < end and toks[k].is_word("LOW_PRIORITY", "HIGH_PRIORITY", "DELAYED", "IGNORE", "QUICK"):
        k += 1  # MySQL: INSERT IGNORE INTO …, UPDATE LOW_PRIORITY IGNORE …
    lead = ("TABLE",) if verb == "TRUNCATE" else ("INTO", "FROM")  # TRUNCATE [TABLE], INSERT INTO, …
    if k < len(toks) and toks[k].is_word(*lead):
        k += 1
    while k < len(toks) and toks[k].is_word("ONLY"):
        k += 1
    if k >= len(toks) or toks[k].kind not in (WORD, IDENT):
        return []
    if verb == "COPY" and not any(toks[j].is_word("FROM") for j in range(k, end)):
        return []  # COPY … TO reads
    if verb == "INSERT" and any(toks[j].is_word("CONFLICT", "DUPLICATE") for j in range(k, end)):
        events = frozenset({"INSERT", "UPDATE"})  # ON CONFLICT DO UPDATE, MySQL's ON DUPLICATE KEY UPDATE
    if verb == "TRUNCATE":
        return [(name, events) for name in stmt.table_names(k)]
    written = [(name_key(toks[_last_name_part(toks, k)]), events)]
    if verb == "UPDATE":  # MySQL's UPDATE a JOIN b …, UPDATE a, b SET …: every table named may be set
        for j in range(k + 1, end):
            if toks[j].is_word("SET"):
                break
            if toks[j].kind in (WORD, IDENT) and (toks[j - 1].is_word("JOIN") or toks[j - 1].text == ","):
                written.append((name_key(toks[_last_name_part(toks, j)]), events))
    return written


def _runs_inner(stmt: Statement, calls: bool) -> bool:
    """Could :meth:`_Scan._inner` find SQL that ``stmt`` runs (a cheap test, to skip it)?"""
    if stmt.is_definition:
        return calls  # CREATE TABLE … AS f(), or a trigger on a routine made here
    if calls:
        return True
    toks = stmt.tokens
    if stmt.dialect in ("sqlserver", "mysql"):  # EXEC(…) needs no ';' before it: any token
        return any(tok.kind is WORD and tok.text.upper() in _RUNS_INNER for tok in toks)
    for i in stmt.command_starts():
        tok = toks[i]
        if tok.kind is WORD and tok.text.upper() in _RUNS_INNER:
            return True
    return False


def _routine_step(text: str, stmt: Statement, end: int) -> tuple[int, int] | None:
    """The first command of ``stmt`` after its first token that creates a function or procedure.

    Returns its token index and offset, or None. A body step after BEGIN, THEN, ELSE or LOOP
    shares its ``;``-span with those words, so the routine's head is not at the span's start.
    """
    toks = stmt.tokens
    for i in stmt.command_starts():
        if i > 0 and toks[i].is_word("CREATE") and _ROUTINE_NAME.match(text, toks[i].start, end):
            return i, toks[i].start
    return None


def _routine_head(text: str, dialect: Dialect, start: int, end: int) -> list[Token]:
    """Tokens of a routine definition up to its body (a dollar quote, ``AS 'string'`` or BEGIN).

    The head is read in growing windows, so a routine with a megabyte-long BEGIN … END body
    costs no more than its first line. When the body is a quote, what follows it (``LANGUAGE
    sql``) is read too.
    """
    limit = start + _HEAD_CHARS
    while True:
        window = min(end, limit)
        tokens = tokenize(text, dialect, start, window)
        for k, tok in enumerate(tokens):
            quoted = tok.kind is DOLLAR or (
                tok.kind is STRING and k > 0 and tokens[k - 1].is_word("AS") and dialect.dollar_quotes
            )
            if quoted:
                # Re-read from the quote: the window may have cut it short.
                return tokens[:k] + tokenize(text, dialect, tok.start, end)
            if tok.is_word("BEGIN"):
                return tokens[: k + 1]
        if window >= end:
            return tokens
        limit += limit - start


def _any_between(marks: list[int], s: int, e: int) -> bool:
    k = bisect_left(marks, s)
    return k < len(marks) and marks[k] < e


def _has_mark_in_code(text: str, dialect: Dialect, s: int, e: int, marks: _Marks) -> bool:
    """Does a pre-filter keyword fall in ``text[s:e]`` outside literals and comments?

    A seed-data statement with "delete" in every string holds no risky command: it is never
    tokenized. A statement that may run quoted SQL (DO, EXECUTE) counts with a keyword anywhere.
    """
    first = marks.first_from(s)
    if first >= e:
        return False
    if first < first_opaque(text, dialect, s, e):
        return True  # the usual case: the keyword comes before any literal or comment
    for lo, hi in code_stretches(text, dialect, s, e):
        if marks.any_between(lo, hi):
            return True
    return _RUNS_QUOTED.search(text, s, e) is not None


@cache
def _context_trigger(rules: tuple[Rule, ...]) -> re.Pattern[str] | None:
    """Which statements the file context must see for these rules.

    The opt-in rules that skip new tables or validated checks read every CREATE, DROP and
    VALIDATE; drop-table only needs the scratch tables (TEMP, CREATE TABLE … AS, SELECT … INTO),
    so a plain Prisma history of CREATE TABLE statements is not tokenized for it.
    """
    if any(rule.uses_context for rule in rules):
        return _CONTEXT_TRIGGER
    if any(rule.scratch_context for rule in rules):
        return _SCRATCH_TRIGGER
    return None


def iter_hits(
    text: str,
    dialect: Dialect,
    rules: tuple[Rule, ...],
    start: int = 0,
    end: int | None = None,
) -> Iterator[tuple[int, Rule, str]]:
    """Yield ``(offset, rule, statement)`` for every risky command in ``text[start:end]``."""
    end = len(text) if end is None else end
    upper = upper_same_length(text)
    # One regex pass over the whole text: most migrations hold no risky keyword at all, and in
    # the others only statements holding one in code are tokenized.
    scan = _Scan(dialect, rules, FileContext(dialect), _context_trigger(rules))
    found: list[_Hit] = []
    scan.hits(text, upper, start, end, False, found, ())
    modes = _quoting_modes(upper, start, end) if dialect is MYSQL else []
    if not modes:
        yield from found
        return
    # A migration that switches how MySQL reads quotes is read each way; what runs in any is reported.
    seen = {(offset, rule.id) for offset, rule, _ in found}
    for variant in modes:
        again: list[_Hit] = []
        _Scan(variant, rules, FileContext(variant), _context_trigger(rules)).hits(
            text, upper, start, end, False, again, ()
        )
        for hit in again:
            if (hit[0], hit[1].id) not in seen:
                seen.add((hit[0], hit[1].id))
                found.append(hit)
    found.sort(key=lambda hit: hit[0])
    yield from found


def _quoting_modes(upper: str, start: int, end: int) -> list[Dialect]:
    """The MySQL readings a migration's ``sql_mode`` may switch to (ANSI_QUOTES, NO_BACKSLASH_ESCAPES)."""
    ansi = upper.find("ANSI_QUOTES", start, end) >= 0 or upper.find("'ANSI'", start, end) >= 0
    plain = upper.find("NO_BACKSLASH_ESCAPES", start, end) >= 0
    pairs = [(a, b) for a in (False, ansi) for b in (False, plain) if a or b]
    return [mysql_modes(ansi_quotes=a, no_backslash_escapes=b) for a, b in dict.fromkeys(pairs)]


_MYSQL_OPENERS = re.compile(r"/\*(?:M?!\d*)?|['\"`#]|--(?=[\s\x00-\x1f]|$)")
_MYSQL_LITERAL_END = {q: re.compile(rf"(?:[^{q}\\]|\\.|{q}{q})*{q}", re.DOTALL) for q in "'\""}
_MYSQL_LITERAL_END["`"] = re.compile(r"(?:[^`]|``)*`")


def _unwrap_versioned_comments(text: str) -> str:
    """MySQL runs the body of ``/*!50503 … */`` and MariaDB of ``/*M!100100 … */``: blank out
    only the wrapper, keeping offsets.

    Read as the server reads them: in code only (``'/*!'`` in a string opens nothing), and a
    comment ends at its first ``*/`` (``/* note /*!50000 */`` is a plain comment).
    """
    pieces: list[str] = []
    pos = done = 0
    while (m := _MYSQL_OPENERS.search(text, pos)) is not None:
        opener = m.group()
        if opener.startswith("/*"):
            close = text.find("*/", m.end())
            close = len(text) if close < 0 else close
            if "!" in opener:  # executable: the body is code, the wrapper goes
                pieces += [text[done : m.start()], " " * len(opener), text[m.end() : close], "  "]
                done = min(close + 2, len(text))
            pos = close + 2
        elif opener in _MYSQL_LITERAL_END:
            end = _MYSQL_LITERAL_END[opener].match(text, m.end())
            pos = len(text) if end is None else end.end()
        else:  # "#" or "-- ": to the end of the line
            newline = text.find("\n", m.end())
            pos = len(text) if newline < 0 else newline + 1
    pieces.append(text[done:])
    return "".join(pieces)


_new = object.__new__
_set = object.__setattr__


def _statement(tokens: Sequence[Token], procedural: bool, dialect: str, one: bool) -> Statement:
    """``Statement(tokens, procedural, dialect, one)``, for the scan's statement per body step.

    As :func:`_finding` does for findings: the same object as the frozen dataclass's
    ``__init__`` makes, its four fields set at once.
    """
    stmt: Statement = _new(Statement)
    _set(
        stmt, "__dict__", {"tokens": tokens, "procedural": procedural, "dialect": dialect, "one_command": one}
    )
    return stmt


def _finding(migration: str, line: int, rule: str, statement: str, print_: str) -> Finding:
    """``Finding(migration, line, rule, statement, print_)``, for the scan's hundreds of thousands.

    A frozen dataclass sets each of its seven fields through ``object.__setattr__``; setting
    its ``__dict__`` at once makes the same object (equal, same hash) in a third of the time.
    """
    finding: Finding = _new(Finding)
    _set(
        finding,
        "__dict__",
        {
            "migration": migration,
            "line": line,
            "rule": rule,
            "statement": statement,
            "fingerprint": print_,
            "file": MIGRATION_FILE,
            "where": "",
        },
    )
    return finding


def scan_text(text: str, dialect: Dialect, rules: tuple[Rule, ...], migration: str) -> list[Finding]:
    """Findings of one migration's text, ordered by position, then by rule.

    The cyclic garbage collector is paused for the scan: a large statement makes millions of
    token tuples, which hold no cycles, and re-examining them on every collection costs up to
    a third of the scan.
    """
    if dialect.hash_comments and ("/*!" in text or "/*M!" in text):
        text = _unwrap_versioned_comments(text)
    order = {rule.id: k for k, rule in enumerate(RULES.values())}
    collecting = gc.isenabled()
    gc.disable()
    try:
        hits = list(iter_hits(text, dialect, rules))
        # Mostly in file order already (a routine's body can come after its call): then, with
        # no two hits at one offset, sorting would keep the order as it is.
        if any(hits[k][0] >= hits[k + 1][0] for k in range(len(hits) - 1)):
            hits.sort(key=lambda h: (h[0], order[h[1].id]))
        findings: list[Finding] = []
        line, counted = 1, 0
        # Every CTE of one statement shares its identity text: hash each text once, not per finding.
        prints: dict[tuple[str, str], str] = {}
        for offset, rule, statement in hits:
            line += text.count("\n", counted, offset)
            counted = offset
            key = (rule.id, statement)
            print_ = prints.get(key)
            if print_ is None:
                print_ = prints[key] = fingerprint(rule.id, statement)
            findings.append(_finding(migration, line, rule.id, statement, print_))
    finally:
        if collecting:
            gc.enable()
    return findings


def migration_files(directory: Path) -> list[Path]:
    """Every ``<name>/migration.sql`` under ``directory``, in migration (folder name) order.

    Whatever carries the name is listed — a folder, a dangling link, a FIFO too — so that one
    that cannot be read fails its item instead of silently dropping out of the gate.
    """
    try:
        folders = [entry for entry in directory.iterdir() if entry.is_dir()]
    except OSError:
        return []
    found = (folder / MIGRATION_FILE for folder in folders)
    return sorted((p for p in found if os.path.lexists(p)), key=lambda p: p.parent.name)


def read_migration(path: Path, shown: Path | str | None = None) -> bytes:
    """The bytes of one migration file; anything that is not a readable regular file is a clear error.

    A FIFO is refused before it is opened (opening it would wait forever). ``shown`` is how the
    message names the file (default: ``path``).
    """
    name = path if shown is None else shown
    advice = "Prisma applies this folder's migration.sql: restore it as a plain file, or remove the folder."
    try:
        info = path.stat()
    except FileNotFoundError:
        raise MigrationFileError(
            f"{name}: is a link to nothing ({os.readlink(path) if path.is_symlink() else 'missing'}). {advice}"
        ) from None
    except OSError as exc:
        raise MigrationFileError(f"{name}: cannot be read ({exc.strerror}). {advice}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
        raise MigrationFileError(f"{name}: is {kind}, so the gate cannot scan it. {advice}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MigrationFileError(f"{name}: cannot be read ({exc.strerror}). {advice}") from None


def scan(directory: str | Path, rules: Sequence[str] = ("default",)) -> list[Finding]:
    """Scan a Prisma migrations folder and return every risky command found, in order.

    ``rules`` takes rule ids, ``"default"`` (the five default rules) or ``"all"``. The dialect
    comes from the folder's ``migration_lock.toml``. A file that is not UTF-8, or a
    ``migration.sql`` that is not a readable file, raises :class:`MigrationFileError`.

    >>> from pytest_promotion.migrations import scan
    >>> for finding in scan("prisma/migrations"):  # doctest: +SKIP
    ...     print(finding.path, finding.line, finding.rule, finding.statement)
    """
    directory = Path(directory)
    dialect = dialect_for(directory)
    selected = select_rules(rules)
    findings: list[Finding] = []
    for path in migration_files(directory):
        text = decode_migration(read_migration(path), path)
        findings.extend(scan_text(text, dialect, selected, path.parent.name))
    return findings
