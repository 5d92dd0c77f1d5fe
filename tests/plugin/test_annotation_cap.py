"""GitHub shows 10 error annotations per step: more findings than that are counted, not dropped."""

from __future__ import annotations

import pytest

from tests.conftest import add_migration


def test_annotations_stop_at_ten_and_the_rest_are_counted_and_in_the_step_summary(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(25):
        add_migration(project, f"202402010000{i:02d}_drop", f'ALTER TABLE "User" DROP COLUMN "c{i}";\n')
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    summary = project.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = project.runpytest("-m", "migrations")
    result.assert_outcomes(passed=1, failed=25)
    out = result.stdout.lines
    errors = [line for line in out if line.startswith("::error ")]
    assert len(errors) == 10
    assert errors[0].startswith("::error file=prisma/migrations/20240201000000_drop/migration.sql,line=1,")
    result.stdout.fnmatch_lines(
        [
            "15 more new risky statements not annotated (GitHub shows 10 error annotations per step): "
            "all are listed above and in the job's step summary"
        ]
    )
    text = summary.read_text()
    for i in range(25):
        assert f"prisma/migrations/202402010000{i:02d}_drop/migration.sql:1" in text


def test_ten_or_fewer_findings_print_no_count_line(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(10):
        add_migration(project, f"202402010000{i:02d}_drop", f'ALTER TABLE "User" DROP COLUMN "c{i}";\n')
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = project.runpytest("-m", "migrations")
    assert sum(line.startswith("::error ") for line in result.stdout.lines) == 10
    assert "not annotated" not in result.stdout.str()
