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
from pytest_promotion.migrations.lexer import DOLLAR, IDENT, STRING, WORD, Token
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


def dynamic_sql(stmt: Statement, dialect: Dialect) -> Iterator[DynamicSql]:
    """Every place ``stmt`` runs a string as SQL, in token order.

    PostgreSQL: ``EXECUTE`` in a procedural body (top-level ``EXECUTE name`` runs a prepared
    statement, whose ``PREPARE … AS`` command is read as a command of its own). SQL Server:
    ``EXEC(…)``/``EXECUTE(…)`` and ``sp_executesql`` — looked for at every token, as T-SQL needs
    no ``;`` between statements. MySQL: ``PREPARE name FROM …``.
    """
    toks = stmt.tokens
    if dialect.dollar_quotes:
        if stmt.procedural:
            for i in stmt.command_starts():
                if toks[i].is_word("EXECUTE"):
                    yield DynamicSql(i, literal_argument(toks, i + 1))
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
            yield DynamicSql(k, tuple(joined) if closed else None)
            continue
        if j + 1 < n and toks[j].text.startswith("@") and toks[j + 1].text == "=":
            j += 2  # EXEC @rc = procedure …
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
                yield DynamicSql(k, found or None)


def _statement_argument(toks: Sequence[Token], j: int) -> tuple[Token, ...] | None:
    """sp_executesql's statement from ``j`` on: the first argument, or the one named ``@stmt``.

    Its literals; ``()`` when it is computed (a variable); None when there is none to run (the
    next statement follows at once). Named arguments may come in any order.
    """
    n, first = len(toks), True
    while j < n:
        named = j + 1 < n and toks[j].text.startswith("@") and toks[j + 1].text == "="
        name = toks[j].text.upper() if named else None
        if named:
            j += 2
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
        if tok.is_word("PREPARE") and k + 3 < n and toks[k + 2].is_word("FROM"):
            yield DynamicSql(k, literal_argument(toks, k + 3), backslashes=True)
