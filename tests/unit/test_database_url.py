"""DATABASE_URL parsing: Prisma's parameters, libpq's environment, and the password never shown."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database.url import parse_database_url


def parse(url: str):  # type: ignore[no-untyped-def]
    return parse_database_url(SecretStr(url))


def test_prisma_url_becomes_libpq_environment() -> None:
    target = parse(
        "postgresql://app:p%40ss%2Fw@db.internal:6543/shop?schema=tenant_1&connection_limit=5&pool_timeout=10&sslmode=require"
    )
    env = target.environment()
    assert env == {
        "PGDATABASE": "shop",
        "PGHOST": "db.internal",
        "PGPORT": "6543",
        "PGUSER": "app",
        "PGPASSWORD": "p@ss/w",
        "PGSSLMODE": "require",
        "PGOPTIONS": '-csearch_path="tenant_1"',
    }
    assert target.schema == "tenant_1"
    assert target.ignored == ("connection_limit", "pool_timeout")
    assert target.display() == "postgresql://app:***@db.internal:6543/shop?schema=tenant_1"


def test_defaults_and_postgres_scheme() -> None:
    target = parse("postgres://localhost/app")
    assert (target.schema, target.schema_given, target.password) == ("public", False, None)
    assert "PGOPTIONS" not in target.environment()
    assert target.display() == "postgresql://localhost/app"


def test_multi_host_ipv6_and_socket_forms() -> None:
    target = parse("postgresql://u:pw@[::1]:5433,h2:5434/db")
    assert target.environment()["PGHOST"] == "::1,h2"
    assert target.environment()["PGPORT"] == "5433,5434"
    socket = parse("postgresql://u@%2Fvar%2Frun%2Fpostgresql/db")
    assert socket.hosts == ("/var/run/postgresql",)
    assert parse("postgresql:///db?host=/tmp&user=me").environment()["PGHOST"] == "/tmp"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://root:hunter2@localhost/db", "MySQL (mysql:) is not supported yet"),
        ("file:./dev.db", "SQLite (file:) is not supported yet"),
        ("sqlserver://localhost:1433;password=hunter2", "SQL Server (sqlserver:) is not supported yet"),
        ("localhost:5432/db", "has the scheme localhost:"),
        ("postgresql://u:hunter2@host", "names no database"),
        ("postgresql://u:hunter2@host:port/db", "a port is not a number"),
        ("postgresql://u:hun/ter2@host/db", "must be percent-encoded"),
        ("postgresql://u:hunter2%00@host/db", "holds a NUL character"),
        ("postgresql://u:hunter2@host/db?schema=a%00b", "holds a NUL character"),
    ],
)
def test_bad_urls_are_one_clear_paragraph_without_the_password(url: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(url)
    message = str(info.value)
    assert expected in message
    assert message.startswith("DATABASE_URL: ")
    for fragment in ("hunter2", "hun", "ter2"):
        assert fragment not in message


def test_scrub_removes_plain_and_encoded_password() -> None:
    target = parse("postgresql://u:p%40ss%20w@h/db")
    assert target.scrub("a p@ss w b p%40ss%20w c") == "a *** b *** c"
