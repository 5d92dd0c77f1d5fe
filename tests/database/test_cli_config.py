"""Configuration errors of the commands: one paragraph naming the variable or tool, exit code 3."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_promotion.cli import main
from pytest_promotion.database.exit_codes import ExitCode


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, "DATABASE_URL is not set"),
        ("", "DATABASE_URL is not set"),
        ("mysql://root:hunter2@localhost/shop", "MySQL (mysql:) is not supported yet"),
        ("file:./dev.db", "SQLite (file:) is not supported yet"),
    ],
)
@pytest.mark.parametrize("command", ["backup", "rollback", "status"])
def test_database_url_problems(
    bare: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str | None,
    expected: str,
    command: str,
) -> None:
    if url is not None:
        monkeypatch.setenv("DATABASE_URL", url)
    assert main([command]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert expected in err
    assert "hunter2" not in err
    assert "Traceback" not in err


def test_missing_tools_message(
    bare: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@127.0.0.1/db")
    monkeypatch.setenv("PATH", str(bare))
    assert main(["status"]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "pg_dump was not found on PATH" in err
    assert "apt-get install postgresql-client" in err


def test_usage_errors_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == ExitCode.USAGE
    assert main(["rollback", "--frobnicate"]) == ExitCode.USAGE
    assert main(["--help"]) == 0
    assert "backup" in capsys.readouterr().out


def test_console_script_and_module_entry_points(bare: Path) -> None:
    script = Path(sys.executable).parent / "pytest-promotion"
    for command in ([str(script), "status"], [sys.executable, "-m", "pytest_promotion", "status"]):
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=bare, env={"PATH": "/usr/bin:/bin"}, check=False
        )
        assert done.returncode == ExitCode.CONFIG, done.stderr
        assert "DATABASE_URL is not set" in done.stderr


@pytest.mark.parametrize("content", ["tool = 5\n", "[tool]\npromotion = 5\n"])
def test_a_pyproject_whose_tool_is_not_a_table_is_one_paragraph(
    bare: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    (bare / "pyproject.toml").write_text(content)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@127.0.0.1/db")
    assert main(["status"]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "pyproject.toml: [tool" in err
    assert "must be a table" in err
    assert "Traceback" not in err
