"""``pytest-promotion``: the one entry point for the project's non-test commands.

Each feature package exposes ``add_commands(subparsers)``; every subcommand sets a
``handler(args) -> int`` with ``set_defaults``. This module imports nothing from pytest.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pytest_promotion import cli_init
from pytest_promotion.database import commands as database_commands
from pytest_promotion.overrides import commands as overrides_commands
from pytest_promotion.sample import commands as sample_commands


def build_parser() -> argparse.ArgumentParser:
    """The ``pytest-promotion`` parser with every feature's subcommands."""
    parser = argparse.ArgumentParser(
        prog="pytest-promotion",
        description="Promotion helpers: init, database backup, atomic rollback, migrate status, the sample service.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    cli_init.add_commands(subparsers)
    database_commands.add_commands(subparsers)
    overrides_commands.add_commands(subparsers)
    sample_commands.add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit code (argparse's 2 for a bad command line)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("Interrupted; nothing more was done.", file=sys.stderr)
        return 130
    return code
