"""backup and rollback against the real server: exact restores, and every failure leaves the data alone."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_promotion.database.exit_codes import ExitCode
from tests.database.conftest import SECRET_FORMS, Database, Project, rewrite_backup

MUTATE = """CREATE TABLE "Extra" (x int); INSERT INTO "Extra" VALUES (1);
DELETE FROM "Post" WHERE id > 100; UPDATE "User" SET email = 'changed' WHERE id = 1;
INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
    VALUES ('later', 'abc', '20240401000000_later', now(), 1);
"""


def take_backup(project: Project) -> Path:
    result = project.cli("backup")
    assert result.code == ExitCode.OK, result.err
    (path,) = project.backup_files()
    return path


def test_backup_mutate_rollback_restores_schema_and_rows_exactly(project: Project) -> None:
    before = project.db.dump()
    path = take_backup(project)
    assert path.name.endswith("Z.sql.gz")
    assert len(path.name) == len("20250101T120000Z.sql.gz")
    assert not [p for p in project.backups.iterdir() if p.name.startswith(".")]  # no partial file left
    project.db.sql(MUTATE)
    assert project.db.dump() != before

    result = project.cli("rollback", "--yes")

    assert result.code == ExitCode.OK, result.err
    assert project.db.dump() == before
    assert project.db.sql("SELECT to_regclass('\"Extra\"') IS NULL") == "t"  # created after the backup: gone
    assert "Up to date: all 3 migrations applied" in result.out
    assert "postgresql://postgres:***@127.0.0.1:5432/" in result.out


def test_safety_dump_restores_the_pre_rollback_state(project: Project) -> None:
    take_backup(project)
    project.db.sql(MUTATE)
    mutated = project.db.dump()
    assert project.cli("rollback", "--yes").code == ExitCode.OK
    (safety,) = project.backups.glob("pre-rollback-*.sql.gz")

    # The safety dump is never picked by itself; it is restored when named.
    result = project.cli("rollback", "--yes", "--no-safety-dump", "--backup", str(safety))

    assert result.code == ExitCode.OK  # restored; status (information): 20240401000000_later missing locally
    assert "missing locally" in result.out
    assert project.db.dump() == mutated


def test_truncated_gzip_is_refused_and_nothing_changes(project: Project) -> None:
    path = take_backup(project)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    project.db.sql(MUTATE)
    before = project.db.dump()

    result = project.cli("rollback", "--yes")

    assert result.code == ExitCode.CORRUPT_BACKUP
    assert "is not a complete gzip file" in result.err
    assert project.db.dump() == before
    assert not list(project.backups.glob("pre-rollback-*"))  # refused before the safety dump


def test_dump_cut_short_inside_a_valid_gzip_is_refused_before_anything_runs(project: Project) -> None:
    path = take_backup(project)
    rewrite_backup(path, lambda text: text[: int(len(text) * 0.6)])  # mid-COPY, valid gzip
    project.db.sql(MUTATE)
    before = project.db.dump()

    result = project.cli("rollback", "--yes")

    assert result.code == ExitCode.CORRUPT_BACKUP
    assert "does not end with pg_dump's closing line" in result.err
    assert project.db.dump() == before
    assert not list(project.backups.glob("pre-rollback-*"))


def test_failing_statement_halfway_rolls_everything_back(project: Project) -> None:
    path = take_backup(project)
    marker = 'COPY public."Post"'
    rewrite_backup(path, lambda text: text.replace(marker, "SELECT 1/0;\n" + marker, 1))
    project.db.sql(MUTATE)
    before = project.db.dump()

    result = project.cli("rollback", "--yes", "--no-safety-dump")

    assert result.code == ExitCode.RESTORE_FAILED
    assert "division by zero" in result.err
    assert f"{path.name} line " in result.err  # the line in the backup, not in psql's input
    assert "database is unchanged" in result.err
    assert project.db.dump() == before


def slow_backup(path: Path, *, extra_rows: int, pause: float = 30) -> None:
    """Pause the restore halfway (after the schema was dropped), then send ``extra_rows`` more rows."""
    rows = "".join(f"{i}\tpadding row {i} {'x' * 200}\n" for i in range(extra_rows))
    tail = f"CREATE TABLE public.ballast (id integer, note text);\nCOPY public.ballast (id, note) FROM stdin;\n{rows}\\.\n"
    marker = 'COPY public."Post"'
    rewrite_backup(path, lambda text: text.replace(marker, f"SELECT pg_sleep({pause});\n{tail}{marker}", 1))


def start_rollback(project: Project) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": project.db.url}
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_promotion", "rollback", "--yes", "--no-safety-dump"],
        cwd=project.path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_sleep(db: Database, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    query = (
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db.name}' AND query LIKE 'SELECT pg_sleep%'"
    )
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if db.sql(query) == "1":
            return
        time.sleep(0.05)
    pytest.fail("the restore never reached its pause")


def wait_until_disconnected(db: Database) -> None:
    deadline = time.monotonic() + 40
    while db.sessions() > 0:
        assert time.monotonic() < deadline, "the interrupted restore is still connected"
        time.sleep(0.1)


def test_interrupted_restore_leaves_the_database_unchanged(project: Project) -> None:
    path = take_backup(project)
    slow_backup(path, extra_rows=10)
    project.db.sql(MUTATE)
    before = project.db.dump()
    proc = start_rollback(project)
    wait_for_sleep(project.db, proc)

    proc.send_signal(signal.SIGINT)  # the operator's Ctrl-C
    _out, err = proc.communicate(timeout=20)

    assert proc.returncode == ExitCode.RESTORE_FAILED, err
    assert b"interrupted" in err
    assert b"unchanged" in err
    wait_until_disconnected(project.db)
    assert project.db.dump() == before


def test_restore_cut_off_by_a_killed_process_is_rolled_back(project: Project) -> None:
    """psql COMMITs when its input just ends: the guard must turn that COMMIT into a rollback."""
    path = take_backup(project)
    slow_backup(path, extra_rows=20_000, pause=2)  # ~4 MB after the pause: the pipe is full when we kill
    project.db.sql(MUTATE)
    before = project.db.dump()
    proc = start_rollback(project)
    wait_for_sleep(project.db, proc)

    proc.kill()  # SIGKILL: no handler runs, psql just sees its input end
    proc.communicate(timeout=20)
    # psql wakes up, reads what the pipe still holds, hits the end of its input mid-COPY and
    # sends COMMIT: only the guard's deferred check stands between that and half a restore.

    wait_until_disconnected(project.db)
    assert project.db.dump() == before


def test_schema_url_resets_only_that_schema(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database.schema = "app"
    database.sql("CREATE SCHEMA app; CREATE TABLE public.keep (x int); INSERT INTO public.keep VALUES (7);")
    database.sql(
        'SET search_path = app; CREATE TABLE "Order" (id int PRIMARY KEY, note text); INSERT INTO "Order" VALUES (1, $$a$$), (2, $$b$$);'
    )
    (tmp_path / "prisma" / "migrations").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database.url)
    project = Project(tmp_path, database, capsys)
    before = database.dump()
    take_backup(project)
    assert project.cli("status").code == ExitCode.PENDING  # no app._prisma_migrations: not managed
    database.sql('DELETE FROM app."Order"; CREATE TABLE app.later (x int); UPDATE public.keep SET x = 8;')

    result = project.cli("rollback", "--yes")

    assert result.code == ExitCode.OK  # restored; not managed by Prisma (information)
    assert "no _prisma_migrations table" in result.out
    assert "ignored URL parameters (Prisma only): connection_limit, pool_timeout" in result.out
    assert 'DROP SCHEMA "app" CASCADE' in result.out
    assert database.sql("SELECT x FROM public.keep") == "8"  # another schema: untouched
    # ANALYZE reads only the restored schema (-1: never analyzed), not the whole database
    assert database.sql("SELECT reltuples FROM pg_class WHERE oid = 'app.\"Order\"'::regclass") == "2"
    assert database.sql("SELECT reltuples FROM pg_class WHERE oid = 'public.keep'::regclass") == "-1"
    database.sql("UPDATE public.keep SET x = 7")
    assert database.dump() == before


def test_dry_run_and_unconfirmed_runs_change_nothing(project: Project) -> None:
    take_backup(project)
    project.db.sql(MUTATE)
    before = project.db.dump()

    dry = project.cli("rollback", "--dry-run")
    unconfirmed = project.cli("rollback")  # stdin is not a terminal under pytest

    assert dry.code == ExitCode.OK
    assert "Dry run" in dry.out
    assert "Rollback plan" in dry.out
    assert unconfirmed.code == ExitCode.ABORTED
    assert "pass --yes" in unconfirmed.err
    assert project.db.dump() == before
    assert not list(project.backups.glob("pre-rollback-*"))


def test_no_backup_found(project: Project) -> None:
    result = project.cli("rollback", "--yes")
    assert result.code == ExitCode.NO_BACKUP
    assert "No backup found" in result.err
    assert "pytest-promotion backup" in result.err
    missing = project.cli("rollback", "--yes", "--backup", "nope.sql.gz")
    assert missing.code == ExitCode.NO_BACKUP
    assert "--backup nope.sql.gz: no such file" in missing.err


def test_unreachable_server_is_a_database_error_without_the_password(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", project.db.url.replace(":5432/", ":1/"))
    for command in (["backup"], ["status"]):
        result = project.cli(*command)
        assert result.code == ExitCode.DATABASE, result.err
        assert "postgresql://postgres:***@127.0.0.1:1/" in result.err
        assert "nothing was changed" in result.err


def test_password_stays_out_of_arguments_and_output(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shims in front of the real pg_dump/psql log the arguments every call gets."""
    shims = tmp_path / "shims"
    shims.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("pg_dump", "psql"):
        real = subprocess.run(["which", tool], capture_output=True, text=True, check=True).stdout.strip()
        shim = shims / tool
        shim.write_text(
            f'#!/bin/sh\necho "{tool} $*" >> {log}\n[ -n "$PGPASSWORD" ] && echo "{tool} has PGPASSWORD" >> {log}\nexec {real} "$@"\n'
        )
        shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")

    take_backup(project)
    assert project.cli("rollback", "--yes").code == ExitCode.OK
    assert project.cli("status", "--json").code == ExitCode.OK

    calls = log.read_text()
    assert "pg_dump has PGPASSWORD" in calls
    assert "psql has PGPASSWORD" in calls
    assert "--single-transaction" in calls
    for secret in SECRET_FORMS:
        assert secret not in calls
    for path in project.backups.iterdir():
        assert not any(secret.encode() in gzip.decompress(path.read_bytes()) for secret in SECRET_FORMS)
