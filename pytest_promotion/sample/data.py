"""The sample service's SQLite store: created and seeded on start, read by every endpoint."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from pytest_promotion.overrides.config import FlagValue
from pytest_promotion.overrides.entitlements import Entitlements

SCHEMA = """
CREATE TABLE IF NOT EXISTS organization (id TEXT PRIMARY KEY, name TEXT NOT NULL, plan TEXT NOT NULL,
    renewal_value INTEGER NOT NULL, health_score INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS incident (id INTEGER PRIMARY KEY, organization_id TEXT NOT NULL REFERENCES organization(id),
    title TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS user_session (id INTEGER PRIMARY KEY, user_email TEXT NOT NULL, role TEXT NOT NULL,
    started_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS impersonation_session (id INTEGER PRIMARY KEY, admin_email TEXT NOT NULL,
    target_email TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS event (id INTEGER PRIMARY KEY, organization_id TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feature_flag (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plan (name TEXT PRIMARY KEY, seat_limit INTEGER, features TEXT NOT NULL,
    usage_caps TEXT NOT NULL);
"""

# feature_flag.value, plan.features and plan.usage_caps hold JSON text, so a flag can be a bool, a
# number or a string, and a NULL seat limit or a null cap means unlimited, as in the overrides.
PLANS: list[tuple[str, int | None, str, str]] = [
    ("growth", 25, '["sso", "audit_log"]', '{"api_calls": 100000, "exports": 50}'),
    ("starter", 5, '["audit_log"]', '{"api_calls": 10000, "exports": 5}'),
]

SEED: list[tuple[str, list[tuple[Any, ...]]]] = [
    (
        "INSERT INTO organization VALUES (?, ?, ?, ?, ?)",
        [
            ("org_acme", "Acme Corp", "growth", 48000, 82),
            ("org_globex", "Globex", "starter", 9000, 64),
        ],
    ),
    (
        "INSERT INTO incident (organization_id, title, status, severity) VALUES (?, ?, ?, ?)",
        [
            ("org_acme", "Delayed webhook deliveries", "resolved", "minor"),
            ("org_acme", "Dashboard slow to load", "open", "major"),
            ("org_globex", "Login errors for SSO users", "open", "critical"),
        ],
    ),
    (
        "INSERT INTO user_session (user_email, role, started_at) VALUES (?, ?, ?)",
        [
            ("ada@acme.test", "admin", "2026-11-26T08:00:00Z"),
            ("bob@acme.test", "member", "2026-11-26T09:30:00Z"),
        ],
    ),
    (
        "INSERT INTO impersonation_session (admin_email, target_email, reason) VALUES (?, ?, ?)",
        [("ada@acme.test", "bob@acme.test", "support ticket 4711")],
    ),
    (
        "INSERT INTO event (organization_id, name) VALUES (?, ?)",
        [("org_acme", "page_view")] * 5 + [("org_globex", "page_view")] * 2 + [("org_acme", "signup")],
    ),
    (
        "INSERT INTO feature_flag VALUES (?, ?)",
        [("new_editor", "false"), ("ai_summaries", "false"), ("export_limit", "1000")],
    ),
]


def create(path: Path) -> None:
    """Create the schema and seed it, unless the file already holds data."""
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)
        if connection.execute("SELECT count(*) FROM organization").fetchone()[0] == 0:
            for statement, rows in SEED:
                connection.executemany(statement, rows)
        # Separately, so a data file from before plans existed gets them too.
        if connection.execute("SELECT count(*) FROM plan").fetchone()[0] == 0:
            connection.executemany("INSERT INTO plan VALUES (?, ?, ?, ?)", PLANS)


def query(path: Path, sql: str, *params: object) -> list[dict[str, object]]:
    """Rows of a query as dicts; one short-lived connection, so every request thread has its own."""
    connection = sqlite3.connect(path)
    try:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, params)]
    finally:
        connection.close()


def feature_flags(path: Path) -> dict[str, FlagValue]:
    """The stored flags, key → decoded JSON value; a row that is not a JSON scalar is skipped."""
    flags: dict[str, FlagValue] = {}
    for row in query(path, "SELECT key, value FROM feature_flag ORDER BY key"):
        try:
            value = json.loads(str(row["value"]))
        except ValueError:
            continue
        if isinstance(value, bool | int | float | str):
            flags[str(row["key"])] = value
    return flags


def plan_entitlements(path: Path, plan: str) -> Entitlements | None:
    """What ``plan`` includes, or None when there is no such plan."""
    found = query(path, "SELECT seat_limit, features, usage_caps FROM plan WHERE name = ?", plan)
    if not found:
        return None
    row = found[0]
    seat_limit = row["seat_limit"]
    return Entitlements(
        seat_limit=seat_limit if isinstance(seat_limit, int) else None,
        features=tuple(json.loads(str(row["features"]))),
        usage_caps=json.loads(str(row["usage_caps"])),
    )
