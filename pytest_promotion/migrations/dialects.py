"""SQL dialect details that decide where code ends and quoted text begins.

Prisma writes one ``provider`` into ``migration_lock.toml``; quoting rules differ per provider
(MySQL backticks and backslash escapes, SQL Server brackets and nested comments, PostgreSQL
dollar quotes and ``E''`` strings), and getting them wrong is how a scanner finds a DROP inside
a string or misses one after it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from pytest_promotion.core.errors import ConfigError

LOCK_FILE = "migration_lock.toml"


@dataclass(frozen=True, kw_only=True)
class Dialect:
    """How one provider quotes strings and identifiers and writes comments."""

    name: str
    strings: tuple[str, ...]
    """Regex alternatives, each matching one whole string literal."""
    identifiers: tuple[str, ...]
    """Regex alternatives, each matching one whole quoted identifier."""
    escape_strings: bool = False
    """PostgreSQL ``E'…'`` literals, where a backslash escapes the quote."""
    dollar_quotes: bool = False
    nested_comments: bool = False
    hash_comments: bool = False
    spaced_dash_comments: bool = False
    """MySQL: ``--`` starts a comment only before whitespace or a control character (``1--1`` is 1 - -1)."""
    concurrent_indexes: bool = False
    """CREATE INDEX blocks writes unless CONCURRENTLY is given (PostgreSQL family)."""


_SQL_STRING = r"'(?:[^']|'')*'"
_BACKSLASH_SINGLE = r"'(?:[^'\\]|\\.|'')*'"
_BACKSLASH_DOUBLE = r'"(?:[^"\\]|\\.|"")*"'
_DOUBLE_IDENT = r'"(?:[^"]|"")*"'
_BACKTICK_IDENT = r"`(?:[^`]|``)*`"
_BRACKET_IDENT = r"\[(?:[^\]]|\]\])*\]"

POSTGRESQL = Dialect(
    name="postgresql",
    strings=(_SQL_STRING,),
    identifiers=(_DOUBLE_IDENT,),
    escape_strings=True,
    dollar_quotes=True,
    nested_comments=True,
    concurrent_indexes=True,
)
# CockroachDB reads PostgreSQL syntax.
COCKROACHDB = replace(POSTGRESQL, name="cockroachdb")
MYSQL = Dialect(
    name="mysql",
    strings=(_BACKSLASH_SINGLE, _BACKSLASH_DOUBLE),
    identifiers=(_BACKTICK_IDENT,),
    hash_comments=True,
    spaced_dash_comments=True,
)
SQLITE = Dialect(
    name="sqlite",
    strings=(_SQL_STRING,),
    identifiers=(_DOUBLE_IDENT, _BACKTICK_IDENT, _BRACKET_IDENT),
)
SQLSERVER = Dialect(
    name="sqlserver",
    strings=(_SQL_STRING,),
    identifiers=(_DOUBLE_IDENT, _BRACKET_IDENT),
    nested_comments=True,
)

DIALECTS: dict[str, Dialect] = {d.name: d for d in (POSTGRESQL, COCKROACHDB, MYSQL, SQLITE, SQLSERVER)}

_SQL_DOUBLE_STRING = r'"(?:[^"]|"")*"'


def mysql_modes(*, ansi_quotes: bool, no_backslash_escapes: bool) -> Dialect:
    """MySQL read under ``sql_mode`` ANSI_QUOTES (``"…"`` is a name) and/or NO_BACKSLASH_ESCAPES."""
    single = _SQL_STRING if no_backslash_escapes else _BACKSLASH_SINGLE
    double = _SQL_DOUBLE_STRING if no_backslash_escapes else _BACKSLASH_DOUBLE
    return replace(
        MYSQL,
        strings=(single,) if ansi_quotes else (single, double),
        identifiers=(_BACKTICK_IDENT, _DOUBLE_IDENT) if ansi_quotes else (_BACKTICK_IDENT,),
    )


def dialect_for(migrations_dir: Path) -> Dialect:
    """Return the dialect named by ``migration_lock.toml``, PostgreSQL when there is none.

    Prisma always writes the lock file, but hand-assembled folders (and tests) often lack it;
    PostgreSQL is the provider most Prisma projects use.
    """
    lock = migrations_dir / LOCK_FILE
    try:
        raw = lock.read_bytes()
    except FileNotFoundError:
        return POSTGRESQL
    except OSError as exc:
        raise ConfigError(f"{lock}: cannot be read ({exc.strerror}). Check its permissions.") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f'{lock}: is not valid TOML ({exc}). Restore it as Prisma writes it, e.g. provider = "postgresql".'
        ) from None
    provider = data.get("provider", "postgresql")
    if not isinstance(provider, str):
        raise ConfigError(
            f'{lock}: provider must be one string, not {provider!r}. Write it as Prisma does, e.g. provider = "postgresql".'
        )
    if provider not in DIALECTS:
        known = ", ".join(sorted(DIALECTS))
        raise ConfigError(f"{lock}: provider {provider!r} is not one this plugin scans. Use one of: {known}.")
    return DIALECTS[provider]
