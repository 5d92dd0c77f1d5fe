"""The gate on a Prisma 8 project: one item per package, findings at ops.json lines, integrity failures."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.prisma8.helpers import PACKAGES, REAL_PLACEHOLDER, copy_history, reemit

PYPROJECT = """[tool.pytest.ini_options]
testpaths = ["checks"]

[tool.promotion]
baseline = "baselines/migration-safety-baseline.json"
"""
DROP_BIO = f"migrations/app/{PACKAGES[2]}/ops.json"


@pytest.fixture
def prisma8(pytester: pytest.Pytester) -> pytest.Pytester:
    """A Prisma 8 project (a copy of the shared history, no migrations_dir set)."""
    pytester.makefile(".toml", pyproject=PYPROJECT)
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "test_app.py").write_text("def test_app():\n    assert True\n")
    copy_history(pytester.path)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner run with only the plugins tests/conftest.py names (autoload off)."""
    return pytester.runpytest(*args)


def test_migrations_app_is_found_by_itself_one_item_per_package_in_order(prisma8: pytest.Pytester) -> None:
    result = run(prisma8, "-m", "migrations", "--collect-only", "-q")
    assert [line for line in result.outlines if "::" in line] == [f"migrations/app::{p}" for p in PACKAGES]
    header = run(prisma8, "-m", "migrations", "--collect-only")
    header.stdout.fnmatch_lines(["promotion: migrations migrations/app (Prisma 8 packages), baseline *"])


def test_the_shared_history_fails_exactly_its_risky_packages_at_ops_json_lines(
    prisma8: pytest.Pytester,
) -> None:
    result = run(prisma8, "-m", "migrations", "--junitxml=junit.xml")
    result.assert_outcomes(passed=4, failed=3)
    result.stdout.fnmatch_lines(
        [
            f"{DROP_BIO}: 1 risky statement not in the reviewed baseline (baselines/migration-safety-baseline.json)",
            '  line 29: drop-column — ALTER TABLE "public"."User" DROP COLUMN "bio"',
            '      at: op 1 "Drop column "bio" from "User"" (dropColumn.User.bio), execute[0]',
            "      why: Dropping a column deletes its data*",
            "Review, then accept with: pytest -m migrations --update-baseline",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            f"migrations/app/{PACKAGES[3]}/ops.json: 1 risky statement*",
            '  line 92: alter-type — ALTER TABLE * ADD CONSTRAINT "User_role_check_b73ac96c" CHECK*',
            '      at: op 3 * removes enum value \'guest\' of "role" (check "User_role_check_95dd9b64")',
            "      why: Changing an enum type can fail rows*",
            '  note: line 55: op 2 "Remap role guest -> user" (data.User.role.guest_to_user), execute[0], class data:'
            " destructive/data operation, not matched by a rule",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*= migration safety =*",
            "4 new risky statements in 3 migrations not in baselines/migration-safety-baseline.json:",
            f"  {DROP_BIO}:29: drop-column — *",
            f"  migrations/app/{PACKAGES[3]}/ops.json:92: alter-type — *",
            f"  migrations/app/{PACKAGES[5]}/ops.json:14: delete-from — *",
            f"  migrations/app/{PACKAGES[5]}/ops.json:21: delete-from — *",
            "*",
            "3 Prisma 8 operations of class destructive or data matched by no rule (not a failure;*",
            f"  migrations/app/{PACKAGES[3]}/ops.json:55: op 2 *",
            f"  migrations/app/{PACKAGES[4]}/ops.json:19: op 1 *",
            f'  migrations/app/{PACKAGES[4]}/ops.json:65: op 2 "Set NOT NULL on *',
        ]
    )
    assert "Traceback" not in result.stdout.str()
    cases = {c.get("name"): c for c in ET.parse(prisma8.path / "junit.xml").getroot().iter("testcase")}
    failure = cases[PACKAGES[2]].find("failure")
    assert failure is not None
    assert failure.get("message") == "1 risky statement not in the baseline (drop-column), first on line 29"
    assert (failure.text or "").startswith(f"{DROP_BIO}: 1 risky statement")
    assert 'at: op 1 "Drop column "bio" from "User"" (dropColumn.User.bio), execute[0]' in (
        failure.text or ""
    )


def test_report_annotations_and_step_summary_use_the_ops_json_location(
    prisma8: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = prisma8.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run(prisma8, "-m", "migrations", "--migrations-report", "report.json")
    result.stdout.fnmatch_lines(
        [f'::error file={DROP_BIO},line=29,title=drop-column::op 1 "Drop column "bio" from "User""*']
    )
    report = json.loads((prisma8.path / "report.json").read_text())
    first = report["findings"][0]
    assert (first["path"], first["line"], first["rule"], first["status"]) == (
        f"{PACKAGES[2]}/ops.json",
        29,
        "drop-column",
        "new",
    )
    assert first["operation"] == 'op 1 "Drop column "bio" from "User"" (dropColumn.User.bio), execute[0]'
    assert [(n["path"], n["line"], n["class"]) for n in report["notes"]] == [
        (f"{PACKAGES[3]}/ops.json", 55, "data"),
        (f"{PACKAGES[4]}/ops.json", 19, "data"),
        (f"{PACKAGES[4]}/ops.json", 65, "destructive"),
    ]
    assert f'`{DROP_BIO}:29 op 1 "Drop column "bio" from "User"" (dropColumn.User.bio), execute[0]`' in (
        summary.read_text()
    )


def test_xdist_gives_the_same_outcome_and_report(prisma8: pytest.Pytester) -> None:
    plain = run(prisma8, "-m", "migrations", "--migrations-report", "plain.json")
    spread = run(prisma8, "-n", "2", "-m", "migrations", "--migrations-report", "xdist.json")
    plain.assert_outcomes(passed=4, failed=3)
    spread.assert_outcomes(passed=4, failed=3)
    assert (prisma8.path / "plain.json").read_bytes() == (prisma8.path / "xdist.json").read_bytes()
    spread.stdout.fnmatch_lines(["3 Prisma 8 operations of class destructive or data matched by no rule*"])


def test_update_baseline_accepts_and_then_every_package_passes(prisma8: pytest.Pytester) -> None:
    run(prisma8, "-m", "migrations", "--update-baseline").stdout.fnmatch_lines(
        ["baseline: 4 added, 0 removed, 0 kept (baselines/migration-safety-baseline.json)"]
    )
    entries = json.loads((prisma8.path / "baselines" / "migration-safety-baseline.json").read_text())[
        "entries"
    ]
    assert sorted({e["migration"] for e in entries}) == [PACKAGES[2], PACKAGES[3], PACKAGES[5]]
    again = run(prisma8, "-m", "migrations", "--strict-baseline")
    again.assert_outcomes(passed=7)
    again.stdout.fnmatch_lines(["4 risky statements found, all reviewed in baselines/*"])


def test_the_opt_in_rule_makes_unmatched_destructive_and_data_operations_fail(
    prisma8: pytest.Pytester,
) -> None:
    result = run(prisma8, "-m", "migrations", "--promotion-rules", "default,destructive-operation")
    result.assert_outcomes(passed=3, failed=4)
    result.stdout.fnmatch_lines(
        [
            f"migrations/app/{PACKAGES[4]}/ops.json: 2 risky statements*",
            '  line 19: destructive-operation — UPDATE "public"."User" SET "name" = $1 WHERE "name" IS NULL',
            "      at: op 1 * execute?0?; class data",
            "      why: Prisma 8 classes this operation as destructive or data*",
        ]
    )


def test_a_hand_edited_ops_json_fails_even_when_updating_and_keeps_its_entries(
    prisma8: pytest.Pytester,
) -> None:
    run(prisma8, "-m", "migrations", "--update-baseline")
    ops = prisma8.path / "migrations" / "app" / PACKAGES[5] / "ops.json"
    ops.write_text(ops.read_text().replace("'zzz'", "'yyy'"))
    result = run(prisma8, "-m", "migrations", "--update-baseline")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"migrations/app/{PACKAGES[5]}/ops.json: does not match its migration.json: migrationHash is 6dfc8a07*"
            "edited by hand*re-emit the package*"
        ]
    )
    result.stdout.fnmatch_lines(
        ["baseline: 0 added, 0 removed, 2 kept*"]
    )  # the edited package's 2 are left alone
    entries = json.loads((prisma8.path / "baselines" / "migration-safety-baseline.json").read_text())[
        "entries"
    ]
    assert len(entries) == 4
    assert "Traceback" not in result.stdout.str()


def test_a_package_prisma_planned_with_placeholders_fails(prisma8: pytest.Pytester) -> None:
    shutil.copytree(REAL_PLACEHOLDER, prisma8.path / "migrations" / "app" / REAL_PLACEHOLDER.name)
    result = run(prisma8, "-m", "migrations", "-k", "require_body")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"migrations/app/{REAL_PLACEHOLDER.name}/ops.json: is empty ([]) while migration.ts still holds an "
            "unfilled placeholder(…). `prisma db migrate` would run it as zero operations and fail only later.*"
        ]
    )


def test_a_re_emitted_edit_is_consistent_but_its_new_sql_is_not_baselined(prisma8: pytest.Pytester) -> None:
    run(prisma8, "-m", "migrations", "--update-baseline")
    folder = prisma8.path / "migrations" / "app" / PACKAGES[5]
    ops = json.loads((folder / "ops.json").read_text())
    ops[0]["execute"][1]["sql"] = ops[0]["execute"][1]["sql"].replace("'zzz'", "'yyy'")
    (folder / "ops.json").write_text(json.dumps(ops, indent=2))
    reemit(folder)
    result = run(prisma8, "-m", "migrations")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"migrations/app/{PACKAGES[5]}/ops.json: 1 risky statement not in the reviewed baseline*",
            '  line 21: delete-from — DELETE FROM "public"."Post" WHERE "title" = \'yyy\'',
        ]
    )


def test_migrations_dir_naming_prisma8_migrations_gates_its_app_folder(prisma8: pytest.Pytester) -> None:
    result = run(
        prisma8, "-m", "migrations", "--promotion-migrations-dir", "migrations", "--collect-only", "-q"
    )
    assert f"migrations/app::{PACKAGES[0]}" in result.outlines


def test_both_layouts_without_migrations_dir_stop_the_run_with_the_fix(prisma8: pytest.Pytester) -> None:
    legacy = prisma8.path / "prisma" / "migrations" / "20240101000000_init" / "migration.sql"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("SELECT 1;\n")
    result = run(prisma8, "-m", "migrations")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*holds both *prisma/migrations (Prisma <= 7) and *migrations/app (Prisma 8*"]
    )
    assert "Traceback" not in result.stderr.str()


def test_a_prisma8_folder_can_sit_next_to_a_prisma7_project_when_named(
    prisma8: pytest.Pytester, tmp_path: Path
) -> None:
    legacy = prisma8.path / "prisma" / "migrations" / "20240101000000_init" / "migration.sql"
    legacy.parent.mkdir(parents=True)
    legacy.write_text('DROP TABLE "Old";\n')
    old = run(prisma8, "-m", "migrations", "--promotion-migrations-dir", "prisma/migrations")
    old.assert_outcomes(failed=1)
    new = run(prisma8, "-m", "migrations", "--promotion-migrations-dir", "migrations/app")
    new.assert_outcomes(passed=4, failed=3)


def test_a_package_inside_a_migration_sql_folder_is_gated_too(prisma8: pytest.Pytester) -> None:
    legacy = prisma8.path / "prisma" / "migrations"
    (legacy / "20240101000000_init").mkdir(parents=True)
    (legacy / "20240101000000_init" / "migration.sql").write_text("SELECT 1;\n")
    shutil.copytree(prisma8.path / "migrations" / "app" / PACKAGES[2], legacy / PACKAGES[2])
    both = legacy / "20240101000000_init"
    shutil.copy(prisma8.path / "migrations" / "app" / PACKAGES[0] / "ops.json", both / "ops.json")
    shutil.copy(prisma8.path / "migrations" / "app" / PACKAGES[0] / "migration.json", both / "migration.json")
    result = run(prisma8, "-m", "migrations", "--promotion-migrations-dir", "prisma/migrations")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "prisma/migrations/20240101000000_init: holds both migration.sql (Prisma <= 7) and ops.json (Prisma 8)*",
            f"prisma/migrations/{PACKAGES[2]}/ops.json: 1 risky statement not in the reviewed baseline*",
        ]
    )


def test_a_prisma8_project_without_a_promotion_table_is_gated_by_a_plain_run(
    prisma8: pytest.Pytester,
) -> None:
    (prisma8.path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["checks"]\n')
    result = run(prisma8)
    result.assert_outcomes(passed=5, failed=3)  # checks/test_app.py and the seven packages


@pytest.mark.parametrize("named", [True, False], ids=["migrations_dir=migrations", "no migrations_dir"])
@pytest.mark.parametrize("stray", ["new folder", "inside a package"])
def test_a_stray_migration_sql_among_the_packages_does_not_ungate_them(
    prisma8: pytest.Pytester, named: bool, stray: str
) -> None:
    """One ``<name>/migration.sql`` under migrations/app once made the gate pass with 0 checks."""
    app = prisma8.path / "migrations" / "app"
    if stray == "new folder":
        (app / "20261201T2013_notes").mkdir()
        (app / "20261201T2013_notes" / "migration.sql").write_text("SELECT 1;\n")
    else:
        (app / PACKAGES[2] / "migration.sql").write_text('DROP TABLE "public"."User";\n')
    args = ["--promotion-migrations-dir", "migrations"] if named else []
    result = run(prisma8, "-m", "migrations", "--launch-gate", *args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*migration safety   FAILED*", "LAUNCH GATE FAILED"])
    result.stdout.fnmatch_lines(
        [f"{DROP_BIO}: 1 risky statement*"] if stray == "new folder" else ["*holds both*"]
    )
    assert "passed (0 checks)" not in result.stdout.str()


def test_a_migrations_folder_holding_migrations_and_packages_in_app_is_a_usage_error(
    prisma8: pytest.Pytester,
) -> None:
    top = prisma8.path / "migrations" / "20240101000000_init"
    top.mkdir()
    (top / "migration.sql").write_text("SELECT 1;\n")
    result = run(prisma8, "-m", "migrations", "--promotion-migrations-dir", "migrations")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*migrations*holds migrations of its own and Prisma 8 packages in *app*"])
    assert "Traceback" not in result.stderr.str()


RENAME_OPS = f"migrations/app/{PACKAGES[6]}/ops.json"


def fails_in_one_paragraph(pytester: pytest.Pytester, package: str, message: str) -> None:
    """The package's item fails with ``message``, not as a check that could not finish, no traceback."""
    result = run(pytester, "-m", "migrations", "-k", package)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    assert "could not finish" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_a_number_no_double_holds_fails_its_item_naming_file_line_and_value(prisma8: pytest.Pytester) -> None:
    """``1e400`` is valid JSON (JavaScript reads Infinity), but no number Prisma 8 writes."""
    ops = prisma8.path / RENAME_OPS
    ops.write_text(
        ops.read_text().replace('"fullName"\n        ]', '"fullName",\n          1e400\n        ]')
    )
    reemit(ops.parent)
    fails_in_one_paragraph(
        prisma8, "rename_name", f"{RENAME_OPS}: line 40 holds the number 1e400, which*not a number Prisma 8*"
    )


def test_a_lone_surrogate_in_a_risky_statement_fails_its_item_naming_file_and_line(
    prisma8: pytest.Pytester,
) -> None:
    """``\\ud800`` is valid JSON but no text: Node.js would send U+FFFD in its place."""
    folder = prisma8.path / "migrations" / "app" / PACKAGES[5]
    ops = json.loads((folder / "ops.json").read_text())
    ops[0]["execute"][0]["sql"] = "DELETE FROM t WHERE a = '\ud800'"
    (folder / "ops.json").write_text(json.dumps(ops, indent=2))  # ensure_ascii: written as \ud800
    reemit(folder)
    fails_in_one_paragraph(
        prisma8,
        "purge",
        f"migrations/app/{PACKAGES[5]}/ops.json: operation 1 * execute?0? (line 14) holds a lone surrogate*",
    )


def test_control_characters_in_op_labels_and_ids_are_printed_escaped(
    prisma8: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A label starting a line with ``::`` would be a GitHub Actions workflow command (``::stop-commands::``)."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    summary = prisma8.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    injected = "\n::stop-commands::pausetoken\n"
    for name, number in ((PACKAGES[2], 0), (PACKAGES[3], 1)):  # a finding's op; an op with only a note
        folder = prisma8.path / "migrations" / "app" / name
        ops = json.loads((folder / "ops.json").read_text())
        ops[number]["label"] = f"Drop{injected}"
        ops[number]["id"] = f"id\x1b[2J{injected}"
        (folder / "ops.json").write_text(json.dumps(ops, indent=2))
        reemit(folder)
    result = run(prisma8, "-m", "migrations")
    result.assert_outcomes(passed=4, failed=3)
    out = result.stdout.str() + result.stderr.str() + summary.read_text()
    assert "::stop-commands" not in [line[:15] for line in out.splitlines()]
    assert "\x1b" not in out
    result.stdout.fnmatch_lines(
        [r'      at: op 1 "Drop\n::stop-commands::pausetoken\n" (id\x1b?2J\n::stop-commands*']
    )
    result.stdout.fnmatch_lines([r'*note: line 55: op 2 "Drop\n::stop-commands::pausetoken\n"*'])


def test_a_package_holding_only_migration_ts_fails_as_not_emitted(prisma8: pytest.Pytester) -> None:
    """It was invisible: 6 items, and the run passed."""
    folder = prisma8.path / "migrations" / "app" / PACKAGES[6]
    (folder / "ops.json").unlink()
    (folder / "migration.json").unlink()
    result = run(prisma8, "-m", "migrations", "-rA")
    result.assert_outcomes(passed=3, failed=4)
    result.stdout.fnmatch_lines(
        [f"migrations/app/{PACKAGES[6]}: holds migration.ts but no ops.json or migration.json*never emitted*"]
    )
    assert "Traceback" not in result.stdout.str()
