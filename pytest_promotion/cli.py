"""``pytest-promotion``: the one entry point for the project's non-test commands.

Each feature package exposes ``add_commands(subparsers)``; every subcommand sets a
``handler(args) -> int`` with ``set_defaults``. This module imports nothing from pytest, and a
subcommand imports only its own feature: a rollback during an incident does not wait for the
migration scanner or the sample service to load.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

FEATURES: dict[str, tuple[str, ...]] = {
    "pytest_promotion.cli_init": ("init",),
    "pytest_promotion.database.commands": ("backup", "rollback", "status"),
    "pytest_promotion.overrides.commands": ("overrides",),
    "pytest_promotion.sample.commands": ("demo", "sample"),
}
"""Which module registers which subcommands, in the order ``--help`` lists them."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``pytest-promotion`` parser: only ``command``'s feature when it names one, else all."""
    parser = argparse.ArgumentParser(
        prog="pytest-promotion",
        description="Promotion helpers: init, database backup, atomic rollback, migrate status, the sample service.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = [module for module, commands in FEATURES.items() if command in commands] or list(FEATURES)
    for module in wanted:
        importlib.import_module(module).add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit code (argparse's 2 for a bad command line)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments[0] if arguments else None)
    try:
        args = parser.parse_args(arguments)
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
