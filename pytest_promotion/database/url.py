"""``DATABASE_URL`` as libpq connection parameters, with Prisma's own query parameters handled.

Prisma URLs carry parameters libpq rejects (``schema``, ``connection_limit``, ``pool_timeout``…),
so the URL is never handed to ``pg_dump``/``psql``: it is parsed here into a
:class:`DatabaseTarget` whose :meth:`~DatabaseTarget.environment` feeds them ``PG*`` variables.
That keeps the password out of every command line, and :meth:`~DatabaseTarget.display` and
:meth:`~DatabaseTarget.scrub` keep it out of every message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote, unquote

from pydantic import SecretStr

from pytest_promotion.core.errors import ConfigError

SCHEMES = ("postgresql", "postgres")
DEFAULT_SCHEMA = "public"
MASK = "***"

# Query parameters libpq understands, and the variable that hands each one to pg_dump and psql.
_LIBPQ_VARIABLES = {
    "application_name": "PGAPPNAME",
    "channel_binding": "PGCHANNELBINDING",
    "client_encoding": "PGCLIENTENCODING",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "gssencmode": "PGGSSENCMODE",
    "hostaddr": "PGHOSTADDR",
    "krbsrvname": "PGKRBSRVNAME",
    "load_balance_hosts": "PGLOADBALANCEHOSTS",
    "options": "PGOPTIONS",
    "passfile": "PGPASSFILE",
    "require_auth": "PGREQUIREAUTH",
    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
    "sslcrl": "PGSSLCRL",
    "sslkey": "PGSSLKEY",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslsni": "PGSSLSNI",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
# Parameters that name the connection itself; the query form overrides the URL's parts.
_IDENTITY = ("host", "port", "user", "password", "dbname")
# Prisma's and other ORMs' URL schemes we do not handle yet, for a precise message.
_OTHER_ENGINES = {
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "sqlserver": "SQL Server",
    "mongodb": "MongoDB",
    "mongodb+srv": "MongoDB",
    "file": "SQLite",
    "sqlite": "SQLite",
    "prisma": "Prisma Accelerate",
    "prisma+postgres": "Prisma Postgres",
    "cockroachdb": "CockroachDB",
}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_EXAMPLE = "postgresql://user:password@host:5432/mydb?schema=public"


def quote_ident(name: str) -> str:
    """``name`` as an SQL identifier, always double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as an SQL string literal (standard_conforming_strings on)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, kw_only=True)
class DatabaseTarget:
    """One PostgreSQL database and schema, as parsed from ``DATABASE_URL``."""

    hosts: tuple[str, ...]
    """Host names, addresses or socket folders; empty means libpq's default (the local socket)."""
    ports: tuple[str, ...]
    user: str | None
    password: SecretStr | None
    database: str
    schema: str
    """The schema a rollback resets and status reads: Prisma's ``?schema=``, else ``public``."""
    schema_given: bool
    """Whether the URL named the schema (only then is ``search_path`` set, as Prisma does)."""
    parameters: tuple[tuple[str, str], ...] = ()
    """libpq parameters from the query string, passed on as ``PG*`` variables."""
    ignored: tuple[str, ...] = ()
    """Query parameters libpq would reject (Prisma's pool settings and the like), dropped."""

    def environment(self) -> dict[str, str]:
        """The ``PG*`` variables that point pg_dump and psql at this database (password included)."""
        env = {"PGDATABASE": self.database}
        if self.hosts:
            env["PGHOST"] = ",".join(self.hosts)
        if any(self.ports):
            env["PGPORT"] = ",".join(self.ports)
        if self.user:
            env["PGUSER"] = self.user
        if self.password is not None:
            env["PGPASSWORD"] = self.password.get_secret_value()
        options = []
        for name, value in self.parameters:
            if name == "options":
                options.append(value)
            else:
                env[_LIBPQ_VARIABLES[name]] = value
        if self.schema_given:
            # PGOPTIONS splits on spaces and honours backslash escapes.
            ident = quote_ident(self.schema).replace("\\", "\\\\").replace(" ", "\\ ")
            options.append(f"-csearch_path={ident}")
        if options:
            env["PGOPTIONS"] = " ".join(options)
        return env

    def display(self) -> str:
        """The URL with the password masked, for every message a person reads."""
        auth = ""
        if self.user or self.password is not None:
            auth = quote(self.user or "", safe="") + (f":{MASK}" if self.password is not None else "") + "@"
        hosts = []
        for index, host in enumerate(self.hosts or ("",)):
            port = self.ports[index] if index < len(self.ports) else ""
            shown = f"[{host}]" if ":" in host else quote(host, safe="")
            hosts.append(shown + (f":{port}" if port else ""))
        query = f"?schema={quote(self.schema, safe='')}" if self.schema_given else ""
        return f"postgresql://{auth}{','.join(hosts)}/{quote(self.database, safe='')}{query}"

    def describe(self) -> str:
        """``database "app" on host:port, schema "public"`` for plans and reports."""
        where = ",".join(
            h + (f":{self.ports[i]}" if i < len(self.ports) and self.ports[i] else "")
            for i, h in enumerate(self.hosts)
        )
        return f'database "{self.database}" on {where or "the local socket"}, schema "{self.schema}"'

    def with_database(self, name: str) -> DatabaseTarget:
        """The same server, user and schema, another database (scratch and maintenance)."""
        return replace(self, database=name)

    def scrub(self, text: str) -> str:
        """``text`` with every form of the password replaced by ``***`` (tool output we relay)."""
        if self.password is None:
            return text
        secret = self.password.get_secret_value()
        for form in sorted({secret, quote(secret, safe=""), quote(secret)}, key=len, reverse=True):
            if form:
                text = text.replace(form, MASK)
        return text


def parse_database_url(url: SecretStr, *, source: str = "DATABASE_URL") -> DatabaseTarget:
    """Parse a PostgreSQL URL, Prisma's form included; anything else is a clear ConfigError.

    ``source`` names where the URL came from in messages. No message repeats the URL itself:
    it holds the password.
    """
    raw = url.get_secret_value().strip()
    if "\0" in raw or "%00" in raw:
        raise ConfigError(
            f"{source}: holds a NUL character (%00), which no PostgreSQL user name, password, database or "
            "schema can contain. Remove it and run again."
        )
    scheme_match = _SCHEME.match(raw)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    if scheme not in SCHEMES:
        if scheme in _OTHER_ENGINES:
            raise ConfigError(
                f"{source}: {_OTHER_ENGINES[scheme]} ({scheme}:) is not supported yet; the database "
                f"commands work with PostgreSQL only. Point {source} at a PostgreSQL database ({_EXAMPLE})."
            )
        shown = f"the scheme {scheme}:" if scheme else "no scheme"
        raise ConfigError(
            f"{source}: has {shown}, but a postgresql:// or postgres:// URL is needed. "
            f"Set it like {_EXAMPLE}."
        )
    rest = raw[len(scheme) + 1 :]
    if not rest.startswith("//"):
        raise ConfigError(f"{source}: is not a URL (no // after {scheme}:). Set it like {_EXAMPLE}.")
    rest = rest[2:]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" not in authority and "@" in rest:
        # An unencoded / ? or # in the password cuts the URL short; never echo any part of it.
        raise ConfigError(
            f"{source}: its user name or password holds a character (/ ? # @) that must be "
            f"percent-encoded (/ as %2F, ? as %3F, # as %23, @ as %40). Encode it and run again."
        )
    rest, _, query = rest.partition("?")
    rest = rest.partition("#")[0]
    netloc, _, path = rest.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    if not at:
        userinfo, hostlist = "", netloc
    user_raw, colon, password_raw = userinfo.partition(":")
    user = unquote(user_raw) or None
    password = SecretStr(unquote(password_raw)) if colon else None
    hosts, ports = _hosts(hostlist, source)
    database = unquote(path)
    schema, schema_given = DEFAULT_SCHEMA, False
    parameters: list[tuple[str, str]] = []
    ignored: list[str] = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "schema":
            schema, schema_given = (value, True) if value else (DEFAULT_SCHEMA, False)
        elif name in _IDENTITY:
            if name == "host":
                hosts = tuple(value.split(","))
            elif name == "port":
                ports = tuple(value.split(","))
            elif name == "user":
                user = value
            elif name == "password":
                password = SecretStr(value)
            else:
                database = value
        elif name in _LIBPQ_VARIABLES:
            parameters.append((name, value))
        else:
            ignored.append(name)
    if not database:
        raise ConfigError(f"{source}: names no database. Add it after the host, as in {_EXAMPLE}.")
    for port in ports:
        if port and not port.isdigit():
            raise ConfigError(
                f"{source}: a port is not a number (or the password holds an unencoded character). "
                f"Fix the port, or percent-encode the password, as in {_EXAMPLE}."
            )
    return DatabaseTarget(
        hosts=hosts,
        ports=ports,
        user=user,
        password=password,
        database=database,
        schema=schema,
        schema_given=schema_given,
        parameters=tuple(parameters),
        ignored=tuple(ignored),
    )


def _hosts(hostlist: str, source: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``h1:5432,[::1]:5433`` as hosts and ports (libpq's multi-host form)."""
    if not hostlist:
        return (), ()
    hosts, ports = [], []
    for entry in hostlist.split(","):
        if entry.startswith("["):
            host, bracket, after = entry[1:].partition("]")
            if not bracket or (after and not after.startswith(":")):
                raise ConfigError(f"{source}: an IPv6 host is not valid. Write IPv6 hosts as [::1]:5432.")
            port = after[1:]
        else:
            host, _, port = entry.partition(":")
        hosts.append(unquote(host))
        ports.append(port)
    return tuple(hosts), tuple(ports)
