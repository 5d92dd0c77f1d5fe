"""The acceptance path on the bundled StoryEngine sample, as the README tells a user to run it."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "storyengine"


@pytest.fixture
def sample(pytester: pytest.Pytester) -> pytest.Pytester:
    """A copy of the sample's migrations, baseline and [tool.promotion] table (without the remote checks)."""
    table = tomllib.loads((SAMPLE / "pyproject.toml").read_text())["tool"]["promotion"]
    lines = ["[tool.pytest.ini_options]", 'testpaths = ["tests"]', "[tool.promotion]"]
    lines += [
        f"{key} = {value!r}".replace("'", '"') for key, value in table.items() if not isinstance(value, dict)
    ]
    pytester.makefile(".toml", pyproject="\n".join(lines) + "\n")
    (pytester.path / "tests").mkdir()
    shutil.copytree(SAMPLE / "prisma", pytester.path / "prisma")
    shutil.copytree(SAMPLE / "baselines", pytester.path / "baselines")
    return pytester


def test_sample_passes_then_gates_a_new_drop_column(sample: pytest.Pytester) -> None:
    sample.runpytest("-m", "migrations").assert_outcomes(passed=16)
    new = sample.path / "prisma/migrations/20250901120000_drop_user_bio/migration.sql"
    new.parent.mkdir()
    new.write_text('-- AlterTable\nALTER TABLE "User" DROP COLUMN "bio";\n')
    failed = sample.runpytest("-m", "migrations")
    failed.assert_outcomes(passed=16, failed=1)
    failed.stdout.fnmatch_lines(
        [
            '  line 2: drop-column — ALTER TABLE "User" DROP COLUMN "bio"',
            "FAILED prisma/migrations::20250901120000_drop_user_bio*",
        ]
    )
    baseline = sample.path / "baselines" / "migration-safety-baseline.json"
    reviewed = baseline.read_text()
    accepted = sample.runpytest("-m", "migrations", "--update-baseline")
    accepted.stdout.fnmatch_lines(["baseline: 1 added, 0 removed, 6 kept*"])
    written = baseline.read_bytes()
    assert reviewed.count('"reason"') == 6
    assert written.decode().count('"reason"') == 7
    assert written.decode().count('"reason": ""') == 1  # the new entry's slot; the six reasons kept
    sample.runpytest("-m", "migrations").assert_outcomes(passed=17)
    sample.runpytest("-m", "migrations", "--update-baseline")
    assert baseline.read_bytes() == written


def test_committed_baseline_matches_the_sample_exactly() -> None:
    from pytest_promotion.migrations import scan
    from pytest_promotion.migrations.baseline import load_baseline, render

    entries = load_baseline(SAMPLE / "baselines" / "migration-safety-baseline.json")
    found = scan(SAMPLE / "prisma" / "migrations")
    assert sorted(e.key for e in entries) == sorted((f.migration, f.rule, f.fingerprint) for f in found)
    assert all(e.reason for e in entries)
    assert render(entries) == (SAMPLE / "baselines" / "migration-safety-baseline.json").read_bytes()
