"""Reading Prisma 8 packages: the SQL they run, where it is, and whether their files agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.migrations.dialects import POSTGRESQL, SQLITE
from pytest_promotion.migrations.prisma8 import (
    PackageIntegrityError,
    canon,
    default_folder,
    gated_folder,
    integrity_problems,
    is_prisma8_dir,
    js_loads,
    migration_hash,
    migration_names,
    package_dirs,
    read_package,
)
from pytest_promotion.migrations.prisma8_scan import scan_package
from pytest_promotion.migrations.rules import Rule, select_rules
from pytest_promotion.migrations.scan import MigrationFileError, scan_text
from tests.prisma8.helpers import (
    HISTORY,
    PACKAGES,
    REAL_PLACEHOLDER,
    copy_history,
    need_corpus,
    op,
    reemit,
    write_package,
)

DEFAULT = select_rules(["default"])
ALL = select_rules(["all"])


def history_findings(app: Path, rules: tuple[Rule, ...]) -> list[tuple[str, int, str]]:
    found = []
    for folder in package_dirs(app):
        result = scan_package(read_package(folder, folder.name), rules)
        found += [(f.migration, f.line, f.rule) for f in result.findings]
    return found


def test_the_shared_history_is_a_prisma8_folder_of_seven_packages_in_order() -> None:
    need_corpus()
    assert is_prisma8_dir(HISTORY)
    assert [p.name for p in package_dirs(HISTORY)] == PACKAGES  # refs/ holds no package
    assert migration_names(HISTORY) == set(PACKAGES)


def test_every_shared_package_recomputes_its_migration_hash() -> None:
    need_corpus()
    for folder in package_dirs(HISTORY):
        package = read_package(folder, folder.name)
        assert migration_hash(package.meta, package.ops) == package.meta["migrationHash"], folder.name
        assert integrity_problems(package, folder.name) == []


def test_shared_history_default_rules_find_each_risk_at_its_sql_key_line() -> None:
    need_corpus()
    assert history_findings(HISTORY, DEFAULT) == [
        ("20261201T2006_drop_bio", 29, "drop-column"),
        ("20261201T2006_role_drop_guest", 92, "alter-type"),  # the enum value 'guest' removed
        ("20261201T2009_purge_orphan_posts", 14, "delete-from"),  # parameterised, execute[0]
        ("20261201T2009_purge_orphan_posts", 21, "delete-from"),  # first of two statements, execute[1]
    ]


def test_shared_history_all_rules_add_the_opt_in_findings_and_keep_new_tables_exempt() -> None:
    need_corpus()
    assert history_findings(HISTORY, ALL) == [
        ("20261201T2006_drop_bio", 29, "drop-column"),
        ("20261201T2006_role_drop_guest", 55, "destructive-operation"),  # the guest -> user remap
        ("20261201T2006_role_drop_guest", 92, "alter-type"),
        ("20261201T2008_require_name", 19, "destructive-operation"),  # the backfill UPDATE
        ("20261201T2008_require_name", 65, "set-not-null"),
        ("20261201T2009_purge_orphan_posts", 14, "delete-from"),
        ("20261201T2009_purge_orphan_posts", 21, "delete-from"),
        ("20261201T2012_rename_name", 29, "rename-column"),
    ]  # no create-index-blocking in init: "Post" is created by an earlier operation of the package


def test_findings_name_the_operation_and_step_and_notes_list_unmatched_destructive_and_data_ops() -> None:
    need_corpus()
    guest = scan_package(read_package(HISTORY / PACKAGES[3], PACKAGES[3]), DEFAULT)
    (enum,) = guest.findings
    assert enum.path == f"{PACKAGES[3]}/ops.json"
    assert enum.where.startswith(
        'op 3 "Add check constraint "User_role_check_b73ac96c" on "User"" '
        "(checkConstraint.User.User_role_check_b73ac96c), execute[0]; removes enum value 'guest'"
    )
    assert [(n.line, n.text()) for n in guest.notes] == [
        (
            55,
            'op 2 "Remap role guest -> user" (data.User.role.guest_to_user), execute[0], class data: '
            "destructive/data operation, not matched by a rule",
        )
    ]  # op 1 (DROP CONSTRAINT, destructive) is the other half of the reported enum change
    name = scan_package(read_package(HISTORY / PACKAGES[4], PACKAGES[4]), DEFAULT)
    assert [n.where for n in name.notes] == [
        'op 1 "Data transform: handle-nulls-User-name" (data_migration.handle-nulls-User-name), execute[0]',
        'op 2 "Set NOT NULL on "User"."name"" (alterNullability.setNotNull.User.name), execute[0]',
    ]
    assert scan_package(read_package(HISTORY / PACKAGES[4], PACKAGES[4]), ALL).notes == []


def test_a_finding_has_the_identity_the_same_statement_has_in_migration_sql() -> None:
    need_corpus()
    purge = scan_package(read_package(HISTORY / PACKAGES[5], PACKAGES[5]), DEFAULT)
    sql = """-- purge
DELETE   FROM "public"."Post" WHERE "title" = $1;
delete from "public"."Post" where "title" = 'zzz'; UPDATE "public"."Post" SET "body" = 'kept' WHERE "body" IS NULL;
"""
    plain = scan_text(sql, POSTGRESQL, DEFAULT, PACKAGES[5])
    assert [(f.rule, f.statement, f.fingerprint) for f in purge.findings] == [
        (f.rule, f.statement, f.fingerprint) for f in plain
    ]


def test_prechecks_and_postchecks_are_scanned_too(tmp_path: Path) -> None:
    risky_check = {"description": "clean first", "sql": 'DELETE FROM "Audit"'}
    folder = write_package(tmp_path, "20260101T0000_x", [op("a", "SELECT 1", precheck=[risky_check])])
    (finding,) = scan_package(read_package(folder, folder.name), DEFAULT).findings
    assert (finding.rule, finding.where) == ("delete-from", 'op 1 "a" (a), precheck[0]')


def test_lines_follow_the_sql_key_however_the_file_is_formatted(tmp_path: Path) -> None:
    folder = tmp_path / "20260101T0000_x"
    folder.mkdir()
    ops_text = (
        '[{"id": "a", "label": "A", "operationClass": "destructive", "target": {"id": "postgres"},\n'
        '  "precheck": [], "execute": [{"description": "x", "sql": "SELECT 1"},\n'
        "\n"
        '    {"description": "has \\"sql\\": inside", "sql": "DROP TABLE t"},\n'
        '    {"description": "duplicate key: the last one runs", "sql": "SELECT 2",\n'
        '     "sql": "TRUNCATE t"}], "postcheck": []}]'
    )
    (folder / "ops.json").write_text(ops_text, encoding="utf-8")
    meta = {"from": None, "to": "x"}
    meta["migrationHash"] = migration_hash(meta, json.loads(ops_text))
    (folder / "migration.json").write_text(json.dumps(meta), encoding="utf-8")
    found = scan_package(read_package(folder, folder.name), DEFAULT).findings
    assert [(f.line, f.rule, f.where) for f in found] == [
        (4, "drop-table", 'op 1 "A" (a), execute[1]'),
        (6, "truncate", 'op 1 "A" (a), execute[2]'),
    ]


def test_one_string_with_several_statements_reports_each(tmp_path: Path) -> None:
    folder = write_package(tmp_path, "20260101T0000_x", [op("a", 'SELECT 1; DROP TABLE "A";\nTRUNCATE "B"')])
    found = scan_package(read_package(folder, folder.name), DEFAULT).findings
    assert [(f.rule, f.line) for f in found] == [("drop-table", 13), ("truncate", 13)]


def test_a_quote_left_open_in_one_string_does_not_hide_the_next_strings_sql(tmp_path: Path) -> None:
    ops = [op("a", "SELECT 'unterminated"), op("b", 'ALTER TABLE "T" ALTER COLUMN "c" SET NOT NULL')]
    folder = write_package(tmp_path, "20260101T0000_x", ops)
    found = scan_package(read_package(folder, folder.name), ALL).findings
    assert [f.rule for f in found] == ["set-not-null"]


def test_target_id_picks_the_dialect_and_an_unknown_target_is_an_error(tmp_path: Path) -> None:
    folder = write_package(tmp_path, "20260101T0000_lite", [op("a", "SELECT 1", target={"id": "sqlite"})])
    assert read_package(folder, folder.name).steps[0].dialect is SQLITE
    folder = write_package(tmp_path, "20260101T0001_pg", [op("a", "SELECT 1")])
    assert read_package(folder, folder.name).steps[0].dialect is POSTGRESQL
    folder = write_package(tmp_path, "20260101T0002_my", [op("a", "DROP TABLE t", target={"id": "mysql"})])
    with pytest.raises(MigrationFileError, match=r"operation 1 \(a\) has target.id 'mysql'.*does not scan"):
        read_package(folder, "migrations/app/20260101T0002_my")


@pytest.mark.parametrize(
    ("ops_text", "message"),
    [
        ("[{", r"ops.json: is not valid JSON at line 1, column 3"),
        ('{"ops": []}', r"ops.json: the top level is not an array of operations"),
        (
            '[{"id": "a", "label": "a", "target": {"id": "postgres"}, "execute": [{"sql": 1}]}]',
            r"execute\[0\] has no string",
        ),
        (
            '[{"id": "a", "label": "a", "target": {"id": "postgres"}, "execute": {}}]',
            r'has a "execute" that is not a list',
        ),
    ],
    ids=["not-json", "not-an-array", "sql-not-a-string", "execute-not-a-list"],
)
def test_a_malformed_ops_json_is_a_clear_error_naming_the_file(
    tmp_path: Path, ops_text: str, message: str
) -> None:
    folder = tmp_path / "20260101T0000_x"
    folder.mkdir()
    (folder / "ops.json").write_text(ops_text, encoding="utf-8")
    (folder / "migration.json").write_text('{"migrationHash": "0"}', encoding="utf-8")
    with pytest.raises(MigrationFileError, match=message) as caught:
        read_package(folder, "migrations/app/20260101T0000_x")
    assert str(caught.value).startswith("migrations/app/20260101T0000_x/ops.json: ")


def test_a_missing_migration_json_is_a_clear_error(tmp_path: Path) -> None:
    folder = write_package(tmp_path, "20260101T0000_x", [])
    (folder / "migration.json").unlink()
    with pytest.raises(MigrationFileError, match=r"x/migration.json: is missing.*re-emit it"):
        read_package(folder, "20260101T0000_x")


def test_hand_edited_ops_json_fails_integrity(tmp_path: Path) -> None:
    app = copy_history(tmp_path)
    ops_path = app / PACKAGES[5] / "ops.json"
    ops_path.write_text(ops_path.read_text().replace("'zzz'", "'yyy'"), encoding="utf-8")
    package = read_package(ops_path.parent, f"migrations/app/{PACKAGES[5]}")
    (problem,) = integrity_problems(package, f"migrations/app/{PACKAGES[5]}")
    assert problem.startswith(
        f"migrations/app/{PACKAGES[5]}/ops.json: does not match its migration.json: migrationHash is "
        "6dfc8a0765104b5209302f3db289ab27ab1bc6019ea394c21700e532077a88b6, but"
    )
    assert "edited by hand" in problem
    assert "re-emit the package" in problem


def test_reformatting_ops_json_is_not_an_edit(tmp_path: Path) -> None:
    app = copy_history(tmp_path)
    ops_path = app / PACKAGES[5] / "ops.json"
    ops_path.write_text(json.dumps(json.loads(ops_path.read_text()), indent=4) + "\n", encoding="utf-8")
    assert integrity_problems(read_package(ops_path.parent, "p"), "p") == []


def test_a_re_emitted_edit_passes_integrity_and_its_new_sql_is_scanned(tmp_path: Path) -> None:
    app = copy_history(tmp_path)
    folder = app / PACKAGES[6]
    ops = json.loads((folder / "ops.json").read_text())
    ops[0]["execute"].append({"description": "also", "sql": 'TRUNCATE "public"."Post"'})
    (folder / "ops.json").write_text(json.dumps(ops, indent=2), encoding="utf-8")
    reemit(folder)
    package = read_package(folder, folder.name)
    assert integrity_problems(package, folder.name) == []
    assert [(f.rule, f.where) for f in scan_package(package, DEFAULT).findings] == [
        (
            "truncate",
            'op 1 "Rename column "name" to "fullName" on "User"" (renameColumn.User.name.fullName), execute[1]',
        )
    ]


PLACEHOLDER_TS = """import { Migration, MigrationCLI, placeholder } from '@prisma/orm-postgres/migration';

export default class M extends Migration {
  override get operations() {
    return [this.dataTransform(contract, 'backfill', { check: () => placeholder('check'), run: () => placeholder('run') })];
  }
}
"""


def test_an_empty_ops_json_beside_an_unfilled_placeholder_fails_integrity(tmp_path: Path) -> None:
    folder = write_package(tmp_path, "20260101T0000_backfill", [], source=PLACEHOLDER_TS)
    (problem,) = integrity_problems(read_package(folder, folder.name), folder.name)
    assert "is empty ([]) while migration.ts still holds an unfilled placeholder(" in problem
    assert "Fill in the placeholder" in problem


def test_the_package_prisma_planned_with_placeholders_is_refused_though_its_hash_is_valid() -> None:
    package = read_package(REAL_PLACEHOLDER, REAL_PLACEHOLDER.name)
    assert package.ops == []
    assert migration_hash(package.meta, package.ops) == package.meta["migrationHash"]
    (problem,) = integrity_problems(package, REAL_PLACEHOLDER.name)
    assert "unfilled placeholder(" in problem


def test_an_empty_ops_json_without_a_placeholder_is_fine(tmp_path: Path) -> None:
    folder = write_package(tmp_path, "20260101T0000_noop", [], source="export default class M {}\n")
    assert integrity_problems(read_package(folder, folder.name), folder.name) == []


def test_integrity_error_is_a_migration_file_error() -> None:
    assert issubclass(PackageIntegrityError, MigrationFileError)


def test_canon_writes_numbers_and_lone_surrogates_the_way_javascript_does() -> None:
    value = js_loads('{"b": [1.0, 2.5, 1e2, {"d": null, "c": true}], "a": "é\\ud800"}')
    assert canon(value) == '{"a":"é\\ud800","b":[1,2.5,100,{"c":true,"d":null}]}'
    # node -e 'console.log(JSON.stringify([1.5e-7, 0.00001, 1e16, 123456789012345680000, 1e21, -2.5, ...]))'
    numbers = "[1.5e-7, 0.00001, 1e16, 123456789012345680000, 1e21, -2.5, 0.1, -0.0, 1.7976931348623157e308, 5e-324]"
    assert canon(js_loads(numbers)) == (
        "[1.5e-7,0.00001,10000000000000000,123456789012345680000,1e+21,-2.5,0.1,0,1.7976931348623157e+308,5e-324]"
    )
    # JSON.stringify(JSON.parse("[123456789012345678901, 9007199254740993, 12]"))
    assert (
        canon(js_loads("[123456789012345678901, 9007199254740993, 12]"))
        == "[123456789012345680000,9007199254740992,12]"
    )


ROLE_OLD = (
    'ALTER TABLE "public"."User" ADD CONSTRAINT "User_role_check_1" CHECK ("role" IN (\'admin\', \'user\'))'
)
DROP_OLD = 'ALTER TABLE "public"."User" DROP CONSTRAINT "User_role_check_1"'


def enum_change(tmp_path: Path, new_values: str) -> list[tuple[str, str]]:
    write_package(tmp_path, "20260101T0000_role", [op("checkConstraint.User.User_role_check_1", ROLE_OLD)])
    new_check = (
        f'ALTER TABLE "public"."User" ADD CONSTRAINT "User_role_check_2" CHECK ("role" IN ({new_values}))'
    )
    ops = [
        op("dropCheckConstraint.User.User_role_check_1", DROP_OLD, op_class="destructive"),
        op("checkConstraint.User.User_role_check_2", new_check),
    ]
    folder = write_package(tmp_path, "20260102T0000_change", ops)
    return [(f.rule, f.where) for f in scan_package(read_package(folder, folder.name), DEFAULT).findings]


def test_an_enum_check_losing_a_value_is_reported_as_alter_type(tmp_path: Path) -> None:
    assert enum_change(tmp_path, "'admin'") == [
        (
            "alter-type",
            'op 2 "checkConstraint.User.User_role_check_2" (checkConstraint.User.User_role_check_2), execute[0]; '
            'removes enum value \'user\' of "role" (check "User_role_check_1")',
        )
    ]


def test_an_enum_check_gaining_a_value_is_not_reported(tmp_path: Path) -> None:
    assert enum_change(tmp_path, "'admin', 'user', 'guest'") == []


def test_an_enum_check_replacing_one_whose_values_are_unknown_is_reported(tmp_path: Path) -> None:
    ops = [
        op("dropCheckConstraint.User.c", 'ALTER TABLE "User" DROP CONSTRAINT "c"', op_class="destructive"),
        op("checkConstraint.User.d", 'ALTER TABLE "User" ADD CONSTRAINT "d" CHECK ("role" IN (\'a\'))'),
    ]
    folder = write_package(tmp_path, "20260101T0000_x", ops)
    (finding,) = scan_package(read_package(folder, folder.name), DEFAULT).findings
    assert finding.rule == "alter-type"
    assert finding.where.endswith('replaces check "c" whose values are unknown here')


def test_the_enum_report_follows_rule_selection(tmp_path: Path) -> None:
    enum_change(tmp_path, "'admin'")
    folder = tmp_path / "20260102T0000_change"
    assert scan_package(read_package(folder, folder.name), select_rules(["drop-table"])).findings == []


def test_migrations_dir_pointing_at_prisma8_migrations_gates_its_app_folder(tmp_path: Path) -> None:
    app = copy_history(tmp_path)
    assert gated_folder(tmp_path / "migrations") == app
    assert gated_folder(app) == app
    assert gated_folder(tmp_path) == tmp_path  # not a Prisma 8 migrations folder: left as given


def test_the_default_folder_finds_prisma8_and_refuses_to_pick_one_of_two_layouts(tmp_path: Path) -> None:
    prisma7 = tmp_path / "prisma" / "migrations"
    assert default_folder(tmp_path, prisma7) == prisma7  # nothing there: the usual default
    app = copy_history(tmp_path)
    assert default_folder(tmp_path, prisma7) == app
    (prisma7 / "20240101000000_init").mkdir(parents=True)
    with pytest.raises(
        ConfigError, match=r"holds both .*prisma/migrations \(Prisma <= 7\) and .*migrations/app"
    ):
        default_folder(tmp_path, prisma7)


def test_a_routine_body_left_open_in_one_string_does_not_hide_the_next_strings_sql(tmp_path: Path) -> None:
    lite = {"target": {"id": "sqlite"}}
    ops = [
        op("a", 'CREATE TRIGGER "t" AFTER INSERT ON "A" BEGIN SELECT 1;', **lite),
        op("b", 'DROP TABLE "B"', **lite),
    ]
    folder = write_package(tmp_path, "20260101T0000_x", ops)
    found = scan_package(read_package(folder, folder.name), DEFAULT).findings
    assert [(f.rule, f.where) for f in found] == [("drop-table", 'op 2 "b" (b), execute[0]')]


def test_the_python_api_scans_either_layout_and_refuses_an_edited_package(tmp_path: Path) -> None:
    from pytest_promotion.migrations import PackageIntegrityError as ApiIntegrityError
    from pytest_promotion.migrations import scan

    app = copy_history(tmp_path)
    found = [(f.path, f.line, f.rule) for f in scan(tmp_path / "migrations")]
    assert found == [
        (f"{PACKAGES[2]}/ops.json", 29, "drop-column"),
        (f"{PACKAGES[3]}/ops.json", 92, "alter-type"),
        (f"{PACKAGES[5]}/ops.json", 14, "delete-from"),
        (f"{PACKAGES[5]}/ops.json", 21, "delete-from"),
    ]
    ops = app / PACKAGES[5] / "ops.json"
    ops.write_text(ops.read_text().replace("'zzz'", "'yyy'"))
    with pytest.raises(ApiIntegrityError, match="edited by hand"):
        scan(app)
    legacy = tmp_path / "prisma" / "migrations" / "20240101000000_x" / "migration.sql"
    legacy.parent.mkdir(parents=True)
    legacy.write_text('DROP TABLE "A";\n')
    assert [f.rule for f in scan(tmp_path / "prisma" / "migrations")] == ["drop-table"]
