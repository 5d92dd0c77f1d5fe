"""The one-pass lexer makes sqlparse's own tokens, so statement identities (and baselines) hold."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pytest_promotion.migrations import lexer
from pytest_promotion.migrations.dialects import DIALECTS, MYSQL, POSTGRESQL, dialect_for
from pytest_promotion.migrations.lexer import (
    Kind,
    Tokenizer,
    _lex_code,
    _lex_with_sqlparse,
    code_stretches,
    statement_spans,
    tokenize,
    tokenize_reference,
)
from pytest_promotion.migrations.scan import migration_files, upper_same_length
from pytest_promotion.migrations.statement import Statement, holds_one_command, normalize

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"


def _sources() -> list[tuple[str, str]]:
    """(dialect name, SQL text) of every rule fixture and every corpus migration."""
    out = []
    for path in sorted((REPO / "tests" / "rules" / "fixtures").glob("*/*.sql")):
        text = path.read_text(encoding="utf-8")
        dialect = next(
            (ln.split(":")[1].strip() for ln in text.splitlines()[:3] if ln.startswith("-- dialect:")),
            "postgresql",
        )
        out.append((dialect, text))
    if CORPUS.is_dir():
        for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
            if (folder / "migration_lock.toml").exists():
                name = dialect_for(folder).name
                out += [(name, p.read_text(encoding="utf-8")) for p in migration_files(folder)]
    return out


SOURCES = _sources()
EXTRA = [
    "SELECT a.b, f(x), x::int, a->>'k', 1.5e3, -1, .5, 0x1F, $1, :name, ?, a <> b, a != b, a <@ b",
    "CREATE OR REPLACE VIEW v AS SELECT * FROM t LEFT OUTER JOIN u ON t.id = u.id ORDER BY 1 NULLS LAST",
    "ALTER TABLE t ADD COLUMN c DOUBLE PRECISION NOT NULL, ADD d INT IF NOT EXISTS; END IF; END LOOP",
    "SELECT x FROM t WHERE a NOT LIKE b AND c REGEXP d GROUP BY e UNION ALL SELECT 1, 2 , 3,4",
    "SELECT ÀB, _x, x$y, x#y, @v, ##t, #t, \\copy, 12abc, a.1, 1., \u00b4n\u00b4",
]


@pytest.mark.parametrize("code", EXTRA)
def test_hard_stretches_normalise_as_sqlparse_does(code: str) -> None:
    assert normalize(_lex_code(code, 0)) == normalize(_lex_with_sqlparse(code, 0))


def test_every_fixture_and_corpus_statement_normalises_as_sqlparse_does() -> None:
    compared = 0
    for name, text in SOURCES:
        dialect = DIALECTS[name]
        for s, e in statement_spans(text, dialect):
            for lo, hi in code_stretches(text, dialect, s, e):
                fast, reference = _lex_code(text[lo:hi], lo), _lex_with_sqlparse(text[lo:hi], lo)
                assert normalize(fast) == normalize(reference), text[lo:hi][:200]
                compared += 1
    assert compared > 100


def test_integer_lists_are_one_token_with_sqlparse_spacing() -> None:
    (token,) = _lex_code("1,2 ,  3", 0)
    assert token.kind is Kind.OTHER
    assert token.text == "1, 2, 3"


def test_mysql_double_dash_needs_whitespace() -> None:
    sql = "SELECT 1--1;\nDROP TABLE v; -- DROP TABLE w;\n"
    assert [sql[s:e].strip() for s, e in statement_spans(sql, MYSQL)][:2] == ["SELECT 1--1", "DROP TABLE v"]
    assert [t.text for t in tokenize(sql, POSTGRESQL, 0, 11)] == ["SELECT", "1"]  # PostgreSQL: a comment


def _starts(sql: str, procedural: bool = False) -> list[str]:
    stmt = Statement(tokenize(sql, POSTGRESQL, 0, len(sql)), procedural)
    return [stmt.tokens[i].text for i in stmt.command_starts()]


def test_the_statement_after_a_cte_list_is_a_command_start_for_every_rule() -> None:
    assert _starts("WITH a AS (SELECT 1), b AS (DELETE FROM t RETURNING *) UPDATE u SET x = 1") == [
        "WITH",
        "DELETE",
        "UPDATE",
    ]
    assert _starts("WITH RECURSIVE r (n) AS (SELECT 1) INSERT INTO t SELECT n FROM r") == ["WITH", "INSERT"]


def test_words_after_parentheses_or_then_need_their_command_shape() -> None:
    assert _starts("INSERT INTO t (delete, b) VALUES (1, 2)") == ["INSERT"]
    assert _starts("SELECT CASE WHEN a THEN truncate ELSE delete END") == ["SELECT"]
    # "x" starts the assignment step; THEN and ELSE inside the CASE expression start nothing.
    assert _starts("IF a THEN x := CASE WHEN b THEN 1 ELSE 2 END; ELSE DELETE FROM t", procedural=True) == [
        "IF",
        "x",
        "DELETE",
    ]


def test_plain_explain_starts_nothing() -> None:
    assert _starts("EXPLAIN (COSTS OFF) WITH d AS (DELETE FROM t) SELECT 1") == ["EXPLAIN"]
    assert _starts("EXPLAIN (ANALYZE) DELETE FROM t") == ["EXPLAIN", "DELETE"]


# Pieces that sit at the edges of the one-pass tokenizer: literals of every dialect (terminated
# or not), comments (nested, unterminated, MySQL's "--" rules, "#"), dollar quotes and "$" in
# code, sqlparse's phrases and special words, words before "(" or ".", unicode.
PIECES = [
    *"SELECT DELETE FROM WITH AS ASC END CASE IN VALUES x E e _x ÀB \u017f \u212a a.b . .. 1 1.5 1e3 .5 0x1F".split(),
    *"'s' 'it''s' E'a\\'b' E' ' \" \"id\" \"q\"\"q\" `b` [br] $$ $$body$$ $t$x$t$ $1 $ x$y a$$b".split(),
    *":: := :n ? %s @v # ##t #t -- --x /* */ /* /**/ /*/ ( ) , ; = <> != <@ ->> || * + - / \\copy".split(),
    *"12abc a.1 1. x#y N'x' now() \u00b4n\u00b4 \u00a0 \t \r\n \n".split(" "),
    "END IF",
    "NOT NULL",
    "IF EXISTS",
    "1, 2 ,3",
    "# c\n",
    "-- c\n",
    "/* c */",
    "/* a /* b */ c */",
    "f (",
    "AT TIME ZONE 'UTC'",
    "ORDER BY",
    "GROUP BY",
    "LEFT OUTER JOIN",
    "DOUBLE PRECISION",
    "CREATE OR REPLACE",
    "NULLS FIRST",
    "UNION ALL",
]


def _fuzz(count: int) -> list[str]:
    rng = random.Random(13)
    return [
        "".join(rng.choice(PIECES) + rng.choice(["", " ", " ", "\n"]) for _ in range(rng.randint(1, 14)))
        for _ in range(count)
    ]


def test_one_pass_tokenize_makes_the_reference_tokens() -> None:
    """The fast path and its hand-overs agree with the stretch-by-stretch reference everywhere."""
    compared = 0
    for name, text in [*SOURCES, *(("postgresql", t) for t in EXTRA), *(("mysql", t) for t in EXTRA)]:
        dialect = DIALECTS[name]
        for s, e in statement_spans(text, dialect):
            assert tokenize(text, dialect, s, e) == tokenize_reference(text, dialect, s, e), text[s:e][:200]
            compared += 1
    rng = random.Random(31)
    for text in _fuzz(3000):
        for dialect in DIALECTS.values():
            lo = rng.choice([0, rng.randint(0, len(text))])
            hi = rng.choice([len(text), rng.randint(lo, len(text))])
            assert tokenize(text, dialect, lo, hi) == tokenize_reference(text, dialect, lo, hi), (
                dialect.name,
                text[lo:hi],
            )
            compared += 1
    assert compared > 15000


def test_one_pass_over_many_statements_makes_the_tokens_of_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Tokenizer`` runs one regex pass across statements; each statement's tokens are tokenize's."""
    handed_over = []
    monkeypatch.setattr(lexer, "tokenize", lambda *args: handed_over.append(args) or tokenize(*args))
    rng = random.Random(37)
    fuzzed = [";".join(_fuzz(rng.randint(1, 9))) for _ in range(1500)]
    shapes = [
        "DO $$ BEGIN\n" + "".join(f'  DELETE FROM "T" WHERE "id" = {k};\n' for k in range(50)) + "END $$;"
    ]
    compared = 0
    cases = [
        *SOURCES,
        *(("postgresql", t) for t in [*EXTRA, *fuzzed, *shapes]),
        *(("mysql", t) for t in fuzzed),
    ]
    for name, text in cases:
        dialect = DIALECTS[name]
        for skip in (0.0, 0.3):  # the scan tokenizes only some statements of a range
            for lo in (0, rng.randint(0, len(text))):
                one_pass = Tokenizer(text, dialect, len(text))
                for s, e in statement_spans(text, dialect, lo):
                    if rng.random() < skip:
                        continue
                    assert one_pass.tokens(s, e) == tokenize(text, dialect, s, e), (name, text[s:e][:200])
                    compared += 1
    assert compared > 12000  # the fixtures and the fuzz alone; the corpus adds more when present
    handed_over.clear()
    one_pass = Tokenizer(shapes[0], POSTGRESQL, len(shapes[0]))
    for s, e in list(statement_spans(shapes[0], POSTGRESQL, shapes[0].index("BEGIN")))[:-1]:
        one_pass.tokens(s, e)
    assert len(handed_over) == 1  # the first: the pass starts only after a ";"


def test_a_statement_marked_one_command_has_no_other_command_start() -> None:
    """``holds_one_command`` is a safe shortcut: the full pass finds the same single start."""
    marked = 0
    texts = [*SOURCES, *(("postgresql", t) for t in [*EXTRA, *_fuzz(2000)])]
    for name, text in texts:
        dialect = DIALECTS[name]
        upper = upper_same_length(text)
        for s, e in statement_spans(text, dialect):
            if not holds_one_command(text, upper, s, e):
                continue
            tokens = tokenize(text, dialect, s, e)
            for procedural in (False, True):
                full = Statement(tokens, procedural, name)
                assert list(Statement(tokens, procedural, name, True).command_starts()) == list(
                    full.command_starts()
                ), text[s:e][:200]
            marked += 1
    assert marked > 1000


def test_the_keyword_cache_stays_bounded_over_endless_distinct_names() -> None:
    from pytest_promotion.migrations import lexer

    names = " ".join(f"col_{n}" for n in range(lexer.KEYWORD_CACHE_LIMIT + 10_000))
    text = f"SELECT {names} FROM t"
    tokens = lexer.tokenize(text, POSTGRESQL, 0, len(text))
    assert len(lexer._KEYWORD_FLAG) <= lexer.KEYWORD_CACHE_LIMIT
    assert [t.keyword for t in tokens if t.text in ("SELECT", "FROM", "col_1")] == [True, False, True]


def test_searches_written_letter_first_find_what_their_plain_forms_find() -> None:
    """``WORD(?<!\\wWORD)`` is ``\\bWORD``, ``E(?<![\\w$]E)'`` is ``(?<![\\w$])E'``: at every offset."""
    import re

    from pytest_promotion.migrations.lexer import _patterns
    from pytest_promotion.migrations.statement import _INNER_HINT, _INNER_WORDS

    plain_hint = re.compile(r"\(|\b(?:" + "|".join(_INNER_WORDS) + r")\b")
    opaque = _patterns(POSTGRESQL).opaque
    plain_opaque = re.compile(r"(?<![\w$])[Ee]'|--|/\*|\"|'|(?<![\w$])\$(?:[^\W\d]\w*)?\$")
    rng = random.Random(41)
    pieces = [
        "THEN",
        "xTHEN",
        "THEN_",
        "(",
        " ",
        "END",
        "_END",
        "ÄEND",
        "9FOR",
        "$FOR",
        "E'",
        "xE'",
        "$E'",
        "e'",
    ]
    pieces += ["$$", "a$$", "$$a", "$t$", "é$t$", "1$t$", "--", "/*", '"', "'", "ATOMIC", "é", "Ω"]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 7)))
        for at in range(len(text) + 1):
            hint, plain = _INNER_HINT.search(text, at), plain_hint.search(text, at)
            assert (hint and hint.span()) == (plain and plain.span()), text
            found, expected = opaque.search(text, at), plain_opaque.search(text, at)
            assert (found and (found.span(), found.group())) == (
                expected and (expected.span(), expected.group())
            )
