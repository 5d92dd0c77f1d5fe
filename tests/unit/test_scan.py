"""The documented scan API, statement identity, and the lexer's hard cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.migrations import Finding, MigrationFileError, scan
from pytest_promotion.migrations.dialects import POSTGRESQL, dialect_for
from pytest_promotion.migrations.lexer import statement_spans
from pytest_promotion.migrations.rules import select_rules
from pytest_promotion.migrations.scan import scan_text

DEFAULT = select_rules(["default"])


def findings(sql: str, rules: tuple[str, ...] = ("default",)) -> list[tuple[int, str, str]]:
    return [(f.line, f.rule, f.statement) for f in scan_text(sql, POSTGRESQL, select_rules(rules), "m")]


def write(folder: Path, name: str, sql: str) -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "migration.sql").write_text(sql)


def test_scan_api_returns_findings_in_migration_order(tmp_path: Path) -> None:
    write(tmp_path, "2_second", "TRUNCATE t;")
    write(tmp_path, "1_first", "SELECT 1;\nDROP TABLE a;")
    assert scan(tmp_path) == [
        Finding("1_first", 2, "drop-table", "DROP TABLE a", scan(tmp_path)[0].fingerprint),
        Finding("2_second", 1, "truncate", "TRUNCATE t", scan(tmp_path)[1].fingerprint),
    ]
    assert scan(tmp_path)[0].path == "1_first/migration.sql"
    assert scan(tmp_path, rules=["truncate"])[0].rule == "truncate"


def test_scan_api_reports_non_utf8(tmp_path: Path) -> None:
    (tmp_path / "1_bad").mkdir()
    (tmp_path / "1_bad" / "migration.sql").write_bytes(b"SELECT '\xff';")
    with pytest.raises(MigrationFileError, match=r"is not valid UTF-8 \(byte 0xff on line 1\)"):
        scan(tmp_path)


def test_unknown_rule_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown rule 'nope'"):
        scan(tmp_path, rules=["nope"])


def test_identity_ignores_whitespace_comments_and_keyword_case() -> None:
    a = findings('ALTER TABLE "User" DROP COLUMN "bio";')
    b = findings('-- note\nalter   table "User"\n  /* why */ drop column "bio"  ;')
    assert [x[2] for x in a] == [x[2] for x in b] == ['ALTER TABLE "User" DROP COLUMN "bio"']


def test_each_action_of_a_multi_action_alter_table_is_its_own_finding() -> None:
    sql = 'ALTER TABLE "T" DROP CONSTRAINT "k",\nDROP COLUMN "a",\n  DROP "b",\nADD COLUMN "c" TEXT;'
    assert findings(sql) == [
        (2, "drop-column", 'ALTER TABLE "T" DROP COLUMN "a"'),
        (3, "drop-column", 'ALTER TABLE "T" DROP "b"'),
    ]


def test_line_is_where_the_statement_starts_not_its_comment() -> None:
    assert findings("/* a\n b */\n-- DropTable\n\nDROP TABLE x;")[0][0] == 5


def test_crlf_and_bom_do_not_change_lines_or_identity() -> None:
    lf = findings("SELECT 1;\nDELETE FROM t WHERE a = 'x\ny';\n")
    crlf = findings("\ufeffSELECT 1;\r\nDELETE FROM t WHERE a = 'x\r\ny';\r\n".removeprefix("\ufeff"))
    assert lf == crlf == [(2, "delete-from", "DELETE FROM t WHERE a = 'x\ny'")]


def test_nested_comment_hides_its_whole_content() -> None:
    assert findings("/* outer /* inner */ DROP TABLE x; */ SELECT 1;") == []


def test_unterminated_string_runs_to_the_end() -> None:
    assert findings("SELECT 'abc; DROP TABLE x;") == []


def test_do_block_statements_are_found_at_their_own_line() -> None:
    sql = "DO $$\nBEGIN\n  IF true THEN\n    DELETE FROM t;\n  END IF;\nEND $$;"
    assert findings(sql) == [(4, "delete-from", "DELETE FROM t")]


def test_function_body_is_not_scanned() -> None:
    sql = "CREATE FUNCTION f() RETURNS void AS $$ DELETE FROM t; $$ LANGUAGE sql;"
    assert findings(sql) == []


def test_a_comment_naming_a_routine_is_no_call_and_no_crash() -> None:
    """A statement of nothing but a comment has no tokens: looking for calls in it must not fail."""
    sql = "CREATE FUNCTION f() RETURNS int AS $$ DELETE FROM t $$ LANGUAGE sql;\n/* f() */;\nDROP TABLE u;"
    assert findings(sql) == [(3, "drop-table", "DROP TABLE u")]
    assert findings(sql.replace("/* f() */;\nDROP TABLE u;", "-- f(), then DROP TABLE u\n")) == []


def test_a_routine_called_from_a_do_block_given_as_a_string_is_scanned() -> None:
    """The call is read in the string's SQL; the body is read in the file, where it was created."""
    create = "CREATE FUNCTION f() RETURNS void AS $$ DELETE FROM t $$ LANGUAGE sql;\n"
    assert findings(create + "DO 'BEGIN PERFORM f(); END';") == [(1, "delete-from", "DELETE FROM t")]
    assert findings(create + "DO $$ BEGIN PERFORM f(); END $$;") == [(1, "delete-from", "DELETE FROM t")]
    made_in_a_string = (
        "DO 'BEGIN EXECUTE ''CREATE FUNCTION g() RETURNS void AS ''''DROP TABLE u'''' LANGUAGE sql''; END';"
    )
    assert findings(made_in_a_string + "\nSELECT g();") == [(1, "drop-table", "DROP TABLE u")]


_G = "CREATE FUNCTION g() RETURNS void LANGUAGE sql AS $f$ DELETE FROM t $f$"


@pytest.mark.parametrize(
    "sql",
    [
        f"DO 'BEGIN {_G}; END';\nSELECT g();",
        f"DO $$ BEGIN {_G}; END $$;\nSELECT g();",
        "DO $$ BEGIN CREATE PROCEDURE p() LANGUAGE sql AS $f$ DELETE FROM t $f$; END $$;\nCALL p();",
        f"DO $$ BEGIN IF true THEN {_G}; END IF; END $$;\nSELECT g();",
        f"DO $$ <<l>> BEGIN {_G}; END $$;\nSELECT g();",
        f"DO $$ BEGIN NULL; EXCEPTION WHEN others THEN {_G}; END $$;\nSELECT g();",
        f"DO $$ BEGIN {_G}; PERFORM g(); END $$;",
        f"DO $a$ BEGIN DO $b$ BEGIN {_G}; END $b$; END $a$;\nSELECT g();",
        "DO 'BEGIN CREATE FUNCTION g() RETURNS void LANGUAGE sql AS ''DELETE FROM t''; END';\nSELECT g();",
        "DO $$ BEGIN CREATE FUNCTION g() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM t; END; END $$;\n"
        "SELECT g();",
        # A function that creates one when it runs.
        f"CREATE FUNCTION o() RETURNS void LANGUAGE plpgsql AS $o$ BEGIN {_G}; END $o$;\nSELECT o();\nSELECT g();",
    ],
)
def test_a_routine_created_by_a_step_that_runs_now_and_called_later_is_scanned(sql: str) -> None:
    """A step after BEGIN/THEN in a body that runs at migration time creates its routine as the file does."""
    assert [rule for _, rule, _ in findings(sql)] == ["delete-from"]


@pytest.mark.parametrize(
    "made",
    [
        "DO $$ BEGIN CREATE FUNCTION g() RETURNS void LANGUAGE sql AS $f$ SELECT h() $f$; END $$;",
        "DO $$ BEGIN EXECUTE 'CREATE FUNCTION g() RETURNS void LANGUAGE sql AS $f$ SELECT h() $f$'; END $$;",
    ],
)
def test_a_routine_created_without_a_risky_word_is_remembered_for_what_it_calls(made: str) -> None:
    """g holds no risky word, but it calls h, created later in the file: the call of g runs h's DELETE."""
    sql = f"{made}\nCREATE FUNCTION h() RETURNS void LANGUAGE sql AS $f$ DELETE FROM t $f$;\nSELECT g();"
    assert findings(sql) == [(2, "delete-from", "DELETE FROM t")]


@pytest.mark.parametrize(
    "head",
    ["CREATE /* made here */ FUNCTION", "CREATE OR -- again\nREPLACE/**/FUNCTION", "CREATE\n-- c\nPROCEDURE"],
)
def test_a_routine_whose_head_holds_comments_is_remembered(head: str) -> None:
    call = "CALL" if "PROCEDURE" in head else "SELECT"
    sql = f"{head} g() LANGUAGE sql AS $f$ DELETE FROM t $f$;\n{call} g();"
    assert [rule for _, rule, _ in findings(sql)] == ["delete-from"]
    assert [rule for _, rule, _ in findings(f"DO $$ BEGIN {sql} END $$;")] == ["delete-from"]


def test_a_routine_replaced_after_a_call_is_scanned_again_at_the_next_call() -> None:
    sql = (
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $f$ SELECT 1 $f$;\nSELECT g();\n"
        "CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql AS $f$ DELETE FROM t RETURNING 1 $f$;\nSELECT g();"
    )
    assert findings(sql) == [(3, "delete-from", "DELETE FROM t RETURNING 1")]


def test_a_routine_that_replaces_and_calls_itself_is_scanned_once() -> None:
    body = "BEGIN CREATE OR REPLACE FUNCTION g() RETURNS void LANGUAGE plpgsql AS $i$ BEGIN NULL; END $i$; PERFORM g(); DELETE FROM t; END"
    sql = f"CREATE FUNCTION g() RETURNS void LANGUAGE plpgsql AS $o$ {body} $o$;\nSELECT g();"
    assert [rule for _, rule, _ in findings(sql)] == ["delete-from"]


@pytest.mark.parametrize(
    "sql",
    [
        f"DO $$ BEGIN {_G}; END $$;",
        "DO $$ BEGIN CREATE FUNCTION g() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM t; END; END $$;",
        f"DO $$ BEGIN IF true THEN {_G}; END IF; END $$;\nSELECT 'g()';",
    ],
)
def test_a_routine_only_created_by_a_body_that_runs_now_stays_unscanned(sql: str) -> None:
    assert findings(sql) == []


def test_trigger_body_with_semicolons_stays_one_statement() -> None:
    sql = "CREATE TRIGGER tr AFTER INSERT ON a BEGIN\n DELETE FROM b;\n DELETE FROM c;\nEND;\nDROP TABLE d;"
    spans = list(statement_spans(sql, POSTGRESQL))
    assert len(spans) == 4  # the splitter alone cuts the body; the scan joins it back
    assert findings(sql) == [(5, "drop-table", "DROP TABLE d")]


def test_statement_without_semicolon_at_end_of_file() -> None:
    assert findings("SELECT 1;\nTRUNCATE t") == [(2, "truncate", "TRUNCATE t")]


def test_context_rules_skip_tables_created_in_the_same_file() -> None:
    sql = 'CREATE TABLE "T" (id int);\nCREATE INDEX "i" ON "T"(id);\nCREATE INDEX "j" ON "Old"(id);'
    assert findings(sql, ("create-index-blocking",)) == [
        (3, "create-index-blocking", 'CREATE INDEX "j" ON "Old"(id)')
    ]


def test_lock_file_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "migration_lock.toml").write_text("provider = ")
    with pytest.raises(ConfigError, match=r"migration_lock.toml: is not valid TOML"):
        dialect_for(tmp_path)
    assert dialect_for(tmp_path / "missing") is POSTGRESQL


def test_every_selected_rule_reads_a_statement_another_rules_keyword_let_through() -> None:
    """``DROP view`` passes no drop-column pre-filter, but RENAME lets the statement through."""
    sql = "ALTER TABLE t RENAME COLUMN a TO b, DROP view;"
    assert findings(sql, ("all",)) == [
        (1, "rename-column", "ALTER TABLE t RENAME COLUMN a TO b"),
        (1, "drop-column", "ALTER TABLE t DROP VIEW"),
    ]


def test_rules_skipped_by_their_command_start_words_find_what_reading_every_statement_finds() -> None:
    """A rule's ``starts`` only lets the scanner skip statements it could not fire on or note."""
    from dataclasses import replace

    from pytest_promotion.migrations.dialects import DIALECTS

    fixtures = Path(__file__).parent.parent / "rules" / "fixtures"
    cases = [p.read_text(encoding="utf-8") for p in sorted(fixtures.glob("*/*.sql"))]
    cases.append(
        "ALTER TYPE s ADD VALUE 'X'; INSERT INTO t VALUES ('X'); DO $$ BEGIN UPDATE t SET a = 'X'; END $$;"
    )
    skipping = select_rules(["all"])
    reading = tuple(replace(rule, starts=None, reads_all_when=None) for rule in skipping)
    assert any(rule.starts for rule in skipping)
    for sql in cases:
        for dialect in DIALECTS.values():
            assert scan_text(sql, dialect, skipping, "m") == scan_text(sql, dialect, reading, "m")


def test_the_scans_quick_finding_is_the_dataclass_finding() -> None:
    """``_finding`` sets the fields at once; it must make exactly what ``Finding(...)`` makes."""
    from dataclasses import fields

    from pytest_promotion.migrations.scan import _finding

    quick = _finding("m", 3, "delete-from", "DELETE FROM t", "0123456789abcdef")
    made = Finding("m", 3, "delete-from", "DELETE FROM t", "0123456789abcdef")
    assert quick == made
    assert hash(quick) == hash(made)
    assert vars(quick) == vars(made)
    assert set(vars(quick)) == {f.name for f in fields(Finding)}


def test_the_scans_quick_statement_is_the_dataclass_statement() -> None:
    """``_statement`` sets the fields at once; it must make exactly what ``Statement(...)`` makes."""
    from dataclasses import fields

    from pytest_promotion.migrations.lexer import tokenize
    from pytest_promotion.migrations.scan import _statement
    from pytest_promotion.migrations.statement import Statement

    toks = tokenize("BEGIN DELETE FROM t; END", POSTGRESQL, 0, 19)
    quick = _statement(toks, True, "postgresql", False)
    made = Statement(toks, True, "postgresql", False)
    assert quick == made
    assert vars(quick) == vars(made)
    assert set(vars(quick)) == {f.name for f in fields(Statement)}
    assert list(quick.command_starts()) == list(made.command_starts()) == [0, 1]
    assert quick.command_text(1) == made.command_text(1) == "DELETE FROM t"


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("DO E'BEGIN \\x44ELETE FROM t; END';", "delete-from"),
        ("DO E'BEGIN DE\\LETE FROM t; END';", "delete-from"),
        ("DO E'BEGIN \\104ELETE FROM t; END';", "delete-from"),
        ("DO E'BEGIN \\u0044ELETE FROM t; END';", "delete-from"),
        ("DO E'BEGIN DELETE\\tFROM t; END';", "delete-from"),
        ("DO $$BEGIN EXECUTE E'DROP\\x20TABLE t'; END$$;", "drop-table"),
        ("DO e'BEGIN PERFORM ''a''; \\x54RUNCATE t; END';", "truncate"),
    ],
)
def test_an_escape_string_is_read_as_postgresql_decodes_it(sql: str, rule: str) -> None:
    # Its escapes were kept as the character after the backslash (\x44 read "x44") and the
    # statement, holding no keyword as written, was no candidate: a false PASS.
    assert [found[1] for found in findings(sql)] == [rule]


def test_backslashes_in_a_plain_string_are_no_escapes() -> None:
    assert findings("DO 'BEGIN \\x44ELETE FROM t; END';") == []  # standard strings: "\x44ELETE"


def test_create_table_if_not_exists_does_not_exempt_the_table() -> None:
    """``IF NOT EXISTS`` of a table that is there creates nothing: the table keeps its rows."""
    sql = (
        'CREATE TABLE IF NOT EXISTS "User" (id int);\n'
        'ALTER TABLE "User" ALTER COLUMN "name" SET NOT NULL;\n'
        'ALTER TABLE "User" ADD COLUMN "x" int NOT NULL;\n'
        'CREATE INDEX "i" ON "User"(id);\n'
        'ALTER TABLE "User" ALTER COLUMN "x" TYPE bigint;'
    )
    assert [(line, rule) for line, rule, _ in findings(sql, ("all",))] == [
        (2, "set-not-null"),
        (3, "add-required-column"),
        (4, "create-index-blocking"),
        (5, "alter-column-type"),
    ]


def test_create_table_if_not_exists_after_create_table_keeps_the_exemption() -> None:
    """The table made by the plain CREATE TABLE earlier is still new and empty."""
    sql = 'CREATE TABLE "T" (id int);\nCREATE TABLE IF NOT EXISTS "T" (id int);\nCREATE INDEX "i" ON "T"(id);'
    assert findings(sql, ("create-index-blocking",)) == []
