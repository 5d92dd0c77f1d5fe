"""``pytest-promotion demo``: the whole gate in one command, and the same gate under pytest-xdist.

The demo runs over a copy of the checkout's sample project (pyproject.toml, the StoryEngine
migrations and the reviewed baseline), exactly as the README's first command runs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_promotion.cli import main

ROOT = Path(__file__).resolve().parents[2]
STAGE_TITLES = (
    "migration safety",
    "post-deploy smoke",
    "latency budgets",
    "admin controls",
    "feature flags",
    "entitlements",
)


@pytest.fixture
def sample_project(tmp_path: Path) -> Path:
    """The checkout's sample project, copied so the demo may write reports and a baseline."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")  # a conftest changes how pluggy calls hooks
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def demo(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_promotion", "demo", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def verdict_block(output: str) -> list[str]:
    """The launch-gate section: one line per stage and the verdict."""
    block = output.split(" launch gate ", 1)[1].splitlines()[1:]
    return block[: next(n for n, line in enumerate(block) if line.startswith("LAUNCH GATE")) + 1]


def outcomes(junit: Path) -> dict[tuple[str, str], str]:
    """Each testcase's outcome, keyed by classname and name."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kind = next((child.tag for child in case if child.tag in {"failure", "error", "skipped"}), "passed")
        found[(case.get("classname", ""), case.get("name", ""))] = kind
    return found


def test_the_demo_runs_every_stage_against_the_sample_and_passes(sample_project: Path) -> None:
    result = demo(sample_project)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    block = verdict_block(result.stdout)
    for title in STAGE_TITLES:
        assert any(re.match(rf"  {title} +passed \(\d+ checks?\)$", line) for line in block), block
    assert block[-1] == "LAUNCH GATE PASSED"
    assert result.stdout.rstrip().splitlines()[-1].startswith("=")  # pytest's own last line follows
    cases = outcomes(sample_project / "reports" / "junit.xml")  # relative to where the demo ran
    names = {name for _, name in cases}
    assert {"flag new_editor", "drift", "entitlement seat_limit", "GET /api/health"} <= names
    # the sample's revision is awaited, and its flags are read over OFREP
    assert "wait revision GET /api/health json version.commit" in names
    assert (
        "expects revision sample-1 (GET /api/health json version.commit), flags over OFREP" in result.stdout
    )
    assert set(cases.values()) == {"passed"}
    assert "demo-admin-" not in result.stdout + result.stderr  # the made-up tokens stay secret


def test_the_whole_gate_gives_the_same_verdicts_and_testcases_under_xdist(sample_project: Path) -> None:
    runs = {}
    for label, extra in (("plain", []), ("xdist", ["-n", "2"])):
        junit = f"reports/{label}.xml"
        result = demo(sample_project, "--junitxml", junit, "--", *extra)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr
        runs[label] = (verdict_block(result.stdout), outcomes(sample_project / junit))
    assert runs["xdist"] == runs["plain"]
    assert len(runs["plain"][1]) > 40


def test_accepting_the_sample_history_writes_the_same_baseline_under_xdist(sample_project: Path) -> None:
    project = sample_project / "examples" / "storyengine"
    baseline = project / "baselines" / "migration-safety-baseline.json"
    written = {}
    for label, extra in (("plain", []), ("xdist", ["-n", "2"])):
        baseline.unlink()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-m",
                "migrations",
                "--update-baseline",
                "-p",
                "no:cacheprovider",
                *extra,
            ],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr
        written[label] = baseline.read_bytes()
    assert written["xdist"] == written["plain"]
    assert b'"entries"' in written["plain"]


def test_the_demo_outside_a_configured_project_says_where_to_run_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 3
    err = capsys.readouterr().err
    assert "no [tool.promotion] table here" in err
    assert "Traceback" not in err
