"""Finding PostgreSQL's client tools, checking their versions, and running them safely.

Every child process gets the connection in ``PG*`` variables (the password in ``PGPASSWORD``),
never in its arguments, so ``ps`` shows no secret; whatever it prints is scrubbed before we relay it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database.errors import DatabaseError
from pytest_promotion.database.url import DatabaseTarget

INSTALL_HINT = (
    "Install PostgreSQL's client tools (Debian/Ubuntu: apt-get install postgresql-client; "
    "macOS: brew install libpq) and run again."
)
# The first release of each major version whose pg_dump writes, and whose psql accepts,
# ``\restrict``/``\unrestrict`` (the August 2025 fix for CVE-2025-8714). Majors after 17 all do.
RESTRICT_SINCE = {13: 22, 14: 19, 15: 14, 16: 10, 17: 6}
DEFAULT_CONNECT_TIMEOUT = "10"
"""Seconds a connection attempt may take, unless the URL's connect_timeout or PGCONNECT_TIMEOUT says."""
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
# Variables of the caller's environment that could point a tool at another server than the
# target's; DATABASE_URL alone decides where we connect.
_CONNECTION_VARIABLES = (
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGSERVICE",
    "PGOPTIONS",
    "PGTARGETSESSIONATTRS",
)


@dataclass(frozen=True, kw_only=True)
class PgTools:
    """The pg_dump and psql this run uses, and psql's version."""

    pg_dump: Path
    psql: Path
    psql_version: tuple[int, int]


def find_tools() -> PgTools:
    """pg_dump and psql from PATH, or a ConfigError naming the Debian/Ubuntu package."""
    found = {}
    for name in ("pg_dump", "psql"):
        path = shutil.which(name)
        if path is None:
            raise ConfigError(f"{name} was not found on PATH; backup and rollback run it. {INSTALL_HINT}")
        found[name] = Path(path)
    return PgTools(pg_dump=found["pg_dump"], psql=found["psql"], psql_version=client_version(found["psql"]))


def client_version(tool: Path) -> tuple[int, int]:
    """``(15, 20)`` from ``psql (PostgreSQL) 15.20 (Debian …)``."""
    try:
        out = subprocess.run(
            [str(tool), "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"{tool} --version failed ({exc}). {INSTALL_HINT}") from None
    match = _VERSION.search(out)
    if match is None:
        raise ConfigError(f"{tool} --version printed no PostgreSQL version ({out.strip()!r}). {INSTALL_HINT}")
    return int(match.group(1)), int(match.group(2) or 0)


def understands_restrict(version: tuple[int, int]) -> bool:
    """Whether a psql of this version accepts the ``\\restrict`` lines recent pg_dump writes."""
    major, minor = version
    if major >= 18:
        return True
    return major in RESTRICT_SINCE and minor >= RESTRICT_SINCE[major]


def restrict_release(major: int) -> str:
    """The first release of ``major`` whose psql accepts ``\\restrict``, for a message."""
    return f"{major}.{RESTRICT_SINCE[major]}" if major in RESTRICT_SINCE else "18"


CHECK_SESSION = f"pytest-promotion check {secrets.token_hex(6)}"
CHECK_SESSION_OPTIONS = (
    "-c statement_timeout=120s -c lock_timeout=10s -c idle_in_transaction_session_timeout=0"
)
"""The ``application_name`` of this process's own query sessions (:func:`run_psql`), unguessable
by others. The lock-holder listing leaves them out: a check running beside it (``pg_table_size``,
the ledger read) holds read locks in the schema for a moment, and is no session to wait for."""


def child_environment(target: DatabaseTarget) -> dict[str, str]:
    """The environment for pg_dump/psql: ours, without stray connection variables, plus the target's.

    This passes the inherited process environment (PATH, locale, SSL file variables) on to a
    child; it reads no configuration — that is settings.py's job.
    """
    env = {key: value for key, value in os.environ.items() if key not in _CONNECTION_VARIABLES}
    env.update(target.environment())
    # A firewalled host would otherwise hang a dry run (and an incident) for minutes.
    env.setdefault("PGCONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)
    return env


def psql_command(tools: PgTools, *extra: str) -> list[str]:
    """psql without ~/.psqlrc, stopping on the first error, never prompting for a password."""
    return [str(tools.psql), "-X", "--no-password", "-v", "ON_ERROR_STOP=1", *extra]


def run_psql(tools: PgTools, target: DatabaseTarget, sql: str, *, what: str) -> str:
    """Run one query unaligned and tuples-only; its output, or DatabaseError saying ``what`` failed."""
    return run_tool(
        psql_command(tools, "-q", "-A", "-t", "-c", sql), target, what=what, session=CHECK_SESSION
    )


def run_tool(args: Sequence[str], target: DatabaseTarget, *, what: str, session: str | None = None) -> str:
    """Run a client tool against ``target``; stdout, or a DatabaseError with its scrubbed stderr.

    ``session`` names the connection (``application_name``) in place of the URL's.
    """
    env = child_environment(target)
    if session is not None:
        env["PGAPPNAME"] = session
        # A check reads catalogs only: bounded, whatever the role or database sets (a role's
        # statement_timeout = 1 made every check "could not connect").
        env["PGOPTIONS"] = CHECK_SESSION_OPTIONS
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, env=env, check=False)
    except OSError as exc:
        raise DatabaseError(f"Could not {what}: {exc}. {INSTALL_HINT}") from None
    if done.returncode != 0:
        raise DatabaseError(
            f"Could not {what} ({target.display()}): {tool_message(done.stderr, target)}. "
            "Check that the server is running and DATABASE_URL is right; nothing was changed."
        )
    return done.stdout


def tool_message(stderr: str, target: DatabaseTarget) -> str:
    """A tool's error output on one line, password scrubbed."""
    lines = [line.strip() for line in target.scrub(stderr).splitlines() if line.strip()]
    return " ".join(lines) or "no message"
