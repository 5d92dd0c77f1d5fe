"""Does this pytest run have work for the plugin? Decided before anything heavy is imported.

Installing the plugin must cost an unrelated project nothing, and a configured project running
only its own unit tests (``pytest tests/unit``) almost nothing: validating the settings imports
pydantic, pydantic-settings and httpx, which alone take longer than a small test run. So the
plugin looks first, with the standard library only, at whether the run could reach a generated
check: an option or mark of ours, ``--launch-gate``, or a project with ``[tool.promotion]`` (or a
``prisma/migrations`` folder) whose files pytest will collect — or a secret in the environment
(a token, a database or base URL), which must be scrubbed from every run's output whatever runs.
Only then are the settings read, by ``settings.py``, the one place values are read: this module
only asks whether a variable is set (``tests/unit/test_probe.py`` keeps its list in step with the
settings' secret fields).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

OUR_MARKS = ("migrations", "smoke", "admin_policy", "perf_budget", "flags", "entitlements", "backups")
_NAMES_OUR_MARK = re.compile(rf"\b({'|'.join(OUR_MARKS)})\b")
OUR_OPTIONS = (
    "update_baseline",
    "strict_baseline",
    "migrations_report",
    "migrations_sarif",
    "promotion_migrations_dir",
    "promotion_baseline",
    "promotion_rules",
    "wait_healthy",
    "promotion_concurrency",
    "promotion_timeout",
    "launch_gate",
    "expect_revision",
    "promotion_strict_retries",
)
DEFAULT_MIGRATIONS = Path("prisma/migrations")
PRISMA8_MIGRATIONS = Path("migrations/app")
"""Prisma 8's folder, gated when there is no ``prisma/migrations`` (``migrations/prisma8.py``)."""
SECRET_VARIABLES = (
    "LAUNCH_ADMIN_BEARER_TOKEN",
    "LAUNCH_ADMIN_SESSION_TOKEN",
    "LAUNCH_MEMBER_BEARER_TOKEN",
    "LAUNCH_MEMBER_SESSION_TOKEN",
    "DATABASE_URL",
    "SMOKE_BASE_URL",
    "PYTEST_BASE_URL",
)
"""Variables that may hold a secret: when one is set, every run scrubs its output."""


def holds_secrets(config: pytest.Config) -> bool:
    """True when a token or a URL with credentials may reach this run's output."""
    given_url = str(getattr(config.option, "base_url", None) or "")
    return "@" in given_url or any(os.environ.get(name, "").strip() for name in SECRET_VARIABLES)


def project_file(config: pytest.Config) -> Path | None:
    """The ``pyproject.toml`` holding ``[tool.promotion]``: pytest's ini file or the root's."""
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        return config.inipath
    candidate = config.rootpath / "pyproject.toml"
    return candidate if candidate.is_file() else None


def promotion_table(pyproject: Path | None) -> dict[str, Any] | None:
    """The raw ``[tool.promotion]`` table, or None (also for a file that does not parse: the
    settings load reports that properly once there is work)."""
    if pyproject is None:
        return None
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    if "promotion" not in text:
        return None
    try:
        table = tomllib.loads(text).get("tool", {}).get("promotion")
    except tomllib.TOMLDecodeError:
        return {}
    return table if isinstance(table, dict) else ({} if table is not None else None)


def has_work(config: pytest.Config) -> bool:
    """True when this run could collect or run a generated check (so the settings must be read)."""
    if any(config.getoption(dest) not in (None, False) for dest in OUR_OPTIONS):
        return True
    if _NAMES_OUR_MARK.search(config.option.markexpr or "") or holds_secrets(config):
        return True
    pyproject = project_file(config)
    table = promotion_table(pyproject)
    project = pyproject.parent if pyproject is not None else config.rootpath
    prisma7 = (project / DEFAULT_MIGRATIONS).is_dir()
    default = DEFAULT_MIGRATIONS if prisma7 else PRISMA8_MIGRATIONS
    migrations = project / str((table or {}).get("migrations_dir", default))
    if table is None and not prisma7 and not (project / PRISMA8_MIGRATIONS).is_dir():
        return False
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return True  # pytest chose the paths: the generated checks join them
    here = config.invocation_params.dir
    targets = [path.resolve() for path in (project, migrations) + ((pyproject,) if pyproject else ())]
    for arg in config.args:
        path = (here / arg.split("::")[0]).resolve()
        if any(target == path or target.is_relative_to(path) for target in targets):
            return True
    return False
