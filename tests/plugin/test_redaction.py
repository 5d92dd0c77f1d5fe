"""Secrets stay out of every channel of a user's own tests: live log, log file, output, JUnit."""

from __future__ import annotations

import pytest

TOKEN = "tok-LIVE-5b0d7e"


def test_live_log_and_log_file_are_scrubbed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCH_ADMIN_SESSION_TOKEN", TOKEN)
    pytester.makepyfile(
        test_leak=f"""
        import logging

        def test_logs_and_fails():
            logging.getLogger("app").warning("calling with %s", "{TOKEN}")
            print("{TOKEN}")
            raise RuntimeError("bad token {TOKEN}")
        """
    )
    result = pytester.runpytest(
        "--log-cli-level=WARNING",
        "--log-file=run.log",
        "--junitxml=junit.xml",
        "-rA",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*calling with ****", "*RuntimeError: bad token ****"])
    for text in (
        result.stdout.str(),
        result.stderr.str(),
        (pytester.path / "run.log").read_text(),
        (pytester.path / "junit.xml").read_text(),
    ):
        assert TOKEN not in text


def test_summary_sections_and_node_ids_on_the_terminal_are_scrubbed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCH_ADMIN_BEARER_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # the ::error annotations quote the statement too
    pytester.makefile(".toml", pyproject='[tool.promotion]\nmigrations_dir = "prisma/migrations"\n')
    migration = pytester.path / "prisma" / "migrations" / "20240101000000_purge"
    migration.mkdir(parents=True)
    (migration / "migration.sql").write_text(f'DELETE FROM "Session" WHERE "token" = \'{TOKEN}\';\n')
    pytester.makepyfile(
        test_ids=f"""
        import pytest

        @pytest.mark.parametrize("value", ["{TOKEN}"])
        def test_with(value):
            pass
        """
    )
    result = pytester.runpytest("-v", "-rA", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*migration safety*", "::error file=*"])
    assert TOKEN not in result.stdout.str() + result.stderr.str()
    assert "***" in result.stdout.str()
