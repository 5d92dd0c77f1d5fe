"""The launch gate's PASSED means every expected check ran and passed, whatever a run leaves out.

Each test reproduces a way a hostile pull request (or a careless CI edit) got ``LAUNCH GATE PASSED``
before the verdict counted the expected checks: deselecting, skipping or xfailing the failing
checks, switching parts of the plugin off, smuggling ``--update-baseline`` in through ``addopts``.
The service is the sample app with its policy broken on purpose (members let into every admin-only
endpoint), so the member checks really fail when they run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_promotion.sample.app import create_app
from pytest_promotion.sample.auth import Role
from pytest_promotion.sample.server import serving
from pytest_promotion.settings import load_settings
from tests.conftest import DROP_BIO, INIT, add_migration

ADMIN, MEMBER = "hostile-admin-5e1f", "hostile-member-7a2b"
ADMIN_ONLY = (
    "/api/dashboard/ops/incidents",
    "/api/dashboard/security/sessions",
    "/api/dashboard/support/impersonation/sessions",
)
PROJECT = """[tool.pytest.ini_options]
testpaths = ["checks"]

[tool.promotion]
migrations_dir = "prisma/migrations"

[tool.promotion.smoke]
endpoints = ["/api/health"]

[tool.promotion.policy]
admin_only = [{admin_only}]
"""
MEMBER_ITEMS = [f"pyproject.toml::admin_policy::member: GET {path}" for path in ADMIN_ONLY]
WORKERS = pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])


def verdict_block(result: pytest.RunResult) -> list[str]:
    """The launch-gate section: one line per stage, then the verdict."""
    lines = result.stdout.lines
    start = next(n for n, line in enumerate(lines) if " launch gate " in line)
    end = next(n for n in range(start, len(lines)) if lines[n].startswith("LAUNCH GATE"))
    return lines[start + 1 : end + 1]


@pytest.fixture
def gate(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project with one migration, one smoke entry and three admin-only endpoints, both stages required."""
    for name in ("SMOKE_BASE_URL", "PYTEST_BASE_URL", "SMOKE_ORGANIZATION_ID", "LAUNCH_ADMIN_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", ADMIN)
    monkeypatch.setenv("LAUNCH_MEMBER_BEARER_TOKEN", MEMBER)
    monkeypatch.setenv("LAUNCH_POST_DEPLOY_SMOKE", "true")
    monkeypatch.setenv("LAUNCH_VALIDATE_ADMIN_CONTROLS", "true")
    admin_only = ", ".join(f'"{path}"' for path in ADMIN_ONLY)
    pytester.makefile(".toml", pyproject=PROJECT.format(admin_only=admin_only))
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "test_unit.py").write_text("def test_unit():\n    pass\n")
    add_migration(pytester, "20240101000000_init", INIT)
    return pytester


def _serve(tmp_path: Path, broken: bool) -> Iterator[str]:
    loosened = {path: {Role.MEMBER} for path in ADMIN_ONLY} if broken else None
    app = create_app(load_settings(pyproject=None, options={}), tmp_path / "sample.sqlite3", loosened)
    with serving(app) as url:
        yield url


@pytest.fixture
def broken(gate: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample with a member let into every admin-only endpoint: three real failures."""
    yield from _serve(tmp_path_factory.mktemp("broken"), broken=True)


@pytest.fixture
def healthy(gate: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample with its policy intact."""
    yield from _serve(tmp_path_factory.mktemp("healthy"), broken=False)


def run_gate(pytester: pytest.Pytester, url: str, *args: str) -> tuple[pytest.RunResult, list[str]]:
    result = pytester.runpytest("--launch-gate", f"--base-url={url}", *args)
    return result, verdict_block(result)


@WORKERS
def test_a_complete_green_run_passes(gate: pytest.Pytester, healthy: str, workers: list[str]) -> None:
    result, block = run_gate(gate, healthy, *workers)
    assert result.ret == pytest.ExitCode.OK
    assert block == [
        "  migration safety   passed (1 check)",
        "  post-deploy smoke  passed (1 check)",
        "  latency budgets    nothing configured",
        "  admin controls     passed (12 checks)",
        "  feature flags      nothing configured",
        "  entitlements       nothing configured",
        "LAUNCH GATE PASSED",
    ]


@pytest.mark.parametrize(
    ("selection", "why"),
    [
        (["-k", "not member"], "deselected"),
        ([arg for item in MEMBER_ITEMS for arg in ("--deselect", item)], "deselected"),
        (["-k", "admin: or not admin_policy"], "deselected"),
    ],
    ids=["-k not member", "--deselect", "-k admin: or not admin_policy"],
)
def test_deselecting_the_failing_checks_fails_the_gate_naming_them(
    gate: pytest.Pytester, broken: str, selection: list[str], why: str
) -> None:
    runs = {}
    for label, workers in (("plain", []), ("xdist", ["-n", "2"])):
        result, block = run_gate(gate, broken, *selection, *workers)
        assert result.ret == pytest.ExitCode.TESTS_FAILED, block
        runs[label] = block
    assert runs["xdist"] == runs["plain"]
    admin = next(line for line in runs["plain"] if "admin controls" in line)
    assert admin.startswith("  admin controls     FAILED: ")
    assert f"expected checks did not run ({why}: " in admin
    assert "member: GET /api/dashboard/ops/incidents" in admin
    assert runs["plain"][-1] == "LAUNCH GATE FAILED"


@pytest.mark.parametrize("mark", ["skip", "xfail"])
@WORKERS
def test_a_conftest_that_skips_or_xfails_the_failing_checks_fails_the_gate(
    gate: pytest.Pytester, broken: str, mark: str, workers: list[str]
) -> None:
    gate.makeconftest(
        f"""
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if "member:" in item.name:
                    item.add_marker(pytest.mark.{mark}(reason="flaky, see ticket"))
        """
    )
    result, block = run_gate(gate, broken, *workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    kind = "skipped (flaky, see ticket)" if mark == "skip" else "xfailed"
    assert (
        f"  admin controls     FAILED: 3 of 12 expected checks did not run ({kind}: "
        "member: GET /api/dashboard/ops/incidents, member: GET /api/dashboard/security/sessions, "
        "member: GET /api/dashboard/support/impersonation/sessions)"
    ) in block
    assert block[-1] == "LAUNCH GATE FAILED"


def test_dropping_the_prerequisite_item_does_not_drop_the_prerequisite(
    gate: pytest.Pytester, healthy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAUNCH_MEMBER_BEARER_TOKEN")
    result, block = run_gate(gate, healthy, "-k", "not needs")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    admin = next(line for line in block if "admin controls" in line)
    assert admin.startswith(
        "  admin controls     FAILED: needs member credentials: set LAUNCH_MEMBER_BEARER_TOKEN"
    )
    assert block[-1] == "LAUNCH GATE FAILED"


def test_a_policy_entry_skipped_for_a_missing_organization_fails_the_gate(
    gate: pytest.Pytester, broken: str
) -> None:
    path = gate.path / "pyproject.toml"
    path.write_text(
        path.read_text().replace(
            '"/api/dashboard/ops/incidents", ',
            '{ path = "/api/dashboard/ops/incidents", params = { organization_id = "{organization_id}" } }, ',
        )
    )
    result, block = run_gate(gate, broken)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    admin = next(line for line in block if "admin controls" in line)
    assert "needs an organization: set SMOKE_ORGANIZATION_ID" in admin
    assert "4 of 12 expected checks did not run (skipped (needs an organization)" in admin


@pytest.mark.parametrize("stop", [["-x"], ["--maxfail=1"]], ids=["-x", "--maxfail=1"])
@WORKERS
def test_a_run_stopped_early_fails_the_gate_and_a_green_one_passes(
    gate: pytest.Pytester, broken: str, healthy: str, stop: list[str], workers: list[str]
) -> None:
    result, block = run_gate(gate, broken, *stop, *workers)
    assert result.ret != pytest.ExitCode.OK  # xdist reports a stop on failure as INTERRUPTED (2)
    assert block[-1] == "LAUNCH GATE FAILED"
    assert any(line.startswith("  admin controls     FAILED: ") and " failed" in line for line in block)
    green, block = run_gate(gate, healthy, *stop, *workers)
    assert green.ret == pytest.ExitCode.OK
    assert block[-1] == "LAUNCH GATE PASSED"


def test_last_failed_alone_does_not_pass_the_gate(gate: pytest.Pytester, broken: str, healthy: str) -> None:
    run_gate(gate, broken)  # three member checks fail and are remembered
    result, block = run_gate(gate, healthy, "--lf")
    result.assert_outcomes(passed=3, deselected=14)  # the three last failures alone ran
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert block[0].startswith(
        "  migration safety   FAILED: 1 of 1 expected checks did not run (deselected: "
    )
    assert block[-1] == "LAUNCH GATE FAILED"


@pytest.mark.parametrize(
    "selection", [["-m", "smoke"], ["-m", "not admin_policy"]], ids=["-m smoke", "-m not admin_policy"]
)
def test_a_mark_expression_that_leaves_a_stage_out_fails_the_gate(
    gate: pytest.Pytester, healthy: str, selection: list[str]
) -> None:
    result, block = run_gate(gate, healthy, *selection)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "  admin controls     FAILED: 12 of 12 expected checks did not run (deselected: " in "\n".join(
        block
    )


@pytest.mark.parametrize("where", ["command line", "addopts"])
@pytest.mark.parametrize("part", ["promotion-launch-gate", "promotion-reporting", "promotion-migrations"])
def test_switching_a_part_of_the_plugin_off_is_a_usage_error(
    gate: pytest.Pytester, healthy: str, part: str, where: str
) -> None:
    if where == "addopts":
        path = gate.path / "pyproject.toml"
        path.write_text(
            path.read_text().replace(
                'testpaths = ["checks"]', f'testpaths = ["checks"]\naddopts = ["-p", "no:{part}"]'
            )
        )
        result = gate.runpytest("--launch-gate", f"--base-url={healthy}")
    else:
        result = gate.runpytest("--launch-gate", f"--base-url={healthy}", "-p", f"no:{part}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*-p no:{part}: pytest-promotion's parts*cannot be switched off one by one*"]
    )
    assert "LAUNCH GATE PASSED" not in result.stdout.str()


def test_update_baseline_is_refused_inside_the_gate(gate: pytest.Pytester, healthy: str) -> None:
    add_migration(gate, "20240201000000_drop_bio", DROP_BIO)
    result = gate.runpytest("--launch-gate", f"--base-url={healthy}", "--update-baseline")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--update-baseline cannot be used with --launch-gate*"])
    assert not (gate.path / "baselines").exists()


@pytest.mark.parametrize("where", ["addopts", "PYTEST_ADDOPTS"])
def test_update_baseline_from_addopts_is_refused(
    gate: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    add_migration(gate, "20240201000000_drop_bio", DROP_BIO)
    if where == "addopts":
        path = gate.path / "pyproject.toml"
        path.write_text(
            path.read_text().replace(
                'testpaths = ["checks"]', 'testpaths = ["checks"]\naddopts = ["--update-baseline"]'
            )
        )
    else:
        monkeypatch.setenv("PYTEST_ADDOPTS", "--update-baseline")
    for args in (["-m", "migrations"], ["--launch-gate"]):
        result = gate.runpytest(*args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, args
        assert "--update-baseline" in result.stderr.str()
    assert not (gate.path / "baselines").exists()
    typed = gate.runpytest("-m", "migrations", "--update-baseline") if where == "PYTEST_ADDOPTS" else None
    if typed is not None:  # typed on the command line as well: honoured
        assert typed.ret == pytest.ExitCode.OK
        assert (gate.path / "baselines" / "migration-safety-baseline.json").is_file()


def test_user_tests_never_enter_the_verdict(gate: pytest.Pytester, healthy: str) -> None:
    (gate.path / "checks" / "migrations").mkdir()
    (gate.path / "checks" / "migrations" / "test_x.py").write_text("def test_x():\n    assert False\n")
    (gate.path / "checks" / "test_marked.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.smoke\ndef test_marked():\n    assert False\n\n"
        "@pytest.mark.parametrize('stage', ['smoke', 'admin_policy'])\ndef test_ids(stage):\n    assert False\n"
    )
    result, block = run_gate(gate, healthy)
    assert result.ret == pytest.ExitCode.OK, block
    assert block[-1] == "LAUNCH GATE PASSED"
    assert "test_x" not in result.stdout.str().split(" launch gate ")[1]


def test_strict_baseline_stale_entries_fail_the_printed_verdict_too(
    gate: pytest.Pytester, healthy: str
) -> None:
    add_migration(gate, "20240201000000_drop_bio", DROP_BIO)
    assert gate.runpytest("-m", "migrations", "--update-baseline").ret == pytest.ExitCode.OK
    (gate.path / "prisma" / "migrations" / "20240201000000_drop_bio" / "migration.sql").write_text(
        "SELECT 1;\n"
    )
    result, block = run_gate(gate, healthy, "--strict-baseline")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert block[0] == "  migration safety   FAILED: 1 stale baseline entry (--strict-baseline)"
    assert block[-1] == "LAUNCH GATE FAILED"


def test_a_smoke_only_project_can_use_the_gate(gate: pytest.Pytester, healthy: str) -> None:
    for path in sorted((gate.path / "prisma").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (gate.path / "prisma").rmdir()
    path = gate.path / "pyproject.toml"
    path.write_text(path.read_text().replace('migrations_dir = "prisma/migrations"\n', ""))
    result, block = run_gate(gate, healthy)
    assert result.ret == pytest.ExitCode.OK, block
    assert block[0] == "  migration safety   nothing configured (no migrations folder)"
    assert block[-1] == "LAUNCH GATE PASSED"


def test_a_gate_that_requires_nothing_does_not_pass(
    gate: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCH_POST_DEPLOY_SMOKE", "false")
    monkeypatch.setenv("LAUNCH_VALIDATE_ADMIN_CONTROLS", "false")
    for path in sorted((gate.path / "prisma").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    path = gate.path / "pyproject.toml"
    path.write_text(path.read_text().replace('migrations_dir = "prisma/migrations"\n', ""))
    result = gate.runpytest("--launch-gate")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["  no stage is required: *", "LAUNCH GATE FAILED"])
