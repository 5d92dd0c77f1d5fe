"""Statement splitting and tokenizing that never mistakes quoted text or comments for SQL.

Two passes keep the scan fast on large histories (most statements cannot be risky):

1. :func:`statement_spans` walks the whole file with one compiled regex per dialect that swallows
   ordinary code, string literals and quoted identifiers in C, stopping only at ``;``, comments and
   dollar quotes. It yields statement boundaries and nothing else.
2. :func:`tokenize` runs only on statements whose text could hold a risky keyword. It cuts out
   comments, literals, quoted identifiers and dollar-quoted bodies itself (dialect-exact, nested
   comments included), and hands the code between them to sqlparse's lexer, whose tokens the rules
   read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from functools import cache, lru_cache

from sqlparse import tokens as T
from sqlparse.lexer import Lexer

from pytest_promotion.migrations.dialects import Dialect


class Kind(Enum):
    """What a token is, as far as the rules care."""

    WORD = "word"  # an unquoted keyword or name
    IDENT = "ident"  # a quoted identifier
    STRING = "string"  # a string literal
    DOLLAR = "dollar"  # a dollar-quoted body (function body or DO block)
    PUNCT = "punct"  # ( ) , . ; :: and operators
    OTHER = "other"  # numbers, placeholders


@dataclass(frozen=True, slots=True)
class Token:
    """One significant token of a statement; ``start`` is an offset into the whole file."""

    kind: Kind
    text: str
    start: int
    keyword: bool = False
    """sqlparse knows the word as a keyword: normalised to upper case; names keep their case."""

    @property
    def upper(self) -> str:
        """Keyword comparisons are case-insensitive; quoted text keeps its case."""
        return self.text.upper() if self.kind is Kind.WORD else self.text

    def is_word(self, *words: str) -> bool:
        """True when this is an unquoted word equal (ignoring case) to one of ``words``."""
        return self.kind is Kind.WORD and self.text.upper() in words


_DOLLAR_TAG = r"\$(?:[^\W\d]\w*)?\$"
_ESCAPE_STRING = r"(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'"


@dataclass(frozen=True)
class _Patterns:
    run: re.Pattern[str]
    """Ordinary code, literals and quoted identifiers: everything that cannot end a statement."""
    opaque: re.Pattern[str]
    """The next literal, identifier, comment or dollar quote, for the tokenizer."""
    literal: re.Pattern[str]
    """A whole literal or quoted identifier at a position (named groups ``s`` and ``i``)."""


@cache
def _patterns(dialect: Dialect) -> _Patterns:
    literals = [*dialect.strings, *dialect.identifiers]
    quote_starts = {p[0] if p[0] != "\\" else p[1] for p in literals}
    specials = {";", "-", "/", *quote_starts}
    parts = [
        *(f"(?:{p})" for p in literals),
        "-(?!-)",
        r"/(?!\*)",
    ]
    if dialect.escape_strings:
        specials |= {"E", "e"}
        parts.insert(0, _ESCAPE_STRING)
        parts.append("[Ee]")
    if dialect.dollar_quotes:
        specials.add("$")
        parts.append(r"(?<=\w)\$|\$(?!(?:[^\W\d]\w*)?\$)")
    if dialect.hash_comments:
        specials.add("#")
    plain = "[^" + "".join(re.escape(c) for c in sorted(specials)) + "]+"
    run = re.compile("(?:" + "|".join([plain, *parts]) + ")+")

    starts = ["--", r"/\*", *(re.escape(c) for c in sorted(quote_starts))]
    if dialect.escape_strings:
        starts.insert(0, r"(?<![\w$])[Ee]'")
    if dialect.dollar_quotes:
        starts.append(r"(?<![\w$])" + _DOLLAR_TAG)
    if dialect.hash_comments:
        starts.append("#")
    opaque = re.compile("|".join(starts))

    strings = list(dialect.strings)
    if dialect.escape_strings:
        strings.insert(0, _ESCAPE_STRING)
    literal = re.compile("(?P<s>" + "|".join(strings) + ")|(?P<i>" + "|".join(dialect.identifiers) + ")")
    return _Patterns(run=run, opaque=opaque, literal=literal)


_DOLLAR_AT = re.compile(_DOLLAR_TAG)


def _skip_block_comment(text: str, pos: int, end: int, nested: bool) -> int:
    """Return the offset just past the comment opening at ``pos`` (``end`` if unterminated)."""
    if not nested:
        close = text.find("*/", pos + 2, end)
        return end if close < 0 else close + 2
    depth = 0
    while pos < end:
        opening = text.find("/*", pos, end)
        closing = text.find("*/", pos, end)
        if closing < 0:
            return end
        if 0 <= opening < closing:
            depth += 1
            pos = opening + 2
        else:
            depth -= 1
            pos = closing + 2
            if depth == 0:
                return pos
    return end


def _skip_line_comment(text: str, pos: int, end: int) -> int:
    newline = text.find("\n", pos, end)
    return end if newline < 0 else newline + 1


def _skip_dollar(text: str, pos: int, end: int, tag: str) -> int:
    close = text.find(tag, pos + len(tag), end)
    return end if close < 0 else close + len(tag)


def statement_spans(
    text: str, dialect: Dialect, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of each ``;``-terminated statement in ``text[start:end]``.

    Spans include leading comments and whitespace; the ``;`` itself is excluded. A trailing
    statement without ``;`` is yielded too. Unterminated quotes and comments run to the end, as
    the database would read them.
    """
    end = len(text) if end is None else end
    run = _patterns(dialect).run.match
    pos = stmt_start = start
    while pos < end:
        m = run(text, pos, end)
        if m is not None:
            pos = m.end()
            if pos >= end:
                break
        char = text[pos]
        if char == ";":
            yield stmt_start, pos
            pos += 1
            stmt_start = pos
        elif text.startswith("--", pos):
            pos = _skip_line_comment(text, pos, end)
        elif text.startswith("/*", pos):
            pos = _skip_block_comment(text, pos, end, dialect.nested_comments)
        elif char == "#" and dialect.hash_comments:
            pos = _skip_line_comment(text, pos, end)
        elif char == "$" and (tag := _DOLLAR_AT.match(text, pos, end)) is not None:
            pos = _skip_dollar(text, pos, end, tag.group())
        else:
            # An unterminated literal or identifier: the database reads it to the end.
            pos = end
    if text[stmt_start:end].strip():
        yield stmt_start, end


_LEXER = Lexer.get_default_instance()  # type: ignore[no-untyped-call]
_WORD = re.compile(r"\w+")
_WORDS = re.compile(r"[^\W\d]\w*(?:\s+\w+)*")


@lru_cache(maxsize=8192)
def _lex_code(code: str) -> tuple[tuple[Kind, str, int, bool], ...]:
    """sqlparse's tokens for plain code, as (kind, text, offset, keyword); the same stretches recur."""
    out: list[tuple[Kind, str, int, bool]] = []
    offset = 0
    for ttype, value in _LEXER.get_tokens(code):
        here = offset
        offset += len(value)
        if ttype in T.Whitespace or ttype in T.Newline or ttype in T.Comment or not value.strip():
            continue
        if (ttype in T.Keyword or ttype in T.Name) and _WORDS.fullmatch(value):
            # sqlparse joins some phrases ("NOT NULL", "IF EXISTS"); the rules read single words.
            keyword = ttype in T.Keyword
            out.extend((Kind.WORD, w.group(), here + w.start(), keyword) for w in _WORD.finditer(value))
        elif ttype in T.Punctuation or ttype in T.Operator:
            out.append((Kind.PUNCT, value, here, False))
        else:
            out.append((Kind.OTHER, value, here, False))
    return tuple(out)


def tokenize(text: str, dialect: Dialect, start: int, end: int) -> list[Token]:
    """Return the significant tokens of ``text[start:end]``: no whitespace, no comments."""
    patterns = _patterns(dialect)
    tokens: list[Token] = []
    pos = start
    while pos < end:
        m = patterns.opaque.search(text, pos, end)
        stop = end if m is None else m.start()
        if stop > pos:
            tokens.extend(
                Token(kind, value, pos + rel, kw) for kind, value, rel, kw in _lex_code(text[pos:stop])
            )
        if m is None:
            break
        pos = stop
        if text.startswith("--", pos) or (dialect.hash_comments and text[pos] == "#"):
            pos = _skip_line_comment(text, pos, end)
        elif text.startswith("/*", pos):
            pos = _skip_block_comment(text, pos, end, dialect.nested_comments)
        elif text[pos] == "$":
            after = _skip_dollar(text, pos, end, m.group())
            tokens.append(Token(Kind.DOLLAR, text[pos:after], pos))
            pos = after
        else:
            lit = patterns.literal.match(text, pos, end)
            after = end if lit is None else lit.end()
            kind = Kind.IDENT if lit is not None and lit.group("i") is not None else Kind.STRING
            tokens.append(Token(kind, text[pos:after], pos))
            pos = after
    return tokens
