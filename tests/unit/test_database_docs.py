"""docs/database.md names every exit code and every option of the database commands."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pytest_promotion.cli import build_parser
from pytest_promotion.database.exit_codes import ExitCode

DOCS = Path(__file__).resolve().parents[2] / "docs" / "database.md"


def options(command: str) -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(
        option
        for action in sub.choices[command]._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    )


@pytest.mark.parametrize("code", list(ExitCode), ids=lambda code: code.name)
def test_every_exit_code_has_a_row(code: ExitCode) -> None:
    assert f"\n| {int(code)} | " in DOCS.read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["backup", "rollback", "status"])
def test_every_option_is_documented(command: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [option for option in options(command) if f"`{option}" not in text]
    assert not missing
