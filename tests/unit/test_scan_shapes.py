"""Small instances of the adversarial shapes of ``benchmarks/scan.py --scale``, with their findings.

The benchmark times these shapes at megabytes; the faster paths it measures (marks found lazily,
one regex pass over a body's statements) must leave every finding as it was. Each shape here
is small enough to state its findings one by one.
"""

from __future__ import annotations

from pytest_promotion.migrations.dialects import DIALECTS
from pytest_promotion.migrations.rules import select_rules
from pytest_promotion.migrations.scan import scan_text

N = 40
DELETE = '  DELETE FROM "T" WHERE "id" = {k};\n'
HEAD = "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"


def findings(sql: str, dialect: str = "postgresql", rules: str = "default") -> list[tuple[int, str, str]]:
    found = scan_text(sql, DIALECTS[dialect], select_rules([rules]), "m")
    return [(f.line, f.rule, f.statement) for f in found]


def lines(template: str) -> str:
    return "".join(template.format(k=k) for k in range(N))


def deletes(first_line: int) -> list[tuple[int, str, str]]:
    return [(first_line + k, "delete-from", f'DELETE FROM "T" WHERE "id" = {k}') for k in range(N)]


def test_routine_bodies_only_created_are_not_scanned() -> None:
    mysql = "CREATE PROCEDURE `p`()\nBEGIN\n" + lines("  DELETE FROM `T` WHERE `id` = {k};\n") + "END;\n"
    assert findings(mysql, "mysql") == []
    assert findings(HEAD + lines(DELETE) + "END;\n") == []


def test_a_called_routine_and_a_do_block_report_each_delete_at_its_line() -> None:
    assert findings(HEAD + lines(DELETE) + "END;\nSELECT f();\n") == deletes(3)
    assert findings("DO $$\nBEGIN\n" + lines(DELETE) + "END $$;\n") == deletes(3)


def test_every_cte_of_one_with_is_a_finding_with_the_statement_as_its_identity() -> None:
    sql = (
        "WITH d AS (SELECT 1)"
        + lines(',\n d{k} AS (DELETE FROM "T" WHERE "id" = {k} RETURNING "id")')
        + "\nSELECT 1;\n"
    )
    whole = "WITH d AS (SELECT 1), " + ", ".join(
        f'd{k} AS (DELETE FROM "T" WHERE "id" = {k} RETURNING "id")' for k in range(N)
    )
    assert findings(sql) == [(2 + k, "delete-from", whole + " SELECT 1") for k in range(N)]


def test_one_long_statement_is_one_finding_and_seed_strings_none() -> None:
    assert findings('DELETE FROM "T" WHERE "id" IN (1' + ", 1" * N + ");\n") == [
        (1, "delete-from", 'DELETE FROM "T" WHERE "id" IN (' + ", ".join(["1"] * (N + 1)) + ")")
    ]
    soup = 'DELETE FROM "T" WHERE a = 0' + lines(" OR col_{k} = k{k}") + ";\n"
    assert findings(soup) == [(1, "delete-from", soup.strip().removesuffix(";"))]
    seed = (
        'INSERT INTO "Note" ("id", "body") VALUES (0, \'\')'
        + lines(",\n({k}, 'please delete; then drop table x')")
        + ";\n"
    )
    assert findings(seed) == []


def test_a_body_mixing_statements_the_one_pass_hands_over_keeps_every_finding() -> None:
    """Calls, casts, literals holding ';', comments and dollar quotes between the deletes."""
    body = (
        "  DELETE FROM t WHERE a = 'x;y';\n"
        "  PERFORM g(1);\n"
        "  DELETE FROM t WHERE b = 2::int; -- a comment; with a semicolon\n"
        "  /* DELETE FROM hidden; */ TRUNCATE u;\n"
        "  EXECUTE 'DROP TABLE v';\n"
        "  DELETE FROM t WHERE c = $q$;$q$;\n"
        "  DROP TABLE w;\n"
    )
    assert findings("DO $$\nBEGIN\n" + body + "END $$;\n") == [
        (3, "delete-from", "DELETE FROM t WHERE a = 'x;y'"),
        (5, "delete-from", "DELETE FROM t WHERE b = 2::int"),
        (6, "truncate", "TRUNCATE u"),
        (7, "drop-table", "DROP TABLE v"),
        (8, "delete-from", "DELETE FROM t WHERE c = $q$;$q$"),
        (9, "drop-table", "DROP TABLE w"),
    ]


def test_marks_after_a_long_skipped_body_are_found_where_the_search_restarts() -> None:
    """Past a routine body longer than the restart gap, the keyword search starts again at the query."""
    body = "".join(DELETE.format(k=k) for k in range(200))  # about 7 KB: more than the gap
    sql = HEAD + body + "END;\nDROP TABLE x;DELETE FROM y;\nSELECT f();\n"
    tail = 3 + 200 + 1
    assert findings(sql) == [
        *((3 + k, "delete-from", f'DELETE FROM "T" WHERE "id" = {k}') for k in range(200)),
        (tail, "drop-table", "DROP TABLE x"),
        (tail, "delete-from", "DELETE FROM y"),
    ]
    assert findings(HEAD + body + "END;\nDROP TABLE x;\n") == [(tail, "drop-table", "DROP TABLE x")]


TRICKY_BODIES = [
    HEAD
    + "  DELETE FROM t WHERE a = ';';\n  SELECT $q$ ; $q$; -- ; END\n  /* ; */ SELECT (1);\nEND;\nSELECT f();",
    "CREATE PROCEDURE p() BEGIN\n  IF a THEN BEGIN DELETE FROM t; END; END IF;\n  CASE WHEN b THEN SELECT 1; END CASE;\nEND;\nCALL p();",
    HEAD + "  DELETE FROM t;;\n  SELECT 'unterminated ; …",
    "SELECT 1;\n" + HEAD + lines(DELETE) + "END;\nSELECT f();",
    "CREATE PROCEDURE p() begin\n  if a then begin delete from t; end; end if;\n  select (1);\nend;\nCALL p();",
    # "İ" matches "i" ignoring case: the join reads such a range with the block-word regex itself.
    "CREATE PROCEDURE p() BEGİN\n  DELETE FROM t;\n  begin DELETE FROM u; end;\nEND;\nCALL p();",
]


def test_a_join_reads_block_words_in_any_case_and_where_only_case_folding_makes_one() -> None:
    """The join's fast search of block words finds what the regex finds, ignoring case."""
    lower = "CREATE PROCEDURE p() begin\n  if a then begin delete from t; end; end if;\nend;\nDROP TABLE d;"
    assert findings(lower, "mysql") == [(4, "drop-table", "DROP TABLE d")]
    # Read as the regex reads it, "BEGİN" opens a block: the procedure ends at the last END.
    dotted = "CREATE PROCEDURE p() BEGIN\n  SELECT 1;\n  BEGİN DELETE FROM u; END;\n  DELETE FROM t;\nEND;\nDROP TABLE d;"
    assert findings(dotted, "mysql") == [(6, "drop-table", "DROP TABLE d")]


def test_a_begin_end_bodys_kept_spans_are_what_splitting_the_body_makes() -> None:
    """A called BEGIN … END body is read through the spans the file's split joined it from.

    Splitting the body alone must make the same spans: each fixture, in every dialect, and the
    bodies here whose literals, comments and dollar quotes hold ';' are held to it.
    """
    from pathlib import Path

    from pytest_promotion.migrations.lexer import statement_spans
    from pytest_promotion.migrations.scan import _context_trigger, _Scan, upper_same_length
    from pytest_promotion.migrations.statement import FileContext

    fixtures = Path(__file__).parents[1] / "rules" / "fixtures"
    texts = [p.read_text(encoding="utf-8") for p in sorted(fixtures.glob("*/*.sql"))] + TRICKY_BODIES
    rules = select_rules(["all"])
    checked = 0
    for text in texts:
        for dialect in DIALECTS.values():
            scan = _Scan(dialect, rules, FileContext(dialect), _context_trigger(rules))
            scan.hits(text, upper_same_length(text), 0, len(text), False, [], ())
            for name, routine in scan.ctx.routines.items():
                if routine.spans is None:
                    continue
                where = scan.places[name]
                assert list(routine.spans) == list(
                    statement_spans(where.text, dialect, routine.start, routine.end)
                )
                checked += 1
    assert checked > 20


def test_many_routines_each_called_once_report_every_body() -> None:
    # Past NameSearch's few names, routine names are looked up word by word: every call found.
    count = 3 * 40
    sql = "".join(
        f'CREATE FUNCTION f{k}() RETURNS int LANGUAGE sql AS $$ DELETE FROM "T" WHERE "id" = {k} '
        f"RETURNING 1 $$;\nSELECT f{k}();\n"
        for k in range(count)
    )
    found = findings(sql)
    assert [line for line, _, _ in found] == [1 + 2 * k for k in range(count)]
    # A name that is a prefix of another, or a routine never called, runs no body.
    assert findings(sql.replace("SELECT f7();", "SELECT f7x(), xf7();")) == [
        row for row in found if row[0] != 15
    ]
