"""Migrations become items: collected from the root, marked, ordered, named after the migration."""

from __future__ import annotations

import pytest

from tests.conftest import DROP_BIO, add_migration


def test_items_are_collected_outside_testpaths_in_folder_order(project: pytest.Pytester) -> None:
    add_migration(project, "20240301000000_later", "SELECT 1;")
    add_migration(project, "20240201000000_middle", "SELECT 1;")
    result = project.runpytest("-m", "migrations", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "prisma/migrations::20240101000000_init",
            "prisma/migrations::20240201000000_middle",
            "prisma/migrations::20240301000000_later",
            "3/4 tests collected (1 deselected)*",
        ]
    )


def test_all_marks_are_registered_for_strict_markers(project: pytest.Pytester) -> None:
    result = project.runpytest("--strict-markers", "-m", "migrations")
    result.assert_outcomes(passed=1, deselected=1)


def test_explicit_paths_collect_only_what_was_asked(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    result = project.runpytest("checks")
    result.assert_outcomes(passed=1)


def test_default_folder_missing_means_no_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "promotion: migrations" not in result.stdout.str()


def test_report_header_names_folder_dialect_and_baseline(project: pytest.Pytester) -> None:
    result = project.runpytest("-m", "migrations")
    result.stdout.fnmatch_lines(
        [
            "promotion: migrations prisma/migrations (postgresql), baseline baselines/migration-safety-baseline.json*"
        ]
    )


def test_provider_in_lock_file_selects_the_dialect(project: pytest.Pytester) -> None:
    lock = project.path / "prisma" / "migrations" / "migration_lock.toml"
    lock.write_text('provider = "mysql"\n')
    # In MySQL a backslash escapes the quote, so the DROP below is inside the string.
    add_migration(project, "20240201000000_data", "INSERT INTO t VALUES ('it\\'s; DROP TABLE x');\n")
    result = project.runpytest("-m", "migrations")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*prisma/migrations (mysql)*"])
