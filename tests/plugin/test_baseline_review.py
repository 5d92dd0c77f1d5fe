"""A baseline a reviewer can read: ordered by migration then line, a line hint, a reason slot."""

from __future__ import annotations

import json

import pytest

from tests.conftest import add_migration, read_baseline

BASELINE = "baselines/migration-safety-baseline.json"
THREE_DROPS = 'ALTER TABLE "User" DROP COLUMN "zeta";\nSELECT 1;\nALTER TABLE "User" DROP COLUMN "alpha";\nTRUNCATE "Log";\n'


def test_entries_are_ordered_by_migration_then_line_with_an_empty_reason(project: pytest.Pytester) -> None:
    add_migration(project, "20240301000000_b", THREE_DROPS)
    add_migration(project, "20240201000000_a", 'DROP TABLE "Old";\n')
    project.runpytest("-m", "migrations", "--update-baseline").assert_outcomes(passed=3)
    entries = read_baseline(project)["entries"]
    assert [(e["migration"], e["line"]) for e in entries] == [  # type: ignore[index, union-attr]
        ("20240201000000_a", 1),
        ("20240301000000_b", 1),
        ("20240301000000_b", 3),
        ("20240301000000_b", 4),
    ]
    assert all(e["reason"] == "" for e in entries)  # type: ignore[index, union-attr]


def test_the_line_hint_is_not_identity_and_old_baselines_without_it_still_match(
    project: pytest.Pytester,
) -> None:
    path = add_migration(project, "20240201000000_drop", 'ALTER TABLE "User" DROP COLUMN "bio";\n')
    project.runpytest("-m", "migrations", "--update-baseline")
    baseline = project.path / BASELINE
    data = json.loads(baseline.read_text())
    for entry in data["entries"]:
        del entry["line"]
        del entry["reason"]  # the shape baselines had before reasons and lines were written
    baseline.write_text(json.dumps(data))
    project.runpytest("-m", "migrations").assert_outcomes(passed=2)
    path.write_text('-- moved down\n\n\nALTER TABLE "User" DROP COLUMN "bio";\n')
    project.runpytest("-m", "migrations").assert_outcomes(passed=2)  # a stale line matches too
    project.runpytest("-m", "migrations", "--update-baseline").stdout.fnmatch_lines(
        ["baseline: 0 added, 0 removed, 1 kept*"]
    )
    assert read_baseline(project)["entries"][0]["line"] == 4  # type: ignore[index]


def test_require_reasons_fails_on_an_empty_reason_and_lists_the_entries(project: pytest.Pytester) -> None:
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\nrequire_reasons = true\n")
    add_migration(project, "20240301000000_b", THREE_DROPS)
    accepted = project.runpytest("-m", "migrations", "--update-baseline")
    assert accepted.ret == pytest.ExitCode.OK  # accepting is how the slots are made
    result = project.runpytest("-m", "migrations")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            f"3 baseline entries in {BASELINE} have no reason (fails the run: require_reasons = true):",
            '  20240301000000_b:1: drop-column — ALTER TABLE "User" DROP COLUMN "zeta"',
            '  20240301000000_b:3: drop-column — ALTER TABLE "User" DROP COLUMN "alpha"',
            '  20240301000000_b:4: truncate — TRUNCATE "Log"',
            f'Write why each was accepted in its "reason" in {BASELINE}, then run again.',
        ]
    )
    baseline = project.path / BASELINE
    data = json.loads(baseline.read_text())
    for entry in data["entries"]:
        entry["reason"] = "log and columns unused since v2"
    baseline.write_text(json.dumps(data))
    green = project.runpytest("-m", "migrations")
    assert green.ret == pytest.ExitCode.OK
    assert "no reason" not in green.stdout.str()


def test_require_reasons_under_the_launch_gate_fails_the_migration_stage(
    project: pytest.Pytester,
) -> None:
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\nrequire_reasons = true\n")
    add_migration(project, "20240301000000_b", THREE_DROPS)
    project.runpytest("-m", "migrations", "--update-baseline")
    result = project.runpytest("--launch-gate")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        "3 baseline entries without a reason in baselines/migration-safety-baseline.json (require_reasons)"
        in (result.stdout.str())
    )
