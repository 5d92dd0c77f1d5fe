"""Real PostgreSQL for the database tests: one fresh database per test, dropped afterwards.

The server is the machine's, at 127.0.0.1:5432 with trust auth (``.ci/run`` starts it). Without
it the tests skip with the reason on a laptop, and fail under CI (``CI`` set), where a skipped
database suite would hide that nothing was tested.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from pytest_promotion.cli import main

HOST, PORT, ADMIN = "127.0.0.1", 5432, "postgres"
# Trust auth ignores it, so every command really carries a password we can look for in output.
PASSWORD = "Sup3r:S3cret/p@ss"
SECRET_FORMS = (PASSWORD, quote(PASSWORD, safe=""))

PRISMA_TABLE = """CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
);
"""
MIGRATIONS = {
    "20240101000000_init": 'CREATE TABLE "User" ("id" SERIAL PRIMARY KEY, "email" TEXT NOT NULL);\n',
    "20240201000000_posts": (
        'CREATE TABLE "Post" ("id" SERIAL PRIMARY KEY, "userId" INTEGER NOT NULL REFERENCES "User"("id"),\n'
        '    "title" TEXT NOT NULL);\nCREATE INDEX "Post_userId_idx" ON "Post"("userId");\n'
    ),
    "20240301000000_bio": 'ALTER TABLE "User" ADD COLUMN "bio" TEXT;\n',
}
SEED = """INSERT INTO "User" ("email", "bio")
    SELECT 'user' || g || '@example.com', E'tab\\there, newline\\nthere, back\\\\slash, é ' || g FROM generate_series(1, 300) g;
INSERT INTO "Post" ("userId", "title") SELECT 1 + g % 300, 'post ' || g FROM generate_series(1, 900) g;
"""


def _psql_admin(sql: str, database: str = "postgres") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            HOST,
            "-p",
            str(PORT),
            "-U",
            ADMIN,
            "-d",
            database,
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="session")
def postgres() -> None:
    """The machine's PostgreSQL: skip without it on a laptop, fail without it in CI."""
    reason = None
    if shutil.which("psql") is None or shutil.which("pg_dump") is None:
        reason = "psql/pg_dump are not installed (apt-get install postgresql-client)"
    else:
        try:
            done = _psql_admin("SELECT 1")
            if done.returncode != 0:
                reason = f"PostgreSQL at {HOST}:{PORT} is not reachable: {done.stderr.strip()}"
        except subprocess.TimeoutExpired:
            reason = f"PostgreSQL at {HOST}:{PORT} did not answer"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the database tests against a real server.")
        pytest.skip(reason)


@dataclass
class Database:
    """One scratch database of the test and helpers to inspect it."""

    name: str
    schema: str = "public"

    @property
    def url(self) -> str:
        """Its URL, with a password (ignored by trust auth) and Prisma's extra parameters."""
        query = f"?schema={self.schema}&connection_limit=5&pool_timeout=10" if self.schema != "public" else ""
        return f"postgresql://{ADMIN}:{quote(PASSWORD, safe='')}@{HOST}:{PORT}/{self.name}{query}"

    def sql(self, sql: str) -> str:
        """Run SQL (ON_ERROR_STOP); its unaligned output."""
        done = _psql_admin(sql, self.name)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def dump(self) -> str:
        """pg_dump of the whole database, schema and data, without the random \\restrict keys."""
        done = subprocess.run(
            ["pg_dump", "-h", HOST, "-p", str(PORT), "-U", ADMIN, "-d", self.name],
            capture_output=True,
            text=True,
            check=True,
        )
        return re.sub(r"^\\(un)?restrict \S+$", "", done.stdout, flags=re.MULTILINE)

    def sessions(self) -> int:
        """Other sessions connected to it (a restore still running)."""
        return int(
            _psql_admin(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{self.name}'").stdout.strip()
        )

    def apply(self, folder: Path, names: list[str] | None = None) -> None:
        """Apply migrations as ``prisma migrate deploy`` does: run each, then record its checksum."""
        script = [PRISMA_TABLE if self.sql("SELECT to_regclass('_prisma_migrations') IS NULL") == "t" else ""]
        for path in sorted(folder.glob("*/migration.sql")):
            name = path.parent.name
            if names is not None and name not in names:
                continue
            content = path.read_bytes()
            script.append(content.decode("utf-8-sig"))
            script.append(
                'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count) '
                f"VALUES ('{uuid.uuid4()}', '{hashlib.sha256(content).hexdigest()}', '{name}', clock_timestamp(), clock_timestamp(), 1);"
            )
        self.sql("\n".join(script))


@pytest.fixture
def database(postgres: None) -> Iterator[Database]:
    """A fresh, empty database, dropped after the test."""
    db = Database(f"pp_test_{uuid.uuid4().hex[:12]}")
    done = _psql_admin(f'CREATE DATABASE "{db.name}"')
    assert done.returncode == 0, done.stderr
    yield db
    _psql_admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')


@dataclass
class Result:
    """Exit code and output of one in-process ``pytest-promotion`` run."""

    code: int
    out: str
    err: str


@dataclass
class Project:
    """A project folder (cwd) with pyproject.toml, a migrations folder and DATABASE_URL set."""

    path: Path
    db: Database
    capsys: pytest.CaptureFixture[str]

    @property
    def migrations(self) -> Path:
        return self.path / "prisma" / "migrations"

    @property
    def backups(self) -> Path:
        return self.path / "backups"

    def cli(self, *args: str) -> Result:
        """Run ``pytest-promotion *args`` in-process; assert no secret and no traceback in output."""
        self.capsys.readouterr()
        code = main(list(args))
        captured = self.capsys.readouterr()
        text = captured.out + captured.err
        assert "Traceback" not in text
        for secret in SECRET_FORMS:
            assert secret not in text
        return Result(code, captured.out, captured.err)

    def backup_files(self) -> list[Path]:
        return sorted(self.backups.glob("*.sql.gz"))

    def write_migrations(self, names: list[str] | None = None) -> None:
        for name, sql in MIGRATIONS.items():
            if names is None or name in names:
                path = self.migrations / name / "migration.sql"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(sql)


@pytest.fixture
def project(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Project:
    """A migrated, seeded database and its project folder as the current directory."""
    (tmp_path / "pyproject.toml").write_text('[tool.promotion]\nmigrations_dir = "prisma/migrations"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database.url)
    proj = Project(tmp_path, database, capsys)
    proj.write_migrations()
    database.apply(proj.migrations)
    database.sql(SEED)
    return proj


def rewrite_backup(path: Path, edit: object) -> None:
    """Decompress, transform the SQL text with ``edit`` (a callable), recompress in place."""
    text = gzip.decompress(path.read_bytes()).decode()
    path.write_bytes(gzip.compress(edit(text).encode()))  # type: ignore[operator]
