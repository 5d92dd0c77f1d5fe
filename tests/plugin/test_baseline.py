"""Baseline identity, refresh semantics, stale entries, and xdist-identical writes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pytest_promotion.migrations.baseline import baseline_lock, lock_path
from tests.conftest import DROP_BIO, add_migration, read_baseline

BASELINE = "baselines/migration-safety-baseline.json"


def accept(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("-m", "migrations", "--update-baseline", *args)


def test_comment_or_whitespace_above_a_reviewed_statement_changes_nothing(project: pytest.Pytester) -> None:
    path = add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    accept(project)
    path.write_text('-- reviewed in PR 12\n\n/* note */\nALTER   TABLE "User"\n  drop column "bio" ;\n')
    project.runpytest("-m", "migrations").assert_outcomes(passed=2)


def test_a_changed_statement_is_new(project: pytest.Pytester) -> None:
    path = add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    accept(project)
    path.write_text('ALTER TABLE "User" DROP COLUMN "email";\n')
    project.runpytest("-m", "migrations").assert_outcomes(passed=1, failed=1)


def test_the_same_statement_in_another_migration_is_new(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    accept(project)
    add_migration(project, "20240301000000_drop_bio_again", DROP_BIO)
    result = project.runpytest("-m", "migrations")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED prisma/migrations::20240301000000_drop_bio_again*"])


def test_two_identical_statements_need_two_entries(project: pytest.Pytester) -> None:
    path = add_migration(project, "20240201000000_twice", DROP_BIO)
    accept(project)
    path.write_text(DROP_BIO + DROP_BIO)
    result = project.runpytest("-m", "migrations")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(['  line 2: drop-column — ALTER TABLE "User" DROP COLUMN "bio"'])
    accept(project).stdout.fnmatch_lines(["baseline: 1 added, 0 removed, 1 kept*"])
    assert len(read_baseline(project)["entries"]) == 2  # type: ignore[arg-type]


def test_refresh_keeps_reasons_and_drops_entries_whose_statement_is_gone(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    gone = add_migration(project, "20240301000000_cleanup", 'DELETE FROM "User";\n')
    accept(project)
    baseline = project.path / BASELINE
    data = json.loads(baseline.read_text())
    for entry in data["entries"]:
        entry["reason"] = f"reviewed {entry['rule']}"
    baseline.write_text(json.dumps(data, indent=2) + "\n")
    gone.write_text("SELECT 1;\n")
    accept(project).stdout.fnmatch_lines(["baseline: 0 added, 1 removed, 1 kept*"])
    assert read_baseline(project)["entries"] == [
        {
            "fingerprint": data["entries"][0]["fingerprint"],
            "line": 1,
            "migration": "20240201000000_drop_bio",
            "reason": "reviewed drop-column",
            "rule": "drop-column",
            "statement": 'ALTER TABLE "User" DROP COLUMN "bio"',
        }
    ]


def test_partial_run_update_leaves_other_migrations_entries_alone(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    other = add_migration(project, "20240301000000_cleanup", 'DELETE FROM "User";\n')
    accept(project)
    other.write_text("SELECT 1;\n")  # its entry is now stale, but this run will not look at it
    accept(project, "-k", "drop_bio").stdout.fnmatch_lines(["baseline: 0 added, 0 removed, 1 kept*"])
    assert {e["migration"] for e in read_baseline(project)["entries"]} == {  # type: ignore[attr-defined]
        "20240201000000_drop_bio",
        "20240301000000_cleanup",
    }


def test_stale_entries_are_listed_and_fail_only_when_strict(project: pytest.Pytester) -> None:
    path = add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    accept(project)
    path.write_text("SELECT 1;\n")
    result = project.runpytest("-m", "migrations")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            f"1 baseline entry in {BASELINE} matches nothing (not a failure):",
            '  20240201000000_drop_bio: drop-column — ALTER TABLE "User" DROP COLUMN "bio"',
            "Remove them with: pytest -m migrations --update-baseline",
        ]
    )
    strict = project.runpytest("-m", "migrations", "--strict-baseline")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.stdout.fnmatch_lines(["*matches nothing (fails the run (--strict-baseline)):"])


def test_entries_of_deleted_migrations_go_on_a_full_refresh(project: pytest.Pytester) -> None:
    path = add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    accept(project)
    path.unlink()
    path.parent.rmdir()
    accept(project).stdout.fnmatch_lines(["baseline: 0 added, 1 removed, 0 kept*"])


@pytest.mark.parametrize("workers", ["0", "2"])
def test_xdist_update_writes_the_same_bytes_as_a_plain_run(project: pytest.Pytester, workers: str) -> None:
    for k in range(6):
        add_migration(project, f"2024020{k}000000_m{k}", f'DROP TABLE "T{k}";\n' + DROP_BIO)
    plain = accept(project)
    plain.assert_outcomes(passed=7)
    expected = (project.path / BASELINE).read_bytes()
    (project.path / BASELINE).unlink()
    result = project.runpytest_subprocess("-m", "migrations", "--update-baseline", "-n", workers)
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["baseline: 12 added, 0 removed, 0 kept*"])
    assert (project.path / BASELINE).read_bytes() == expected
    again = project.runpytest_subprocess("-m", "migrations", "-n", workers)
    again.assert_outcomes(passed=7)
    again.stdout.fnmatch_lines(["12 risky statements found, all reviewed in*"])


def test_xdist_failures_and_summary_match_a_plain_run(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    result = project.runpytest_subprocess("-m", "migrations", "-n", "2")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["1 new risky statement in 1 migration not in*"])


BARRIER = '''
import os
import time
from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    """Both runs have read the baseline before either writes it: the lost update, every time."""
    folder = Path(str(session.config.rootpath)) / "barrier"
    folder.mkdir(exist_ok=True)
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
'''


def drops(prefix: str) -> str:
    return "".join(f'ALTER TABLE "User" DROP COLUMN "{prefix}{n}";\n' for n in range(3))


def test_two_concurrent_partial_updates_end_with_the_union_of_both(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_migration(project, "20240201000000_reviewed", DROP_BIO)
    accept(project).assert_outcomes(passed=2)
    add_migration(project, "20240301000000_first", drops("a"))
    add_migration(project, "20240401000000_second", drops("b"))
    project.makeconftest(BARRIER)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    command = [sys.executable, "-m", "pytest", "-p", "pytest_promotion.plugin", "-m", "migrations"]

    runs = [
        project.popen(
            [*command, "--update-baseline", "-k", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        for name in ("first", "second")
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]

    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert "baseline: 3 added" in output
    entries = read_baseline(project)["entries"]
    assert sorted({e["migration"] for e in entries}) == [  # type: ignore[attr-defined]
        "20240201000000_reviewed",
        "20240301000000_first",
        "20240401000000_second",
    ]
    assert len(entries) == 7  # type: ignore[arg-type]
    assert not list((project.path / "baselines").glob(".*.tmp"))


def test_a_killed_refresh_leaves_a_temp_file_the_next_run_removes(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    accept(project)
    baseline = project.path / BASELINE
    stale = baseline.parent / f".{baseline.name}.k1ll3d.tmp"
    stale.write_text("{half a baseline")

    with baseline_lock(baseline):  # a refresh of another run is writing: its temp file is left alone
        project.runpytest("-m", "migrations").assert_outcomes(passed=2)
        assert stale.exists()
    project.runpytest("-m", "migrations").assert_outcomes(passed=2)

    assert not stale.exists()
    assert read_baseline(project)["entries"]
    # one lock file for every baseline, outside the project: nothing piles up, nothing shows in git
    assert lock_path(baseline) == lock_path(project.path / "other.json")
    assert not lock_path(baseline).is_relative_to(project.path)
    assert not [p for p in baseline.parent.iterdir() if p.name != baseline.name]
