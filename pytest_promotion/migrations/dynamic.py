"""Where a statement runs SQL handed over as a string: EXECUTE, EXEC, sp_executesql, PREPARE.

A string literal's SQL runs when the migration does (``EXEC('DROP TABLE x')`` drops the table),
so the scan reads it like the file's own statements; SQL computed while the migration runs
cannot be read, and the opt-in dynamic-sql rule reports it. The forms of every dialect are
known here, in one place, so that the scan and the rule agree on which is which.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pytest_promotion.migrations.dialects import Dialect
from pytest_promotion.migrations.lexer import DOLLAR, IDENT, STRING, WORD, Token, tokenize
from pytest_promotion.migrations.statement import Statement, name_key

_CONCAT = {"sqlserver": "+"}
"""The operator that joins literals into one string, where it is not ``||``."""


@dataclass(frozen=True, slots=True)
class DynamicSql:
    """One place that runs a string as SQL."""

    at: int
    """Token index of the word that runs it (EXECUTE, EXEC, PREPARE)."""
    literals: tuple[Token, ...] | None
    """The literals the string is joined from; None when it is computed (a variable, a call)."""
    backslashes: bool = False
    """MySQL: a backslash escapes the next character in these literals."""
    variable: str | None = None
    """The variable the string is, when it is one alone (``EXECUTE q``, ``EXEC(@s)``, ``FROM @q``):
    the literals it was assigned are read (:func:`assigned_literals`)."""


def dynamic_sql(stmt: Statement, dialect: Dialect) -> Iterator[DynamicSql]:
    """Every place ``stmt`` runs a string as SQL, in token order.

    PostgreSQL: ``EXECUTE`` in a procedural body (top-level ``EXECUTE name`` runs a prepared
    statement, whose ``PREPARE … AS`` command is read as a command of its own). SQL Server:
    ``EXEC(…)``/``EXECUTE(…)`` and ``sp_executesql`` — looked for at every token, as T-SQL needs
    no ``;`` between statements. MySQL: ``PREPARE name FROM …``, MariaDB's ``EXECUTE IMMEDIATE``.
    """
    toks = stmt.tokens
    if dialect.dollar_quotes:
        if stmt.procedural:
            for i in stmt.command_starts():
                if toks[i].is_word("EXECUTE"):
                    literals = literal_argument(toks, i + 1)
                    variable = None if literals is not None else _alone(toks, i + 1)
                    yield DynamicSql(i, literals, variable=variable)
    elif dialect.name == "sqlserver":
        yield from _tsql(toks)
    elif dialect.name == "mysql":
        yield from _mysql(toks)


def literal_argument(toks: Sequence[Token], k: int, concat: str = "||") -> tuple[Token, ...] | None:
    """The literals of ``'a' || 'b'`` starting at ``k``, or None when the argument is computed.

    The argument ends at the end of the statement, at ``;``, ``,`` or ``)``, or at ``USING``,
    ``INTO`` or ``LOOP`` (PL/pgSQL's EXECUTE … USING, FOR … IN EXECUTE … LOOP).
    """
    opened = 0
    while k < len(toks) and toks[k].text == "(":  # EXECUTE ('…'): the parentheses hold the same string
        opened, k = opened + 1, k + 1
    literals, j = joined_literals(toks, k, concat)
    for _ in range(opened):
        if not (j < len(toks) and toks[j].text == ")"):
            return None
        j += 1
    ends = j >= len(toks) or toks[j].text in (";", ",", ")") or toks[j].is_word("USING", "INTO", "LOOP")
    return tuple(literals) if literals and ends else None


def joined_literals(toks: Sequence[Token], k: int, concat: str = "||") -> tuple[list[Token], int]:
    """The literals that make one string from ``k`` on, and the index of the token after them.

    Joined by ``concat``, or written one after another (PostgreSQL joins constants split over
    lines, MySQL any adjacent ones); a literal may carry a prefix word written against it
    (SQL Server's ``N'…'``, MySQL's ``_utf8mb4'…'``).
    """
    literals: list[Token] = []
    j, n = k, len(toks)
    while j < n:
        tok = toks[j]
        if tok.kind is WORD and j + 1 < n and toks[j + 1].kind is STRING:
            if toks[j + 1].start != tok.start + len(tok.text):
                break  # a word, then a literal: not a prefix
            j += 1
            tok = toks[j]
        if tok.kind not in (STRING, DOLLAR):
            break
        literals.append(tok)
        j += 1
        if j < n and toks[j].text == concat:
            j += 1
    if literals and j > k and toks[j - 1].text == concat:
        j -= 1  # 'a' || f(x): the operator belongs to what follows
    return literals, j


def _tsql(toks: Sequence[Token]) -> Iterator[DynamicSql]:
    n = len(toks)
    for k, tok in enumerate(toks):
        if not tok.is_word("EXEC", "EXECUTE"):
            continue
        j = k + 1
        if j < n and toks[j].text == "(":
            # The string fills the parentheses: EXEC('a' + 'b'), EXEC('…') AT linked_server.
            joined, after = joined_literals(toks, j + 1, "+")
            closed = joined and after < n and toks[after].text == ")"
            variable = None
            named = None if closed else variable_at(toks, j + 1)
            if named is not None and named[1] < n and toks[named[1]].text == ")":
                variable = named[0]  # EXEC(@s)
            yield DynamicSql(k, tuple(joined) if closed else None, variable=variable)
            continue
        returned = variable_at(toks, j)
        if returned is not None and returned[1] < n and toks[returned[1]].text == "=":
            j = returned[1] + 1  # EXEC @rc = procedure …
        procedure: Token | None = None
        while j < n and toks[j].kind in (WORD, IDENT):
            procedure = toks[j]
            j += 1
            if j < n and toks[j].text == ".":
                while j < n and toks[j].text == ".":  # master..sp_executesql
                    j += 1
                continue
            break
        if procedure is not None and name_key(procedure) == "sp_executesql":
            found = _statement_argument(toks, j)
            if found is not None:
                variable = None
                if not found:
                    variable = _statement_variable(toks, j)
                yield DynamicSql(k, found or None, variable=variable)


def _statement_argument(toks: Sequence[Token], j: int) -> tuple[Token, ...] | None:
    """sp_executesql's statement from ``j`` on: the first argument, or the one named ``@stmt``.

    Its literals; ``()`` when it is computed (a variable); None when there is none to run (the
    next statement follows at once). Named arguments may come in any order.
    """
    n, first = len(toks), True
    while j < n:
        at = variable_at(toks, j)
        named = at is not None and at[1] < n and toks[at[1]].text == "="
        name = at[0].upper() if at is not None and named else None
        if at is not None and named:
            j = at[1] + 1
        elif first and toks[j].kind is WORD and not (j + 1 < n and toks[j + 1].kind is STRING):
            return None  # sp_executesql alone, then the next statement
        literals, after = joined_literals(toks, j, "+")
        if literals and after < n and toks[after].text not in (",", ";") and toks[after].kind is not WORD:
            literals = []  # N'…' + @name: computed
        j = after if literals else j + 1
        while j < n and toks[j].is_word("OUTPUT", "OUT"):
            j += 1
        if name == "@STMT" or (first and name is None):
            return tuple(literals)
        first = False
        if not (j < n and toks[j].text == ","):
            return None
        j += 1
    return None


def _mysql(toks: Sequence[Token]) -> Iterator[DynamicSql]:
    n = len(toks)
    for k, tok in enumerate(toks):
        if tok.is_word("EXECUTE") and k + 2 < n and toks[k + 1].is_word("IMMEDIATE"):  # MariaDB
            literals = literal_argument(toks, k + 2)
            named = None if literals is not None else variable_at(toks, k + 2)
            variable = None if named is None else named[0]
            yield DynamicSql(k, literals, backslashes=True, variable=variable)
            continue
        if tok.is_word("PREPARE") and k + 3 < n and toks[k + 2].is_word("FROM"):
            literals = literal_argument(toks, k + 3)
            named = None if literals is not None else variable_at(toks, k + 3)  # FROM @q
            variable = None if named is None else named[0]
            yield DynamicSql(k, literals, backslashes=True, variable=variable)


def _alone(toks: Sequence[Token], k: int) -> str | None:
    """The name at ``k`` when it is the whole argument (``EXECUTE q;``, ``… USING``)."""
    if not (k < len(toks) and toks[k].kind in (WORD, IDENT)):
        return None
    after = k + 1
    if after < len(toks) and not (toks[after].text == ";" or toks[after].is_word("USING", "INTO", "LOOP")):
        return None
    return name_key(toks[k])


def _statement_variable(toks: Sequence[Token], j: int) -> str | None:
    """sp_executesql's statement when it is a variable: the first argument, or ``@stmt = @v``."""
    n = len(toks)
    while j < n:
        at = variable_at(toks, j)
        if at is None:
            return None
        if at[1] < n and toks[at[1]].text == "=":
            if at[0].upper() == "@STMT":
                value = variable_at(toks, at[1] + 1)
                return None if value is None else value[0]
        else:
            return at[0]  # positional: the first argument
        j = at[1]
        while j < n and toks[j].text != ",":
            j += 1
        j += 1
    return None


def variable_at(toks: Sequence[Token], k: int) -> tuple[str, int] | None:
    """A ``@name`` variable at ``k`` and the index after it, as the lexer gives it: one token
    (``@sql``), or ``@`` and a one-letter name (``@s``, as sqlparse reads it)."""
    if k >= len(toks):
        return None
    tok = toks[k]
    if len(tok.text) > 1 and tok.text.startswith("@") and tok.kind is not STRING:
        return tok.text, k + 1
    if tok.text == "@" and k + 1 < len(toks) and toks[k + 1].kind in (WORD, IDENT):
        name = toks[k + 1]
        if name.start == tok.start + 1:
            return "@" + name.text.strip('`[]"'), k + 2
    return None


_ASSIGN = (":=", "=")
_ASSIGNMENT_WINDOW = 512


def assigned_literals(
    text: str, dialect: Dialect, variable: str, occurrences: Iterator[int]
) -> list[tuple[int, tuple[Token, ...] | None]]:
    """Each assignment of ``variable`` at one of ``occurrences`` (offsets of its name in code).

    ``(offset, literals)``: the literals a ``var := 'a' || 'b'``, ``DECLARE @v type = N'…'``,
    ``SET @v = '…'``, ``v type DEFAULT '…'`` gives it, or None when the value is computed. An
    occurrence that assigns nothing (a use, a comparison read as one) yields nothing, or a
    literal it is compared with: read as SQL too, which can only add findings.
    """
    concat = _CONCAT.get(dialect.name, "||")
    found: list[tuple[int, tuple[Token, ...] | None]] = []
    for at in occurrences:
        window = _ASSIGNMENT_WINDOW
        while True:
            end = min(len(text), at + window)
            toks = tokenize(text, dialect, at, end)
            value = _assignment_value(toks)
            if value is None:
                break
            literals, after = joined_literals(toks, value, concat)
            if after < len(toks) or end >= len(text):
                ends = after >= len(toks) or toks[after].text in (";", ",", ")") or toks[after].kind is WORD
                found.append((at, tuple(literals) if literals and ends else None))
                break
            window *= 2  # the literals run on past the window: read further
    return found


def _assignment_value(toks: Sequence[Token]) -> int | None:
    """Index of the value in ``name [type] {:= | = | DEFAULT} value`` (tokens from the name on)."""
    named = variable_at(toks, 0)
    skip = 1 if named is None else named[1]
    for j in range(skip, min(len(toks), skip + 10)):
        tok = toks[j]
        if tok.text in _ASSIGN or tok.is_word("DEFAULT"):
            return j + 1 if j + 1 < len(toks) else None
        if tok.text in (";", ",") or tok.kind in (STRING, DOLLAR):
            return None
    return None
