"""Rollback under production conditions: live sessions, the wrong backup, unreachable targets, CI.

Every session a test opens is its own, on its own scratch database; the terminate test only
ever terminates the session it opened there.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from pytest_promotion.database.exit_codes import ExitCode
from pytest_promotion.database.preflight import lock_holders
from pytest_promotion.database.tools import CHECK_SESSION, find_tools
from pytest_promotion.database.url import parse_database_url
from tests.database.conftest import (
    ADMIN,
    HOST,
    PORT,
    SECRET_FORMS,
    Database,
    Project,
    _psql_admin,
)
from tests.database.test_rollback import MUTATE, take_backup

LOCK_TIMEOUT = 2.0
# Slack for process start-up and scheduling on a busy two-core machine.
MARGIN = 2.0


class Blocker:
    """A session of ours that reads "User" in a transaction and then stays idle in it."""

    def __init__(self, db: Database, name: str | None = None) -> None:
        self.name = name or f"pp-blocker-{uuid.uuid4().hex[:8]}"
        self.db = db
        self.proc = subprocess.Popen(
            ["psql", "-X", "-q", "-h", HOST, "-p", str(PORT), "-U", ADMIN, "-d", db.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PGAPPNAME": self.name},
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(b'BEGIN;\nSELECT count(*) FROM "User";\n')
        self.proc.stdin.flush()
        deadline = time.monotonic() + 20
        while self.pid() is None:
            assert time.monotonic() < deadline, "the blocking session never went idle in its transaction"
            time.sleep(0.05)

    def pid(self) -> int | None:
        out = self.db.sql(
            f"SELECT pid FROM pg_stat_activity WHERE application_name = '{self.name}' "
            "AND state = 'idle in transaction'"
        )
        return int(out) if out else None

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(b"ROLLBACK;\n\\q\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def blocker(project: Project) -> Iterator[Blocker]:
    session = Blocker(project.db)
    yield session
    session.close()


def start_rollback(project: Project, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_promotion", "rollback", "--yes", *args],
        cwd=project.path,
        env={**os.environ, "DATABASE_URL": project.db.url},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def lock_waiters(db: Database, besides: int | None = None) -> list[int]:
    """Backends of ``db`` waiting for a lock (the restore queued behind the blocker)."""
    out = db.sql(
        f"SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE datname = '{db.name}' "
        f"AND wait_event_type = 'Lock' AND pid <> coalesce({besides or 'NULL'}, 0)"
    )
    return [int(pid) for pid in out.split(",") if pid]


def wait_for_lock_wait(db: Database, proc: subprocess.Popen[bytes]) -> float:
    deadline = time.monotonic() + 30
    while not lock_waiters(db):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the restore never queued for its lock"
        time.sleep(0.02)
    return time.monotonic()


def app_select(db: Database) -> float:
    """Seconds one app query on "User" takes (it queues behind a waiting ACCESS EXCLUSIVE)."""
    started = time.monotonic()
    done = _psql_admin('SELECT count(*) FROM "User"', db.name)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


def test_open_transaction_makes_the_rollback_give_up_within_the_timeout(
    project: Project, blocker: Blocker
) -> None:
    take_backup(project)
    project.db.sql(MUTATE)
    before = project.db.dump()
    started = time.monotonic()
    proc = start_rollback(project, "--no-safety-dump", "--lock-timeout", str(LOCK_TIMEOUT))
    queued = wait_for_lock_wait(project.db, proc)

    waited = app_select(project.db)  # the app, while the rollback waits for its lock

    out, err = proc.communicate(timeout=60)
    finished = time.monotonic()
    text = (out + err).decode()
    assert proc.returncode == ExitCode.BLOCKED, text
    assert waited < LOCK_TIMEOUT + MARGIN  # the app was never held longer than the timeout
    assert finished - queued < LOCK_TIMEOUT + MARGIN
    assert finished - started < LOCK_TIMEOUT + 15  # start-up and checks, then at most the timeout
    pid = blocker.pid()
    assert pid is not None  # never terminated without --terminate-blockers
    assert "gave up after waiting 2 s for a lock" in text
    assert "database is unchanged" in text
    assert f"  {pid}  {blocker.name}  " in text  # the table names the blocking session
    assert "idle in transaction" in text
    assert "count(*)" not in text  # no query text: it may hold data
    assert "--terminate-blockers" in text
    for secret in SECRET_FORMS:
        assert secret not in text
    assert not lock_waiters(project.db)
    assert project.db.dump() == before


def test_the_server_stops_waiting_when_the_rollback_process_is_killed(
    project: Project, blocker: Blocker
) -> None:
    take_backup(project)
    project.db.sql(MUTATE)
    before = project.db.dump()
    proc = start_rollback(project, "--no-safety-dump", "--lock-timeout", str(LOCK_TIMEOUT))
    wait_for_lock_wait(project.db, proc)

    proc.kill()  # no handler runs: only the server-side lock_timeout can end the wait
    proc.communicate(timeout=20)
    killed = time.monotonic()
    while lock_waiters(project.db):
        assert time.monotonic() - killed < LOCK_TIMEOUT + MARGIN, "the backend still queues for the lock"
        time.sleep(0.05)

    assert app_select(project.db) < MARGIN
    assert blocker.pid() is not None
    blocker.close()
    assert project.db.dump() == before


def test_terminate_blockers_restores_with_a_blocker_present(project: Project, blocker: Blocker) -> None:
    restored = project.db.dump()
    take_backup(project)
    project.db.sql(MUTATE)
    pid = blocker.pid()

    dry = project.cli("rollback", "--dry-run", "--terminate-blockers")
    assert dry.code == ExitCode.OK, dry.err
    assert f"    {pid}  {blocker.name}" in dry.out  # listed in the plan before anything is done
    assert "terminated before the drop (--terminate-blockers)" in dry.out
    assert blocker.pid() == pid  # a dry run terminates nothing
    result = project.cli("rollback", "--yes", "--terminate-blockers", "--lock-timeout", "5")

    assert result.code == ExitCode.OK, result.err
    assert (
        f'Terminated 1 session(s) holding locks in schema "public" before the restore: pid {pid}.'
        in result.out
    )
    assert blocker.pid() is None  # the server ended its session
    assert (
        project.db.sql(f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{blocker.name}'")
        == "0"
    )
    assert project.db.dump() == restored


def test_the_plan_never_lists_the_rollbacks_own_check_sessions(project: Project, blocker: Blocker) -> None:
    # A check beside the listing (pg_table_size, the ledger read) holds read locks in the schema
    # for a moment: on a busy machine the plan said "2 listed above" with one blocking session.
    own = Blocker(project.db, name=CHECK_SESSION)
    try:
        holders = lock_holders(parse_database_url(SecretStr(project.db.url)), find_tools())
    finally:
        own.close()

    assert [holder.pid for holder in holders] == [blocker.pid()]


def test_unconfirmed_terminate_asks_about_the_sessions(
    project: Project, blocker: Blocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    take_backup(project)
    before = project.db.dump()

    class Terminal:
        def isatty(self) -> bool:
            return True

        def readline(self) -> str:
            return "n\n"

    monkeypatch.setattr(sys, "stdin", Terminal())
    result = project.cli("rollback", "--terminate-blockers")

    assert result.code == ExitCode.ABORTED
    assert "Terminate the sessions holding locks in it (1 listed above) and replace schema" in result.out
    assert blocker.pid() is not None
    assert project.db.dump() == before


@pytest.fixture
def other_database(postgres: None) -> Iterator[Database]:
    db = Database(f"pp_test_{uuid.uuid4().hex[:12]}")
    assert _psql_admin(f'CREATE DATABASE "{db.name}"').returncode == 0
    yield db
    _psql_admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')


def test_a_backup_of_another_schema_is_refused(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.db.sql(
        'CREATE SCHEMA other; CREATE TABLE other."Order" (id int); INSERT INTO other."Order" VALUES (1);'
    )
    monkeypatch.setenv("DATABASE_URL", project.db.url + "?schema=other")
    (path,) = [take_backup(project)]
    monkeypatch.setenv("DATABASE_URL", project.db.url)  # public
    before = project.db.dump()

    for args in (["--yes"], ["--dry-run"]):
        result = project.cli("rollback", *args)
        assert result.code == ExitCode.CORRUPT_BACKUP, result.out + result.err
        assert f'{path}: is not a backup of database "{project.db.name}"' in result.err
        assert 'it creates objects in schema "other", not in the target schema "public"' in result.err
        assert "--allow-foreign-backup" in result.err
    assert project.db.dump() == before
    assert project.db.sql("SELECT count(*) FROM public._prisma_migrations") == "3"

    dry = project.cli("rollback", "--dry-run", "--allow-foreign-backup")
    assert dry.code == ExitCode.OK, dry.err
    assert "FOREIGN:" in dry.out


def test_a_backup_of_another_database_is_refused(
    project: Project, other_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    take_backup(project)
    other_database.sql('CREATE TABLE "Keep" (x int); INSERT INTO "Keep" VALUES (1);')
    before = other_database.dump()
    monkeypatch.setenv("DATABASE_URL", other_database.url)

    result = project.cli("rollback", "--yes")

    assert result.code == ExitCode.CORRUPT_BACKUP
    assert f'it was taken of database "{project.db.name}", not "{other_database.name}"' in result.err
    assert other_database.dump() == before


def unreachable(project: Project, case: str) -> str:
    url = project.db.url
    return {
        "missing database": url.replace(f"/{project.db.name}", "/pp_no_such_database"),
        "closed port": url.replace(":5432/", ":1/"),
        "unresolvable host": url.replace("@127.0.0.1:", "@pp-no-such-host.invalid:"),
        "bad sslmode": url + "?sslmode=sometimes",
        "missing schema": url + "?schema=pp_no_such_schema",
    }[case]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing database", 'database "pp_no_such_database" does not exist'),
        ("closed port", "Could not connect to"),
        ("unresolvable host", "pp-no-such-host.invalid"),
        ("bad sslmode", "sslmode"),
        ("missing schema", 'Schema "pp_no_such_schema" does not exist'),
    ],
)
def test_dry_run_against_an_unreachable_target_fails_like_a_real_run(
    project: Project, monkeypatch: pytest.MonkeyPatch, case: str, expected: str
) -> None:
    take_backup(project)
    before = project.db.dump()
    monkeypatch.setenv("DATABASE_URL", unreachable(project, case))

    dry = project.cli("rollback", "--dry-run")
    real = project.cli("rollback", "--yes")
    backup = project.cli("backup")

    assert dry.code == ExitCode.DATABASE, dry.out + dry.err
    assert real.code == dry.code
    assert backup.code == ExitCode.DATABASE, backup.err
    for result in (dry, real, backup):
        assert expected in result.err
        assert "nothing was changed" in result.err.lower()
        assert "every check" not in result.out
        assert not result.err.startswith("error: Could not list the extensions")
    assert len(project.backup_files()) == 1  # no safety dump, no new backup
    assert project.db.dump() == before


def test_rolled_back_release_leaves_pending_migrations_and_exits_0(project: Project) -> None:
    (project.migrations / "20240301000000_bio").rename(project.path / "later")  # the old release
    project.db.sql("""DELETE FROM _prisma_migrations WHERE migration_name = '20240301000000_bio';
        ALTER TABLE "User" DROP COLUMN bio;""")
    path = take_backup(project)
    (project.path / "later").rename(project.migrations / "20240301000000_bio")  # the new release deploys
    project.db.apply(project.migrations, ["20240301000000_bio"])

    result = project.cli("rollback", "--yes")

    assert result.code == ExitCode.OK, result.err
    taken = path.name[:8] + path.name[9:15]  # 20250101T120000Z -> 20250101120000
    lost = next(line for line in result.out.splitlines() if line.startswith("  LOST:"))
    assert lost.startswith('  LOST:     every write to schema "public" since ')
    shown = lost.split(" since ")[1][:19]
    assert shown.replace("-", "").replace(":", "").replace(" ", "") == taken
    assert "is lost, except in the safety dump, which keeps writes up to the moment it starts" in lost
    assert "1 migration pending (20240301000000_bio): expected after a rollback" in result.out
    assert "belong to the release that was rolled back" in result.out
    assert "Run `prisma migrate deploy` to apply them" not in result.out
    assert "the rollback itself succeeded" in result.out
    status = project.cli("status")
    assert status.code == ExitCode.PENDING  # status keeps its own exit codes


def test_backups_are_owner_only_and_a_git_work_tree_that_would_commit_them_is_warned_about(
    project: Project,
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(project.path)], check=True)

    result = project.cli("backup")

    assert result.code == ExitCode.OK
    (path,) = project.backup_files()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "holds all the schema's data" in result.out
    assert "inside the git work tree" in result.err
    assert "Add the backups folder to .gitignore" in result.err
    (project.path / ".gitignore").write_text("backups/\n")
    project.db.sql(MUTATE)
    rollback = project.cli("rollback", "--yes")
    assert rollback.code == ExitCode.OK, rollback.err
    assert "git work tree" not in rollback.err
    (safety,) = project.backups.glob("pre-rollback-*.sql.gz")
    assert stat.S_IMODE(safety.stat().st_mode) == 0o600


@pytest.mark.parametrize("command", ["backup", "rollback --yes", "rollback --dry-run"])
@pytest.mark.parametrize(
    ("folder", "reason"),
    [("blocked", "exists but is not a folder"), ("blocked/sub", "blocked is not a folder")],
)
def test_a_backups_dir_that_cannot_be_created_is_one_paragraph(
    project: Project, command: str, folder: str, reason: str
) -> None:
    path = take_backup(project)
    (project.path / "blocked").write_text("a file, not a folder\n")
    args = command.split()
    if args[0] == "rollback":  # the backup is named: only the safety dump needs the folder
        args += ["--backup", str(path)]

    result = project.cli(*args, "--backups-dir", folder)

    assert result.code == ExitCode.CONFIG, result.out + result.err
    assert result.err.startswith("error: option --backups-dir: the backups folder ")
    assert reason in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Rollback plan" not in result.out


def test_interrupting_a_lock_wait_with_ctrl_c_is_a_clean_failure(project: Project, blocker: Blocker) -> None:
    take_backup(project)
    before = project.db.dump()
    proc = start_rollback(project, "--no-safety-dump", "--lock-timeout", "30")
    wait_for_lock_wait(project.db, proc)

    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=40)

    assert proc.returncode == ExitCode.RESTORE_FAILED, err
    assert b"interrupted" in err
    assert not lock_waiters(project.db)
    assert project.db.dump() == before
