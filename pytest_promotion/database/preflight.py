"""What a backup or rollback must know about the server before it changes anything.

A dry run that never connects says "every check passed" about a database it cannot reach. So
``rollback`` — dry or not — and ``backup`` start here: connect, find the schema, check the
privileges a ``DROP SCHEMA … CASCADE`` and its re-creation need, and compare pg_dump's version
with the server's. A dry run then fails exactly where a real run would.

It also lists the sessions holding locks in the schema: a restore waits for each of them (up to
``lock_timeout``), so they are what blocks a rollback in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database.errors import DatabaseError
from pytest_promotion.database.tools import CHECK_SESSION, PgTools, client_version, run_psql
from pytest_promotion.database.units import human_age
from pytest_promotion.database.url import DatabaseTarget, quote_literal


@dataclass(frozen=True, kw_only=True)
class ServerFacts:
    """The answers of one query to the target database."""

    server_version: tuple[int, int]
    user: str
    schema_exists: bool
    superuser: bool
    owns_schema: bool
    """Whether the user is (a member of) the schema's owner: DROP SCHEMA needs that."""
    can_create_schema: bool
    """CREATE on the database: re-creating the schema needs it."""
    read_only: str | None = None
    """Why this session cannot write (a standby, default_transaction_read_only); None when it can."""
    outside_dependents: tuple[str, ...] = ()
    """Objects of other schemas that ``DROP SCHEMA … CASCADE`` would take with it (see :func:`dependents_sql`)."""


@dataclass(frozen=True, kw_only=True)
class LockHolder:
    """A session holding a lock in the target schema; no query text (it may hold data)."""

    pid: int
    application: str
    client: str
    state: str
    transaction_age: float | None
    """Seconds since its transaction began; None outside a transaction or when not visible."""
    query_start: str


def inspect(target: DatabaseTarget, tools: PgTools) -> ServerFacts:
    """Connect and read what the checks need; DatabaseError (one paragraph) when the server says no."""
    schema = quote_literal(target.schema)
    sql = (
        "SELECT json_build_object("
        "'version', current_setting('server_version_num')::int, "
        "'user', current_user, "
        "'schema_exists', n.oid IS NOT NULL, "
        "'superuser', (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), "
        "'owns_schema', coalesce(pg_catalog.pg_has_role(current_user, n.nspowner, 'USAGE'), false), "
        "'can_create', pg_catalog.has_database_privilege(current_database(), 'CREATE'), "
        "'read_only', CASE WHEN pg_catalog.pg_is_in_recovery() THEN 'the server is a standby in recovery' "
        "WHEN current_setting('transaction_read_only') = 'on' THEN 'default_transaction_read_only is on for this "
        "user or database' END, "
        f"'outside', (SELECT coalesce(json_agg(what ORDER BY what), '[]') FROM ({dependents_sql(target.schema)}) d)) "
        f"FROM (SELECT 1) AS one LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = {schema}"
    )
    out = run_psql(tools, target, sql, what=f"connect to {target.describe()}")
    data: dict[str, Any] = json.loads(out)
    number = int(data["version"])
    return ServerFacts(
        server_version=(number // 10000, number % 10000),
        user=str(data["user"]),
        schema_exists=bool(data["schema_exists"]),
        superuser=bool(data["superuser"]),
        owns_schema=bool(data["owns_schema"]),
        can_create_schema=bool(data["can_create"]),
        read_only=None if data["read_only"] is None else str(data["read_only"]),
        outside_dependents=tuple(str(what) for what in data["outside"]),
    )


def dependents_sql(schema: str, also_dropped: tuple[str, ...] = ()) -> str:
    """``SELECT what``: objects outside ``schema`` (and ``also_dropped``) that depend on objects in it.

    ``DROP SCHEMA … CASCADE`` drops them too — a partition or an inheriting table in another
    schema with its rows, a view, a foreign key, a default — while the backup, a dump of this
    schema alone, holds none of them. A view's rule, a default, a trigger and a policy count by
    the schema of the table they belong to. Extensions (no schema) are the dump's own business.
    """
    names = ", ".join(quote_literal(name) for name in (schema, *also_dropped))
    return (
        "SELECT DISTINCT pg_catalog.pg_describe_object(d.classid, d.objid, 0) AS what "
        "FROM pg_catalog.pg_depend d "
        "CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.refclassid, d.refobjid, 0) r "
        "LEFT JOIN pg_catalog.pg_rewrite rw ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND rw.oid = d.objid "
        "LEFT JOIN pg_catalog.pg_attrdef ad ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND ad.oid = d.objid "
        "LEFT JOIN pg_catalog.pg_trigger tg ON d.classid = 'pg_catalog.pg_trigger'::regclass AND tg.oid = d.objid "
        "LEFT JOIN pg_catalog.pg_policy po ON d.classid = 'pg_catalog.pg_policy'::regclass AND po.oid = d.objid "
        "CROSS JOIN LATERAL (SELECT coalesce(rw.ev_class, ad.adrelid, tg.tgrelid, po.polrelid) AS relid) owner "
        "CROSS JOIN LATERAL pg_catalog.pg_identify_object(CASE WHEN owner.relid IS NULL THEN d.classid "
        "ELSE 'pg_catalog.pg_class'::regclass END, coalesce(owner.relid, d.objid), 0) o "
        f"WHERE d.deptype IN ('n', 'a') AND r.schema = {quote_literal(schema)} AND o.schema IS NOT NULL "
        f"AND o.schema NOT IN ({names}) AND o.schema !~ '^pg_(temp|toast)'"
    )


def require_writable(facts: ServerFacts, target: DatabaseTarget) -> None:
    """A read-only session would fail at the restore's first statement, after the plan and the safety dump."""
    if facts.read_only is not None:
        raise DatabaseError(
            f"{target.display()} cannot be written by this session: {facts.read_only}. Point DATABASE_URL "
            "at the primary, or reset the setting (ALTER ROLE … RESET default_transaction_read_only), "
            "and run again. Nothing was changed."
        )


def require_no_outside_dependents(facts: ServerFacts, target: DatabaseTarget) -> None:
    """Refuse a rollback whose ``DROP SCHEMA … CASCADE`` would destroy objects of other schemas."""
    if facts.outside_dependents:
        raise DatabaseError(outside_dependents_message(target, facts.outside_dependents))


def outside_dependents_message(target: DatabaseTarget, found: tuple[str, ...]) -> str:
    """The one paragraph a refused rollback prints, listing what would have been lost."""
    shown = "; ".join(found[:10]) + (f"; and {len(found) - 10} more" if len(found) > 10 else "")
    return (
        f'Objects in other schemas depend on schema "{target.schema}" of {target.display()}: {shown}. '
        f"The rollback replaces the schema with DROP SCHEMA … CASCADE, which would drop them (their rows "
        "too), and the backup holds only this schema, so they would be lost. Nothing was changed. Move "
        "them into the schema, or drop them yourself after taking a backup of their schemas, and run again."
    )


def require_schema(facts: ServerFacts, target: DatabaseTarget) -> None:
    """The schema must exist: a typo in ``?schema=`` must not become an empty restore target."""
    if not facts.schema_exists:
        raise DatabaseError(
            f'Schema "{target.schema}" does not exist in {target.display()}. Check ?schema= in '
            "DATABASE_URL (without it the schema is public); to restore a schema that was dropped, "
            f'create it first (CREATE SCHEMA "{target.schema}"). Nothing was changed.'
        )


def require_restore_privileges(facts: ServerFacts, target: DatabaseTarget) -> None:
    """The user must be able to drop the schema and create it again."""
    missing = []
    if not (facts.superuser or facts.owns_schema):
        missing.append(f'own schema "{target.schema}" (DROP SCHEMA needs its owner or a superuser)')
    if not (facts.superuser or facts.can_create_schema):
        missing.append(f'have CREATE on database "{target.database}" (to create the schema again)')
    if missing:
        raise DatabaseError(
            f'User "{facts.user}" cannot restore {target.describe()}: it must {" and ".join(missing)}. '
            "Run the rollback as the schema's owner (the role your migrations run as). Nothing was changed."
        )


def require_pg_dump_for(facts: ServerFacts, tools: PgTools, version: tuple[int, int] | None = None) -> None:
    """pg_dump refuses a server newer than itself: say so before the safety dump would.

    ``version`` is pg_dump's, when already read (a rollback reads it beside its other checks).
    """
    major = (version or client_version(tools.pg_dump))[0]
    if major < facts.server_version[0]:
        raise ConfigError(
            f"{tools.pg_dump} is version {major}, older than the server ({facts.server_version[0]}."
            f"{facts.server_version[1]}), and pg_dump refuses to dump a newer server. Install the "
            f"client tools of version {facts.server_version[0]} or later (Debian/Ubuntu: "
            f"apt-get install postgresql-client-{facts.server_version[0]}) and run again; nothing was changed."
        )


def holders_sql(schema: str) -> str:
    """``WITH holders (pid)``: client sessions holding a lock in ``schema``, never this one nor our checks."""
    name = quote_literal(schema)
    return (
        "WITH target AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = "
        f"{name}),\nholders AS (SELECT DISTINCT l.pid FROM pg_catalog.pg_locks l, target\n"
        "  WHERE l.granted AND l.pid IS NOT NULL AND l.pid <> pg_catalog.pg_backend_pid()\n"
        "    AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())\n"
        "    AND l.pid IN (SELECT pid FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend'\n"
        f"      AND application_name IS DISTINCT FROM {quote_literal(CHECK_SESSION)})\n"
        "    AND ((l.locktype = 'relation' AND l.relation IN\n"
        "          (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = target.oid))\n"
        "      OR (l.locktype = 'object' AND l.classid = 'pg_catalog.pg_namespace'::regclass\n"
        "          AND l.objid = target.oid)))\n"
    )


def lock_holders(target: DatabaseTarget, tools: PgTools) -> list[LockHolder]:
    """The sessions holding a lock in the target schema now, by pid."""
    sql = holders_sql(target.schema) + (
        "SELECT coalesce(json_agg(json_build_object('pid', a.pid, 'application', a.application_name, "
        "'client', CASE WHEN a.client_addr IS NOT NULL THEN host(a.client_addr) || ':' || a.client_port "
        "WHEN a.client_port = -1 THEN 'local socket' END, 'state', a.state, "
        "'transaction_age', extract(epoch FROM now() - a.xact_start), "
        "'query_start', to_char(a.query_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')) "
        "ORDER BY a.pid), '[]') FROM pg_catalog.pg_stat_activity a WHERE a.pid IN (SELECT pid FROM holders)"
    )
    out = run_psql(tools, target, sql, what=f"list the sessions holding locks in schema {target.schema!r}")
    rows: list[dict[str, Any]] = json.loads(out)
    return [
        LockHolder(
            pid=int(row["pid"]),
            application=str(row["application"] or ""),
            client=str(row["client"] or "?"),
            state=str(row["state"] or "?"),
            transaction_age=None if row["transaction_age"] is None else float(row["transaction_age"]),
            query_start=f"{row['query_start']} UTC" if row["query_start"] else "?",
        )
        for row in rows
    ]


def holder_table(holders: list[LockHolder]) -> list[str]:
    """The sessions as an aligned table: pid, application, client, state, transaction age, query start."""
    header = ("pid", "application", "client", "state", "in transaction for", "query started")
    rows = [
        (
            str(h.pid),
            h.application or "-",
            h.client,
            h.state,
            "-" if h.transaction_age is None else human_age(h.transaction_age),
            h.query_start,
        )
        for h in holders
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
