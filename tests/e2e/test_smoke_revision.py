"""Waiting for the right release: N answers in a row must report the expected revision."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_promotion.sample.app import create_app
from pytest_promotion.sample.server import serving
from pytest_promotion.settings import load_settings
from tests.e2e.conftest import SmokeProject

JSON_SOURCE = 'revision = { path = "/api/health", json = "version.commit" }\nendpoints = ["/api/analytics"]'


def rolled_out_after(seconds: float, tmp_path: Path) -> Iterator[str]:
    """The sample, reporting ``old-1`` for its first ``seconds`` and ``new-2`` after."""
    began = time.monotonic()
    app = create_app(
        load_settings(pyproject=None, options={}),
        tmp_path / "sample.sqlite3",
        revision=lambda: "new-2" if time.monotonic() - began > seconds else "old-1",
    )
    with serving(app) as url:
        yield url


@pytest.fixture
def rolling(tmp_path: Path) -> Iterator[str]:
    """A rollout that finishes a second after the service starts."""
    yield from rolled_out_after(1.0, tmp_path)


@pytest.fixture
def slow_rolling(tmp_path: Path) -> Iterator[str]:
    """A rollout that outlasts the start-up of two xdist workers."""
    yield from rolled_out_after(5.0, tmp_path)


def test_the_run_waits_until_the_new_revision_answers(smoke_project: SmokeProject, rolling: str) -> None:
    result = smoke_project(JSON_SOURCE).runpytest(
        "-m", "smoke", f"--base-url={rolling}", "--expect-revision=new-2", "--wait-healthy=20", "-rP"
    )
    result.assert_outcomes(passed=3)  # wait healthy, wait revision, the entry
    result.stdout.fnmatch_lines(
        ["3 answers in a row from GET /api/health json version.commit report new-2 (after *"]
    )


def test_under_xdist_every_worker_waits_for_the_new_revision_before_its_checks(
    smoke_project: SmokeProject, slow_rolling: str
) -> None:
    # An entry that passes only once new-2 answers: a worker that checked before the wait would fail it.
    entries = (
        'endpoints = ["/api/analytics", "/api/dashboard/home", "/api/dashboard/ops/diagnostics", '
        '{ path = "/api/health", json = { "version.commit" = "new-2" } }]'
    )
    result = smoke_project(JSON_SOURCE.replace('endpoints = ["/api/analytics"]', entries)).runpytest(
        "-m", "smoke", f"--base-url={slow_rolling}", "--expect-revision=new-2", "--wait-healthy=20", "-n", "2"
    )
    result.assert_outcomes(passed=6)  # wait healthy, wait revision, four entries


def test_a_rollout_that_never_finishes_fails_every_check_fast(
    smoke_project: SmokeProject, sample_url: str
) -> None:
    result = smoke_project(JSON_SOURCE).runpytest(
        "-m", "smoke", f"--base-url={sample_url}", "--expect-revision=new-2", "--wait-healthy=1"
    )
    result.assert_outcomes(passed=1, failed=2)  # healthy, but the revision never matched
    result.stdout.fnmatch_lines(
        [
            "3 of 3 answers still report sample-1 after 1 s, expected new-2 (GET /api/health json "
            "version.commit): the rollout has not finished",
            "FAILED pyproject.toml::smoke::GET /api/analytics - GET /api/analytics: not se*",
        ]
    )


def test_a_header_source_reads_the_revision_header(
    smoke_project: SmokeProject, sample_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester = smoke_project(
        'revision = { header = "X-Revision", consecutive = 2 }\nendpoints = ["/api/health"]'
    )
    result = pytester.runpytest("-m", "smoke", f"--base-url={sample_url}", "-v", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, skipped=1)  # no expected revision: skipped outside the gate
    monkeypatch.setenv("SMOKE_EXPECTED_REVISION", "sample-1")
    result = pytester.runpytest("-m", "smoke", f"--base-url={sample_url}", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*wait revision GET /api/health header X-Revision PASSED*"])


def test_without_an_expected_revision_the_launch_gate_fails_naming_it(
    smoke_project: SmokeProject, sample_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCH_POST_DEPLOY_SMOKE", "true")
    result = smoke_project(JSON_SOURCE).runpytest("--launch-gate", f"--base-url={sample_url}")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*SMOKE_EXPECTED_REVISION*"])


def test_an_expected_revision_without_a_source_is_a_usage_error(
    smoke_project: SmokeProject, sample_url: str
) -> None:
    result = smoke_project('endpoints = ["/api/health"]').runpytest(
        "-m", "smoke", f"--base-url={sample_url}", "--expect-revision=abc"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--expect-revision / SMOKE_EXPECTED_REVISION is set, but *names no revision source*"]
    )
