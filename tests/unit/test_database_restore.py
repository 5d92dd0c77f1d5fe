"""What the restore sends psql around the backup: bounded waits, and terminating only on request."""

from __future__ import annotations

from pytest_promotion.database.restore import _bounded, preamble

DUMP_HEAD = (
    b"--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\nSET lock_timeout = 0;\n"
    b"SET idle_in_transaction_session_timeout = 0;\nSET client_encoding = 'UTF8';\n"
)


def test_the_lock_timeout_is_set_server_side_before_the_drop() -> None:
    text = preamble("public", create=True, lock_timeout=2.5)
    assert text.index("SET lock_timeout = '2500ms';") < text.index('DROP SCHEMA IF EXISTS "public" CASCADE;')
    assert "SET idle_in_transaction_session_timeout = '60s';" in text
    assert "SET statement_timeout = 0;" in text
    assert "pg_terminate_backend" not in text


def test_terminating_happens_in_the_restore_session_and_never_to_itself() -> None:
    text = preamble("app", create=False, lock_timeout=3, terminate=True)
    terminate = text.index("pg_terminate_backend(pid, 3000)")
    assert terminate < text.index('DROP SCHEMA IF EXISTS "app" CASCADE;')
    assert "l.pid <> pg_catalog.pg_backend_pid()" in text
    assert "datname = current_database()" in text
    assert "backend_type = 'client backend'" in text
    assert "nspname = 'app'" in text


def test_the_dumps_own_zero_timeouts_are_replaced_by_ours() -> None:
    head = _bounded(DUMP_HEAD, 4)
    assert b"SET lock_timeout = '4000ms';\n" in head
    assert b"SET idle_in_transaction_session_timeout = '60s';\n" in head
    assert b"SET statement_timeout = 0;\n" in head  # off, as pg_dump wants it
    assert head.count(b"\n") == DUMP_HEAD.count(b"\n")  # error line numbers stay right
