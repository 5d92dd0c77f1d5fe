"""The gate fails exactly the migrations with unreviewed risky statements, readably."""

from __future__ import annotations

import pytest

from tests.conftest import DROP_BIO, add_migration


def test_new_drop_column_fails_only_its_item_with_line_and_rule(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", "-- AlterTable\n" + DROP_BIO)
    result = project.runpytest("-m", "migrations")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ migration 20240201000000_drop_bio _*",
            "prisma/migrations/20240201000000_drop_bio/migration.sql: 1 risky statement not in the reviewed"
            " baseline (baselines/migration-safety-baseline.json)",
            '  line 2: drop-column — ALTER TABLE "User" DROP COLUMN "bio"',
            "      why: Dropping a column deletes its data*",
            "      instead: Expand/contract: stop reading the column, deploy, then drop it*",
            "Review, then accept with: pytest -m migrations --update-baseline",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_update_accepts_and_a_second_update_changes_no_byte(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    first = project.runpytest("-m", "migrations", "--update-baseline")
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines(
        ["baseline: 1 added, 0 removed, 0 kept (baselines/migration-safety-baseline.json)"]
    )
    baseline = project.path / "baselines" / "migration-safety-baseline.json"
    written = baseline.read_bytes()
    assert written.endswith(b"}\n")
    project.runpytest("-m", "migrations").assert_outcomes(passed=2)
    second = project.runpytest("-m", "migrations", "--update-baseline")
    second.stdout.fnmatch_lines(["baseline: 0 added, 0 removed, 1 kept*"])
    assert baseline.read_bytes() == written


def test_non_utf8_file_fails_its_own_item_and_the_session_goes_on(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_latin1", "-- café\nSELECT 1;\n".encode("latin-1"))
    add_migration(project, "20240301000000_fine", "SELECT 1;\n")
    result = project.runpytest("-m", "migrations")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "prisma/migrations/20240201000000_latin1/migration.sql: is not valid UTF-8 (byte 0xe9 on line 1)."
            " Prisma reads migrations as UTF-8: re-save the file as UTF-8, then run again."
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_non_utf8_file_keeps_its_baseline_entries_on_update(project: pytest.Pytester) -> None:
    path = add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    project.runpytest("-m", "migrations", "--update-baseline")
    path.write_bytes(b"\xff" + DROP_BIO.encode())
    result = project.runpytest("-m", "migrations", "--update-baseline")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["baseline: 0 added, 0 removed, 0 kept*"])
    assert len(read_entries(project)) == 1


def test_bom_and_crlf_files_report_the_right_line(project: pytest.Pytester) -> None:
    sql = "\ufeff-- AlterTable\r\n\r\n" + DROP_BIO.replace("\n", "\r\n")
    add_migration(project, "20240201000000_windows", sql.encode("utf-8"))
    result = project.runpytest("-m", "migrations")
    result.stdout.fnmatch_lines(['  line 3: drop-column — ALTER TABLE "User" DROP COLUMN "bio"'])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_many_failures_stay_short_on_ci(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: list[str]
) -> None:
    monkeypatch.setenv("CI", "true")  # pytest prints whole failure messages in the short summary on CI
    for k in range(40):
        add_migration(project, f"2024020100{k:04d}_drop", f'DROP TABLE "T{k}";\n')
    result = project.runpytest_subprocess("-m", "migrations", *workers)
    result.assert_outcomes(passed=1, failed=40)
    out = result.stdout.str()
    assert out.count("why: Dropping a table") == 40  # once per failure, not again in the summary
    result.stdout.fnmatch_lines(
        [
            "FAILED prisma/migrations::20240201000000_drop - 1 risky statement not in the baseline (drop-table), first on line 1"
        ]
    )
    assert "Traceback" not in out


def read_entries(project: pytest.Pytester) -> list[dict[str, str]]:
    from tests.conftest import read_baseline

    return read_baseline(project)["entries"]  # type: ignore[return-value]
