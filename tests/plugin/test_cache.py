"""A warm re-run takes unchanged files' findings from pytest's cache instead of scanning again."""

from __future__ import annotations

import pytest

from pytest_promotion.migrations import gate
from tests.conftest import DROP_BIO, add_migration


def test_unchanged_files_are_not_scanned_again(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    project.runpytest("-m", "migrations").assert_outcomes(passed=1, failed=1)
    assert (project.path / ".pytest_cache" / "v" / "promotion" / "migration-scan").is_file()

    scanned: list[str] = []
    real = gate.scan_text
    monkeypatch.setattr(gate, "scan_text", lambda text, *a: scanned.append(a[-1]) or real(text, *a))
    warm = project.runpytest("-m", "migrations")
    warm.assert_outcomes(passed=1, failed=1)
    warm.stdout.fnmatch_lines(['  line 1: drop-column — ALTER TABLE "User" DROP COLUMN "bio"'])
    assert scanned == []

    path.write_text("SELECT 1;\n" + DROP_BIO)  # changed bytes: scanned again, new line reported
    edited = project.runpytest("-m", "migrations")
    edited.stdout.fnmatch_lines(['  line 2: drop-column — ALTER TABLE "User" DROP COLUMN "bio"'])
    assert scanned == ["20240201000000_drop_bio"]


def test_cache_is_keyed_by_rules(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_index", 'CREATE INDEX "i" ON "User"("email");\n')
    project.runpytest("-m", "migrations").assert_outcomes(passed=2)
    result = project.runpytest("-m", "migrations", "--promotion-rules", "all")
    result.assert_outcomes(passed=1, failed=1)
