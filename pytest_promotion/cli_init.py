"""``pytest-promotion init``: gate the Prisma migrations of the project in the current folder.

It finds the migrations folder, appends a commented starter ``[tool.promotion]`` (and
``[tool.pytest.ini_options] testpaths`` when the repository has no Python tests, so pytest never
walks ``node_modules``) to ``pyproject.toml``, adds ``backups/`` to ``.gitignore`` and prints the
next three commands. The user's files are only ever appended to — never re-serialised through a
TOML library, which would drop their comments — and a second run changes nothing. A setting that
already says something different is left alone and reported, never overwritten.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded by init only: the other commands start without the migrations package
    from pytest_promotion.migrations.discover import Found


BASELINE = "baselines/migration-safety-baseline.json"
GITIGNORE_LINE = "backups/"


class InitError(Exception):
    """Why ``init`` changed nothing; the message is one paragraph that says what to do."""


@dataclass
class Plan:
    """What ``init`` will write, and what it tells the user."""

    chosen: Found
    why: str
    others: list[Found]
    pyproject_text: str = ""
    """Text appended to ``pyproject.toml`` (empty: nothing to add)."""
    gitignore_text: str = ""
    notes: list[str] = field(default_factory=list)


def add_commands(subparsers: Any) -> None:
    """Register ``init``."""
    init = subparsers.add_parser(
        "init",
        help="gate this project's Prisma migrations: write [tool.promotion] into pyproject.toml",
        description="Find the Prisma migrations folder under the current folder and write a starter "
        "[tool.promotion] into pyproject.toml (appended; nothing there is rewritten).",
    )
    init.add_argument(
        "--migrations-dir",
        metavar="DIR",
        help="the folder to gate, relative to the current folder (default: the one found)",
    )
    init.set_defaults(handler=init_command)


def init_command(args: argparse.Namespace) -> int:
    """Write the starter configuration in the current folder; 1 with a reason when it cannot."""
    root = Path.cwd()
    try:
        plan = make_plan(root, args.migrations_dir)
    except InitError as exc:
        print(f"pytest-promotion init: {exc}", file=sys.stderr)
        return 1
    for line in apply(root, plan):
        print(line)
    return 0


def make_plan(root: Path, migrations_dir: str | None = None) -> Plan:
    """Decide what to write under ``root``; an :class:`InitError` when it must not write anything."""
    from pytest_promotion.migrations.discover import Found, choose, find_migration_folders

    if migrations_dir is not None:
        path = Path(migrations_dir)
        if not (root / path).is_dir():
            raise InitError(f"--migrations-dir {migrations_dir}: no such folder under {root}.")
        found = [Found(path, "given", 0)]
    else:
        found = find_migration_folders(root)
    if not found:
        raise InitError(
            f"no Prisma migrations folder found under {root} (looked for folders holding "
            "migration_lock.toml and Prisma 8 migrations/app folders, skipping node_modules and hidden "
            "folders). Run init in your repository's root, or name the folder with --migrations-dir DIR."
        )
    chosen, why = choose(found) if migrations_dir is None else (found[0], "you named it")
    plan = Plan(chosen, why, [f for f in found if f != chosen])
    pyproject = root / "pyproject.toml"
    text = _read(pyproject)
    data = _parse(pyproject, text)
    plan.pyproject_text = _pyproject_addition(pyproject, data, chosen, root, plan.notes)
    plan.gitignore_text = _gitignore_addition(_read(root / ".gitignore"))
    if plan.pyproject_text and text and not text.endswith("\n"):
        plan.pyproject_text = "\n" + plan.pyproject_text
    if plan.pyproject_text and text.strip():
        plan.pyproject_text = "\n" + plan.pyproject_text
    try:  # what is appended must leave a file that still parses: never write a broken one
        tomllib.loads(text + plan.pyproject_text)
    except tomllib.TOMLDecodeError as exc:
        raise InitError(
            f"{pyproject}: appending [tool.promotion] would not be valid TOML ({exc}); add it by hand "
            "from docs/getting-started.md."
        ) from None
    return plan


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InitError(f"{path}: cannot be read ({exc}). Fix the file, then run init again.") from None


def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InitError(
            f"{path}: is not valid TOML ({exc}). Fix it first: init only appends to a file it can read."
        ) from None


def _same_folder(root: Path, a: str, b: Path) -> bool:
    return (root / a).resolve() == (root / b).resolve()


def _pyproject_addition(
    pyproject: Path, data: dict[str, Any], chosen: Found, root: Path, notes: list[str]
) -> str:
    tool = data.get("tool", {})
    parts: list[str] = []
    table = tool.get("promotion") if isinstance(tool, dict) else None
    pytest_tool = tool.get("pytest", {}) if isinstance(tool, dict) else {}
    pytest_table = pytest_tool.get("ini_options") if isinstance(pytest_tool, dict) else None
    if not isinstance(tool, dict) or (table is not None and not isinstance(table, dict)):
        raise InitError(
            f"{pyproject}: `tool` or `tool.promotion` is not a table. Make [tool.promotion] a table "
            "(see docs/getting-started.md), then run init again."
        )
    if table is None:
        parts.append(_starter(chosen.setting))
    else:
        configured = str(table.get("migrations_dir", "prisma/migrations"))
        if not _same_folder(root, configured, chosen.path):
            where = (
                "migrations_dir" if "migrations_dir" in table else "migrations_dir (unset: prisma/migrations)"
            )
            raise InitError(
                f"{pyproject}: [tool.promotion] already sets {where} = {configured!r}, but the migrations "
                f"folder found is {chosen.setting!r}. init does not overwrite a setting you wrote: edit "
                f'migrations_dir = "{chosen.setting}" in [tool.promotion] yourself, or run init '
                f"--migrations-dir {configured} to keep yours."
            )
        notes.append(f"[tool.promotion] in {pyproject.name} already gates {configured}: left as it is")
    other_ini = _other_pytest_config(root)
    if other_ini is not None and not has_python_tests(root):
        notes.append(
            f"pytest reads its settings from {other_ini} here: add testpaths = {chosen.setting} there so "
            "pytest does not walk node_modules"
        )
    elif pytest_table is None and not has_python_tests(root):
        parts.append(_testpaths(chosen.setting))
    elif pytest_table is not None and "testpaths" not in pytest_table and not has_python_tests(root):
        notes.append(
            f'[tool.pytest.ini_options] has no testpaths: add testpaths = ["{chosen.setting}"] so pytest '
            "does not walk node_modules"
        )
    return "\n".join(parts)


def _other_pytest_config(root: Path) -> str | None:
    """The file pytest takes its settings from instead of ``pyproject.toml``, if any."""
    for name, marker in (
        ("pytest.ini", ""),
        (".pytest.ini", ""),
        ("tox.ini", "[pytest]"),
        ("setup.cfg", "[tool:pytest]"),
    ):
        path = root / name
        if path.is_file() and (not marker or marker in _read(path)):
            return name
    return None


def _starter(migrations_dir: str) -> str:
    return f"""\
# pytest-promotion: the Prisma migration safety gate (written by `pytest-promotion init`).
# `pytest -m migrations` fails on risky statements (DROP TABLE, DROP COLUMN, TRUNCATE, ...) that
# are not in the reviewed baseline. Every key and variable: docs/getting-started.md.
[tool.promotion]
# The Prisma migrations folder to gate, relative to this file.
migrations_dir = "{migrations_dir}"
# The reviewed baseline: risky statements your team accepted. Commit it; give each entry a "reason".
baseline = "{BASELINE}"
# Rule ids, "default" (drop-table, drop-column, truncate, alter-type, delete-from) or "all".
rules = ["default"]
# Fail the run when a baseline entry matches nothing any more:
# strict_baseline = true
# Fail the run while a baseline entry has an empty "reason":
# require_reasons = true
"""


def _testpaths(migrations_dir: str) -> str:
    return f"""\
# This repository has no Python tests: pytest collects only the migrations (never node_modules).
[tool.pytest.ini_options]
testpaths = ["{migrations_dir}"]
"""


def _gitignore_addition(text: str) -> str:
    lines = {line.strip() for line in text.splitlines()}
    if lines & {"backups", "backups/", "/backups", "/backups/"}:
        return ""
    prefix = "\n" if text and not text.endswith("\n") else ""
    return f"{prefix}# pytest-promotion backup dumps (pytest-promotion backup)\n{GITIGNORE_LINE}\n"


def has_python_tests(root: Path, limit: int = 3000) -> bool:
    """True when pytest would find tests of its own (``test_*.py``, ``*_test.py``, ``conftest.py``)."""
    from pytest_promotion.migrations.discover import SKIPPED

    for seen, (_folder, subfolders, files) in enumerate(os.walk(root)):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d not in SKIPPED)
        if any(_is_test_file(name) for name in files):
            return True
        if seen >= limit:
            return False
    return False


def _is_test_file(name: str) -> bool:
    return name == "conftest.py" or (
        name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))
    )


def _append(path: Path, addition: str) -> None:
    """Append through a temp file and ``os.replace``: the file is whole at every moment."""
    old = path.read_bytes() if path.exists() else b""
    tmp = path.with_name(f".{path.name}.init.tmp")
    tmp.write_bytes(old + addition.encode("utf-8"))
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)


def apply(root: Path, plan: Plan) -> list[str]:
    """Write the plan's additions; the lines to print."""
    lines = [f"Migrations folder: {plan.chosen.setting} ({plan.chosen.layout}; {plan.why})"]
    if plan.others:
        lines.append("Also found (set migrations_dir to gate one of these instead):")
        lines += [f"  {f.setting} ({f.layout}, {f.migrations} migrations)" for f in plan.others]
    changed = False
    if plan.pyproject_text:
        _append(root / "pyproject.toml", plan.pyproject_text)
        lines.append("Wrote the starter configuration to pyproject.toml")
        changed = True
    if plan.gitignore_text:
        _append(root / ".gitignore", plan.gitignore_text)
        lines.append(f"Added {GITIGNORE_LINE} to .gitignore")
        changed = True
    lines += plan.notes
    if not changed:
        lines.append("Nothing to change: this project is already set up.")
    lines += [
        "Next:",
        "  pytest -m migrations                     # see what the gate finds in your history",
        "  pytest -m migrations --update-baseline   # accept the reviewed history into the baseline",
        f"  git add pyproject.toml .gitignore {BASELINE}   # commit it; CI runs pytest -m migrations",
    ]
    return lines
