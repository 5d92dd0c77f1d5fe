"""Output volume on a first run over a long history: 120 failing migrations, 150 findings.

``--tb=line`` is one line per finding, ``--tb=short`` explains each rule once, ``--tb=no`` prints
no failure text; the closing summary always ends with the counts per rule and the accept command.
"""

from __future__ import annotations

import pytest

from tests.conftest import add_migration

MIGRATIONS = 120
DOUBLES = 30  # migrations with a second finding (a TRUNCATE)
FINDINGS = MIGRATIONS + DOUBLES


@pytest.fixture
def history(project: pytest.Pytester) -> pytest.Pytester:
    for i in range(MIGRATIONS):
        sql = f'-- AlterTable\nALTER TABLE "User" DROP COLUMN "c{i}";\n'
        if i < DOUBLES:
            sql += f'TRUNCATE "Log{i}";\n'
        add_migration(project, f"2024{i:06d}000000_m{i}", sql)
    return project


def _assert_summary_ends_with_counts_and_the_command(lines: list[str]) -> None:
    assert _section(lines, "migration safety")[-2:] == [
        f"By rule: drop-column {MIGRATIONS}, truncate {DOUBLES}",
        "Review them, then accept with: pytest -m migrations --update-baseline",
    ]


def _section(lines: list[str], title: str) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith("=") and f" {title} " in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("="))
    return lines[start + 1 : end]


def test_tb_line_is_one_line_per_finding(history: pytest.Pytester) -> None:
    result = history.runpytest("-m", "migrations", "--tb=line")
    result.assert_outcomes(passed=1, failed=MIGRATIONS)
    failures = _section(result.stdout.lines, "FAILURES")
    assert len(failures) == FINDINGS
    assert (
        failures[0]
        == 'prisma/migrations/2024000000000000_m0/migration.sql:2: drop-column — ALTER TABLE "User" DROP COLUMN "c0"'
    )
    assert failures[1] == (
        'prisma/migrations/2024000000000000_m0/migration.sql:3: truncate — TRUNCATE "Log0"'
        " (2 risky statements in this migration)"  # the crash line, also the short summary's message
    )
    assert "why:" not in result.stdout.str()
    _assert_summary_ends_with_counts_and_the_command(result.stdout.lines)
    print(f"--tb=line: {len(result.stdout.lines)} lines")


def test_tb_short_explains_each_rule_once(history: pytest.Pytester) -> None:
    result = history.runpytest("-m", "migrations", "--tb=short")
    result.assert_outcomes(passed=1, failed=MIGRATIONS)
    out = result.stdout.str()
    assert out.count("      why: ") == 2  # drop-column and truncate, each the first time only
    assert out.count("      instead: ") == 2
    assert out.count("  line 2: drop-column — ") == MIGRATIONS
    _assert_summary_ends_with_counts_and_the_command(result.stdout.lines)
    print(f"--tb=short: {len(result.stdout.lines)} lines")


def test_tb_no_prints_no_failure_text_and_the_default_is_unchanged(history: pytest.Pytester) -> None:
    quiet = history.runpytest("-m", "migrations", "--tb=no")
    quiet.assert_outcomes(passed=1, failed=MIGRATIONS)
    assert "why:" not in quiet.stdout.str()
    full = history.runpytest("-m", "migrations")
    assert full.stdout.str().count("      why: ") == FINDINGS
    assert len(quiet.stdout.lines) < len(full.stdout.lines)
    _assert_summary_ends_with_counts_and_the_command(quiet.stdout.lines)
    _assert_summary_ends_with_counts_and_the_command(full.stdout.lines)
    print(f"--tb=no: {len(quiet.stdout.lines)} lines; default: {len(full.stdout.lines)} lines")


def test_tb_line_under_xdist_is_still_one_line_per_finding(history: pytest.Pytester) -> None:
    result = history.runpytest("-m", "migrations", "--tb=line", "-n", "2")
    result.assert_outcomes(passed=1, failed=MIGRATIONS)
    failures = _section(result.stdout.lines, "FAILURES")
    # xdist adds its own "[gwN] linux -- Python …" line before each report
    assert len([line for line in failures if not line.startswith("[gw")]) == FINDINGS
