"""Statement splitting and tokenizing that never mistakes quoted text or comments for SQL.

Two passes keep the scan fast on large histories (most statements cannot be risky):

1. :func:`statement_spans` walks the whole file with one compiled regex per dialect that swallows
   ordinary code, string literals and quoted identifiers in C, stopping only at ``;``, comments and
   dollar quotes. It yields statement boundaries and nothing else.
2. :func:`tokenize` runs only on statements whose text could hold a risky keyword. It cuts out
   comments, literals, quoted identifiers and dollar-quoted bodies itself (dialect-exact, nested
   comments included) and makes sqlparse's tokens of the code between them, which the rules read.
   One ``finditer`` per statement takes the common tokens (words, literals, punctuation, numbers)
   in C; :func:`tokenize_reference`, which lexes each stretch of code apart, defines the result
   and takes over at anything unusual.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlparse import tokens as T
from sqlparse.keywords import (
    KEYWORDS,
    KEYWORDS_BIGQUERY,
    KEYWORDS_COMMON,
    KEYWORDS_HQL,
    KEYWORDS_MSACCESS,
    KEYWORDS_MYSQL,
    KEYWORDS_ORACLE,
    KEYWORDS_PLPGSQL,
    KEYWORDS_SNOWFLAKE,
    PROCESS_AS_KEYWORD,
    SQL_REGEX,
)

from pytest_promotion.migrations.dialects import Dialect


class Kind(Enum):
    """What a token is, as far as the rules care."""

    WORD = "word"  # an unquoted keyword or name
    IDENT = "ident"  # a quoted identifier
    STRING = "string"  # a string literal
    DOLLAR = "dollar"  # a dollar-quoted body (function body or DO block)
    PUNCT = "punct"  # ( ) , . ; :: and operators
    OTHER = "other"  # numbers, placeholders


# The members as plain names: on Python 3.11 reading ``Kind.WORD`` through the enum class costs
# about 80 ns, five times a local or global name, and the rules' loops read it per token.
WORD, IDENT, STRING, DOLLAR, PUNCT, OTHER = (
    Kind.WORD,
    Kind.IDENT,
    Kind.STRING,
    Kind.DOLLAR,
    Kind.PUNCT,
    Kind.OTHER,
)


class Token(NamedTuple):
    """One significant token of a statement; ``start`` is an offset into the whole file.

    A named tuple, not a dataclass: a large statement has millions of tokens, and a tuple is
    the cheapest object Python builds.
    """

    kind: Kind
    text: str
    start: int
    keyword: bool = False
    """sqlparse knows the word as a keyword: normalised to upper case; names keep their case."""

    @property
    def upper(self) -> str:
        """Keyword comparisons are case-insensitive; quoted text keeps its case."""
        return self.text.upper() if self.kind is WORD else self.text

    def is_word(self, *words: str) -> bool:
        """True when this is an unquoted word equal (ignoring case) to one of ``words``."""
        return self.kind is WORD and self.text.upper() in words


_DASH_COMMENT = r"--(?=[\x00-\x20]|$)"
_DASH_COMMENT_NEEDS_SPACE_MINUS = r"-(?!-(?:[\x00-\x20]|$))"
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
    line_comment: re.Pattern[str]
    """``--`` where it starts a comment."""
    statement: re.Pattern[str]
    """:func:`_statement_lexer`: the next token of a statement, for :func:`tokenize`."""


_PATTERNS: dict[int, tuple[Dialect, _Patterns]] = {}


def _patterns(dialect: Dialect) -> _Patterns:
    """The dialect's patterns, looked up by identity (hashing a dialect's fields costs more)."""
    found = _PATTERNS.get(id(dialect))
    if found is None or found[0] is not dialect:
        found = _PATTERNS[id(dialect)] = (dialect, _compile_patterns(dialect))
    return found[1]


@cache
def _compile_patterns(dialect: Dialect) -> _Patterns:
    literals = [*dialect.strings, *dialect.identifiers]
    quote_starts = {p[0] if p[0] != "\\" else p[1] for p in literals}
    specials = {";", "-", "/", *quote_starts}
    parts = [
        *(f"(?:{p})" for p in literals),
        _DASH_COMMENT_NEEDS_SPACE_MINUS if dialect.spaced_dash_comments else "-(?!-)",
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

    dash = _DASH_COMMENT if dialect.spaced_dash_comments else "--"
    starts = [dash, r"/\*", *(re.escape(c) for c in sorted(quote_starts))]
    if dialect.escape_strings:
        # The look-behind after the first character, not before it: every branch then starts
        # with a character, and the search scans for those in C (same matches).
        starts.insert(0, r"[Ee](?<![\w$][Ee])'")
    if dialect.dollar_quotes:
        starts.append(r"\$(?<![\w$]\$)" + _DOLLAR_TAG.removeprefix(r"\$"))
    if dialect.hash_comments:
        starts.append("#")
    opaque = re.compile("|".join(starts))

    strings = list(dialect.strings)
    if dialect.escape_strings:
        strings.insert(0, _ESCAPE_STRING)
    literal = re.compile("(?P<s>" + "|".join(strings) + ")|(?P<i>" + "|".join(dialect.identifiers) + ")")
    return _Patterns(
        run=run,
        opaque=opaque,
        literal=literal,
        line_comment=re.compile(dash),
        statement=_statement_lexer(dialect),
    )


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
    patterns = _patterns(dialect)
    run = patterns.run.match
    comment = patterns.line_comment.match
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
        elif comment(text, pos, end):
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


_WORD = re.compile(r"\w+")
_WORDS = re.compile(r"[^\W\d]\w*(?:\s+\w+)*")
_INTEGER = re.compile(r"\d+")
_SKIP, _WORDISH, _LOOKUP, _PUNCT, _OTHER = range(5)


def _role(ttype: object) -> int:
    if ttype in T.Whitespace or ttype in T.Newline or ttype in T.Comment:
        return _SKIP
    if ttype in T.Keyword or ttype in T.Name:
        return _WORDISH
    if ttype in T.Punctuation or ttype in T.Operator:
        return _PUNCT
    return _OTHER


def _uncaptured(rx: str) -> str:
    """``rx`` with its capturing groups made non-capturing (so ``findall`` sees only ours)."""
    out: list[str] = []
    k, in_class = 0, False
    while k < len(rx):
        c = rx[k]
        if c == "\\":
            out.append(rx[k : k + 2])
            k += 2
            continue
        if in_class:
            in_class = c != "]" or rx[k - 1] == "["
        elif c == "[":
            in_class = True
        elif c == "(" and not rx.startswith("?", k + 1):
            c = "(?:"
        out.append(c)
        k += 1
    return "".join(out)


# First words of the sqlparse regexes that come before its keyword lookup and start with a
# letter: at any other word the lookup alone decides.
_SPECIAL_STARTS = """CASE IN VALUES USING FROM AS LEFT RIGHT FULL INNER OUTER STRAIGHT CROSS NATURAL JOIN END
    IF NOT ASC DESC NULLS UNION CREATE DOUBLE GROUP ORDER PRIMARY HANDLER GO LATERAL AT WITH LIKE ILIKE
    RLIKE REGEXP""".split()


def _sqlparse_alternation() -> tuple[re.Pattern[str], dict[str, tuple[int, bool]]]:
    """sqlparse's token regexes as one ordered alternation, each a named group.

    sqlparse tries its regexes one by one at each position and takes the first that matches; a
    regex alternation does exactly that, in C.
    """
    parts: list[str] = []
    roles: dict[str, tuple[int, bool]] = {}
    for k, (rx, ttype) in enumerate(SQL_REGEX):
        parts.append(f"(?P<g{k}>{_uncaptured(rx)})")
        roles[f"g{k}"] = (
            (_LOOKUP, False) if ttype is PROCESS_AS_KEYWORD else (_role(ttype), ttype in T.Keyword)
        )
    parts.append(r"(?P<e>[\s\S])")  # sqlparse's Error token: one character
    roles["e"] = (_OTHER, False)
    return re.compile("|".join(parts), re.IGNORECASE | re.UNICODE), roles


_SQLPARSE, _SQLPARSE_ROLES = _sqlparse_alternation()


def _trie(words: list[str]) -> str:
    """One regex matching any of ``words``, branching on each letter (cheaper than a list)."""
    tree: dict[str, dict[str, Any]] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(c) + emit(node[c]) for c in sorted(k for k in node if k)]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree)


# The common tokens where no earlier sqlparse regex can match, so they come out exactly as
# sqlparse makes them: a word, sqlparse's first keyword regex, punctuation and comparison
# operators, and integers (a run of them as one token).
_ANY_NAME_RX = r"(?<!\.)[A-ZÀ-Ü]\w*+(?![$#(])(?!\s*\.(?!\d))"
_SPECIAL_RX = rf"{_trie(_SPECIAL_STARTS)}\b"
_NAME_RX = f"(?!{_SPECIAL_RX}){_ANY_NAME_RX}"
_KEY_RX = r"(?:CASE|IN|VALUES|USING|FROM|AS)\b"
_SIGN_RX = r"[(),;]|[<>=~!]++(?!@)|\.(?!\d)"
_NUMBER_RX = r"\d++(?:[ \t\r\n]*,[ \t\r\n]*\d++)*+(?![\w.])"
_FAST = re.compile(
    # Leading whitespace, then the first of: the common tokens where no earlier sqlparse regex
    # can match (so they come out exactly as sqlparse makes them), or anything else, which is
    # matched again by the full alternation to learn which of sqlparse's regexes took it.
    rf"(\s*)(?:({_NAME_RX})|({_KEY_RX})|({_SIGN_RX})|({_NUMBER_RX})"
    rf"|({'|'.join(_uncaptured(rx) for rx, _ in SQL_REGEX)}|[\s\S])"
    r")",
    re.IGNORECASE | re.UNICODE,
)
_KEYWORD_TABLES = (
    KEYWORDS_COMMON,
    KEYWORDS_ORACLE,
    KEYWORDS_MYSQL,
    KEYWORDS_PLPGSQL,
    KEYWORDS_HQL,
    KEYWORDS_MSACCESS,
    KEYWORDS_SNOWFLAKE,
    KEYWORDS_BIGQUERY,
    KEYWORDS,
)
_KEYWORD_FLAG: dict[str, bool] = {}
"""sqlparse's keyword flag per word as written, filled as words are met (at most
:data:`KEYWORD_CACHE_LIMIT` words: a long session over generated names must not grow without end)."""
KEYWORD_CACHE_LIMIT = 50_000


def _is_keyword(word: str) -> bool:
    flag = _KEYWORD_FLAG.get(word)
    if flag is None:
        if len(_KEYWORD_FLAG) >= KEYWORD_CACHE_LIMIT:
            _KEYWORD_FLAG.clear()  # in place: the tokenizer's loop holds the same dict
        flag = _KEYWORD_FLAG[word] = _lookup(word.upper())[1]
    return flag


_KEYWORD_TYPES: dict[str, Any] = {}
"""Every table's words in one dict, the first table holding a word deciding its type as in
sqlparse's lexer: a generated name is then one failed lookup, not one per table."""
for _table in reversed(_KEYWORD_TABLES):
    _KEYWORD_TYPES.update(_table)


def _lookup(upper: str) -> tuple[int, bool]:
    """sqlparse's keyword lookup (in its lexer's table order) for one word."""
    ttype = _KEYWORD_TYPES.get(upper)
    if ttype is None:
        return _WORDISH, False
    return _role(ttype), ttype in T.Keyword


_DOLLAR_PAIR = re.compile(r"\$(?:[^\W\d]\w*)?\$[\s\S]*\$", re.UNICODE)


def _lex_code(code: str, base: int) -> list[Token]:
    """Significant tokens of plain code, offset by ``base``; short stretches come from a cache.

    Migrations repeat the same short stretches (``" ADD CONSTRAINT "``, ``") REFERENCES "``)
    thousands of times; a long stretch is unique and is lexed directly.
    """
    if len(code) > _SHORT:
        return _lex_fresh(code, base)
    new = tuple.__new__
    return [new(Token, (kind, text, base + rel, keyword)) for kind, text, rel, keyword in _lex_short(code)]


_SHORT = 256


@lru_cache(maxsize=8192)
def _lex_short(code: str) -> tuple[Token, ...]:
    return tuple(_lex_fresh(code, 0))


def _lex_fresh(code: str, base: int) -> list[Token]:
    """Significant tokens of plain code (no literals or comments of the dialect), offset by ``base``.

    The tokens are sqlparse's — and with them the keyword flags that statement identities, and
    so every baseline, were built from — produced by one ``findall`` pass instead of sqlparse's
    per-position loop. A run of integers (``1, 2, 3``) is one token: it normalises to the same
    text as its parts, and no rule reads inside it.
    """
    if "$" in code and _DOLLAR_PAIR.search(code):
        return _lex_with_sqlparse(code, base)
    out: list[Token] = []
    append = out.append
    new = tuple.__new__
    word, punct, other = WORD, PUNCT, OTHER
    flags = _KEYWORD_FLAG
    pos = base
    for space, name, key, sign, number, rest in _FAST.findall(code):
        pos += len(space)
        if name:
            flag = flags.get(name)
            append(new(Token, (word, name, pos, _is_keyword(name) if flag is None else flag)))
            pos += len(name)
        elif key:
            append(new(Token, (word, key, pos, True)))
            pos += len(key)
        elif sign:
            append(new(Token, (punct, sign, pos, False)))
            pos += len(sign)
        elif number:
            text = number if number.isdigit() else ", ".join(_INTEGER.findall(number))
            append(new(Token, (other, text, pos, False)))
            pos += len(number)
        else:
            _lex_rest(code, pos - base, pos, out)
            pos += len(rest)
    return out


def _lex_rest(code: str, at: int, pos: int, out: list[Token], stop: int | None = None) -> str:
    """The token sqlparse makes at ``code[at]`` (file offset ``pos``), by its own regex order.

    ``stop`` ends the stretch of code it may read (default: the end of ``code``). Returns the
    text the token took.
    """
    m = _SQLPARSE.match(code, at, len(code) if stop is None else stop)
    # The alternation ends in "any character": it always matches.
    assert m is not None
    assert m.lastgroup is not None
    value = m.group()
    role, keyword = _SQLPARSE_ROLES[m.lastgroup]
    if role == _LOOKUP:
        role, keyword = _lookup(value.upper())
    if role == _SKIP or not value.strip():
        return value
    if role == _WORDISH and _WORDS.fullmatch(value):
        # sqlparse joins some phrases ("NOT NULL", "IF EXISTS"); the rules read single words.
        out.extend(Token(WORD, w.group(), pos + w.start(), keyword) for w in _WORD.finditer(value))
    else:
        out.append(Token(PUNCT if role == _PUNCT else OTHER, value, pos, False))
    return value


def _lex_with_sqlparse(code: str, base: int) -> list[Token]:
    """sqlparse itself, for the rare stretch it would read as a dollar-quoted literal (MySQL ``$$``)."""
    from sqlparse.lexer import Lexer

    out: list[Token] = []
    offset = base
    for ttype, value in Lexer.get_default_instance().get_tokens(code):  # type: ignore[no-untyped-call]
        here = offset
        offset += len(value)
        role = _role(ttype)
        if role == _SKIP or not value.strip():
            continue
        if role == _WORDISH and _WORDS.fullmatch(value):
            out.extend(
                Token(WORD, w.group(), here + w.start(), ttype in T.Keyword) for w in _WORD.finditer(value)
            )
        else:
            out.append(Token(PUNCT if role == _PUNCT else OTHER, value, here, False))
    return out


def tokenize_reference(text: str, dialect: Dialect, start: int, end: int) -> list[Token]:
    """:func:`tokenize` the long way: each code stretch between literals and comments lexed apart.

    The definition of the tokens; :func:`tokenize` produces the same list in one regex pass
    and hands over to this one at anything unusual.
    """
    patterns = _patterns(dialect)
    tokens: list[Token] = []
    pos = start
    while pos < end:
        m = patterns.opaque.search(text, pos, end)
        stop = end if m is None else m.start()
        if stop > pos:
            tokens += _lex_code(text[pos:stop], pos)
        if m is None:
            break
        pos = _opaque_token(text, dialect, patterns, stop, end, tokens)
    return tokens


def _opaque_token(
    text: str, dialect: Dialect, patterns: _Patterns, pos: int, end: int, tokens: list[Token]
) -> int:
    """Read the comment, literal, identifier or dollar quote at ``pos``; return the offset after it.

    A literal, identifier or dollar quote is appended to ``tokens``; unterminated, it runs to ``end``.
    """
    if patterns.line_comment.match(text, pos, end) or (dialect.hash_comments and text[pos] == "#"):
        return _skip_line_comment(text, pos, end)
    if text.startswith("/*", pos):
        return _skip_block_comment(text, pos, end, dialect.nested_comments)
    if text[pos] == "$":
        tag = _DOLLAR_AT.match(text, pos, end)
        assert tag is not None  # the opaque pattern found a dollar tag here
        after = _skip_dollar(text, pos, end, tag.group())
        tokens.append(Token(DOLLAR, text[pos:after], pos))
        return after
    lit = patterns.literal.match(text, pos, end)
    after = end if lit is None else lit.end()
    kind = IDENT if lit is not None and lit.group("i") is not None else STRING
    tokens.append(Token(kind, text[pos:after], pos))
    return after


def _statement_lexer(dialect: Dialect) -> re.Pattern[str]:
    """One regex for a whole statement: skip whitespace and comments, then take the next token.

    Its groups, in order: a string literal, a quoted identifier (as :func:`tokenize_reference`
    reads them at the same place), then the common code tokens of ``_FAST``. When none
    matches, nothing is captured and :func:`tokenize` looks at the place itself.
    """
    dash = _DASH_COMMENT if dialect.spaced_dash_comments else "--"
    block = r"/\*(?:[^*/]|\*(?!/)|/(?!\*))*+\*/" if dialect.nested_comments else r"/\*(?:[^*]|\*(?!/))*+\*/"
    skips = [r"\s++", dash + r"[^\n]*+\n?", block]
    if dialect.hash_comments:
        skips.append(r"#[^\n]*+\n?")
    strings = [_ESCAPE_STRING, *dialect.strings] if dialect.escape_strings else list(dialect.strings)
    # Where "#" starts a comment it ends the code before it: a word there is followed by nothing.
    name = _ANY_NAME_RX.replace("(?![$#(])", "(?![$(])") if dialect.hash_comments else _ANY_NAME_RX
    groups = ["|".join(strings), "|".join(dialect.identifiers), name, _KEY_RX, _SIGN_RX, _NUMBER_RX]
    return re.compile(
        "(?:" + "|".join(skips) + ")*+(?:" + "".join(f"({_uncaptured(g)})|" for g in groups) + ")",
        re.IGNORECASE | re.UNICODE,
    )


_STRING_GROUP, _IDENT_GROUP, _NAME_GROUP, _KEY_GROUP, _SIGN_GROUP, _NUMBER_GROUP = range(1, 7)
_SPECIAL = re.compile(_SPECIAL_RX, re.IGNORECASE | re.UNICODE)
_SPECIAL_WORDS = frozenset(_SPECIAL_STARTS)
_KEY = re.compile(_KEY_RX, re.IGNORECASE | re.UNICODE)
_ELSEWHERE = 2
"""A word that ``_FAST`` does not take as a name (``END``, ``ORDER``), or ``E`` (maybe ``E'…``)."""
_NAMES: dict[str, int] = {}
"""Per word as written: its keyword flag (0 or 1) as a name, or ``_ELSEWHERE``."""


def _name_class(value: str) -> int:
    upper = value.upper()
    if value in ("E", "e"):
        found = _ELSEWHERE
    elif upper in _SPECIAL_WORDS if value.isascii() else _SPECIAL.match(value):
        found = 1 if _KEY.match(value) else _ELSEWHERE
    else:
        found = int(_lookup(upper)[1])
    # Bounded: a file of a million distinct names (generated columns) must not grow it without
    # end; the common words are met first and stay.
    if len(_NAMES) < 50_000:
        _NAMES[value] = found
    return found


def tokenize(text: str, dialect: Dialect, start: int, end: int) -> list[Token]:
    """Return the significant tokens of ``text[start:end]``: no whitespace, no comments.

    One ``finditer`` of :func:`_statement_lexer` takes literals, identifiers and the common
    code tokens in C, with the tokens :func:`tokenize_reference` makes. Other code (a word
    before ``(``, an operator like ``::``) is one sqlparse token read in its stretch of code;
    an unterminated literal, a nested comment or a dollar quote is cut out as the reference
    does; anything with a ``$`` in code hands the rest of the statement to the reference, from
    the end of the last literal or comment (a place where it would start a stretch too).
    """
    if start > 0 and not (text[start - 1].isspace() or text[start - 1] in ";,("):
        # The reference lexes code as a string of its own: nothing before ``start`` is seen.
        return tokenize_reference(text, dialect, start, end)
    patterns = _patterns(dialect)
    lexer = patterns.statement.finditer
    opaque = patterns.opaque
    tokens: list[Token] = []
    append = tokens.append
    new = tuple.__new__
    word, punct, other, string, ident = WORD, PUNCT, OTHER, STRING, IDENT
    names = _NAMES
    name_group, sign_group, number_group, key_group = _NAME_GROUP, _SIGN_GROUP, _NUMBER_GROUP, _KEY_GROUP
    safe_pos, safe_len = start, 0  # where the reference could take over, and the tokens before it
    stretch_end = -1  # the next literal or comment from here on (once looked up)
    pos = start
    while pos < end:
        for m in lexer(text, pos, end):
            k = m.lastindex
            if k is None:
                pos = m.end()
                break
            value = m[k]
            after = m.end()
            at = after - len(value)
            if k == name_group:
                flag = names.get(value)
                if flag is None:
                    flag = _name_class(value)
                if flag == _ELSEWHERE:
                    if value not in ("E", "e") or opaque.match(text, at, end):
                        pos = at  # a word of sqlparse's own regexes, or an E'…' literal
                        break
                    flag = int(_is_keyword(value))
                append(new(Token, (word, value, at, flag == 1)))
            elif k == sign_group:
                append(new(Token, (punct, value, at, False)))
            elif k == number_group:
                number = value if value.isdigit() else ", ".join(_INTEGER.findall(value))
                append(new(Token, (other, number, at, False)))
            elif k == key_group:
                append(new(Token, (word, value, at, True)))
            else:
                append(new(Token, (string if k == _STRING_GROUP else ident, value, at, False)))
                safe_pos, safe_len = after, len(tokens)
        else:  # an empty match at the end always comes: the loop breaks out above
            break
        if pos >= end:
            break
        if opaque.match(text, pos, end) is not None:
            pos = _opaque_token(text, dialect, patterns, pos, end, tokens)
            safe_pos, safe_len = pos, len(tokens)
            continue
        if pos >= stretch_end:
            found = opaque.search(text, pos, end)
            stretch_end = end if found is None else found.start()
        value = _lex_rest(text, pos, pos, tokens, stretch_end)
        if "$" in value:
            # A "$" in code may make the whole stretch one of sqlparse's dollar literals.
            tokens[safe_len:] = tokenize_reference(text, dialect, safe_pos, end)
            return tokens
        pos += len(value)
    return tokens


class Tokenizer:
    """:func:`tokenize` for the statements of one range, in order, from one regex pass.

    A DO block or a called routine is thousands of short statements; a ``finditer`` started
    afresh for each costs as much as lexing the statement. Here one pass runs on from one
    statement into the next: a statement that the pass reads as nothing but the common
    tokens, up to a ``;`` token exactly at its end, gets those tokens — each match started where
    :func:`tokenize` would start it, and none of them reads differently when the text goes on
    past the ``;`` (their look-aheads accept a ``;`` as they accept the end). Anything else
    (a literal the split saw otherwise, a word or sign the loop of :func:`tokenize` treats
    apart, a skipped statement) is handed to :func:`tokenize` itself, and the pass restarts at
    the next statement.
    """

    __slots__ = ("_at", "_dialect", "_end", "_finditer", "_matches", "_text")

    def __init__(self, text: str, dialect: Dialect, end: int) -> None:
        self._text, self._dialect, self._end = text, dialect, end
        self._finditer = _patterns(dialect).statement.finditer
        self._matches: Iterator[re.Match[str]] | None = None
        self._at = -1  # where the pass stands: just after the last statement's ";"

    def tokens(self, start: int, end: int) -> list[Token]:
        """The tokens of ``text[start:end]``, exactly as :func:`tokenize` makes them."""
        text = self._text
        matches = self._matches
        if matches is None or start != self._at:
            if start == 0 or text[start - 1] != ";" or end >= self._end:
                self._matches = None
                return tokenize(text, self._dialect, start, end)
            matches = self._matches = self._finditer(text, start, self._end)
        tokens: list[Token] = []
        append = tokens.append
        new = tuple.__new__
        word, punct, other, string, ident = WORD, PUNCT, OTHER, STRING, IDENT
        names = _NAMES
        name_group, sign_group, number_group, key_group = _NAME_GROUP, _SIGN_GROUP, _NUMBER_GROUP, _KEY_GROUP
        for m in matches:
            k = m.lastindex
            if k is None:
                break
            # The group's span and text by subscript: fewer calls than ``m.group(k)``, ``m.end()``.
            at, after = m.span(k)
            value = m[k]
            if k == name_group:
                flag = names.get(value)
                if flag is None:
                    flag = _name_class(value)
                if flag == _ELSEWHERE:
                    break
                append(new(Token, (word, value, at, flag == 1)))
            elif k == sign_group:
                if value == ";":
                    if at != end:
                        break
                    self._at = after
                    return tokens
                append(new(Token, (punct, value, at, False)))
            elif k == number_group:
                number = value if value.isdigit() else ", ".join(_INTEGER.findall(value))
                append(new(Token, (other, number, at, False)))
            elif k == key_group:
                append(new(Token, (word, value, at, True)))
            else:
                append(new(Token, (string if k == _STRING_GROUP else ident, value, at, False)))
            if after > end:
                break
        self._matches = None
        return tokenize(text, self._dialect, start, end)


def first_opaque(text: str, dialect: Dialect, start: int, end: int) -> int:
    """Offset of the first literal, identifier, comment or dollar quote in ``text[start:end]`` (or ``end``)."""
    m = _patterns(dialect).opaque.search(text, start, end)
    return end if m is None else m.start()


def opaque_search(dialect: Dialect) -> Callable[[str, int, int], re.Match[str] | None]:
    """The search :func:`first_opaque` makes, bound once: a scan asks it of every statement."""
    return _patterns(dialect).opaque.search


def code_stretches(text: str, dialect: Dialect, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield ``(lo, hi)`` of each stretch of ``text[start:end]`` outside literals, identifiers and comments."""
    patterns = _patterns(dialect)
    pos = start
    while pos < end:
        m = patterns.opaque.search(text, pos, end)
        stop = end if m is None else m.start()
        if stop > pos:
            yield pos, stop
        if m is None:
            return
        pos = _skip_opaque(text, dialect, patterns, stop, end, m)


def _skip_opaque(
    text: str, dialect: Dialect, patterns: _Patterns, pos: int, end: int, m: re.Match[str]
) -> int:
    """Offset just past the literal, identifier, comment or dollar quote that ``m`` found at ``pos``."""
    if patterns.line_comment.match(text, pos, end) or (dialect.hash_comments and text[pos] == "#"):
        return _skip_line_comment(text, pos, end)
    if text.startswith("/*", pos):
        return _skip_block_comment(text, pos, end, dialect.nested_comments)
    if text[pos] == "$":
        return _skip_dollar(text, pos, end, m.group())
    lit = patterns.literal.match(text, pos, end)
    return end if lit is None else lit.end()
