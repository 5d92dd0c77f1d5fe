"""Restoring a checked backup in one transaction: all of it, or nothing.

The backup is streamed through a single ``psql -X --single-transaction -v ON_ERROR_STOP=1``
(its ``COPY … FROM stdin`` blocks and ``\\restrict`` lines need psql), behind a preamble that
drops and recreates the schema. Without both flags psql exits 0 after applying half a file.

Even with them psql COMMITs when its input simply ends — which is what happens when this
process is killed mid-stream. So the preamble also plants a *guard*: a deferred foreign key
from one temporary table to another that only the last line we send fills. A stream that stops
early fails that check at COMMIT, and the server rolls everything back.

Production databases always have sessions. The restore session sets, server-side, a bounded
``lock_timeout`` before ``DROP SCHEMA`` (and in place of the dump's own ``SET lock_timeout = 0``),
so it never queues the app behind it for longer than that, and its backend stops waiting even
when this process is gone; ``idle_in_transaction_session_timeout`` ends the transaction (and
frees the app's tables) if nothing feeds psql for a minute; ``statement_timeout`` stays off, as
pg_dump wants it, because one large table's COPY may rightly take minutes. With
``terminate=True`` the same transaction first terminates the sessions holding locks in the
schema — never its own.

A backup is code psql runs, and a planted one must not reach the machine: after its own lines,
the preamble turns on psql's ``\\restrict`` with a random key the file cannot know, and the
file's own ``\\restrict``/``\\unrestrict`` pair (pg_dump's, around the whole dump) is taken out.
Any meta-command in the file (``\\!``, ``\\connect``, ``\\unrestrict`` with its own key) then
fails, and the transaction with it.
"""

from __future__ import annotations

import contextlib
import queue
import re
import secrets
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database.backup import DEFAULT_LOCK_TIMEOUT
from pytest_promotion.database.checks import BackupScanner, CheckedBackup
from pytest_promotion.database.contract_schema import CONTRACT_SCHEMA, carries_contract, drop_companions
from pytest_promotion.database.errors import BackupRefusedError, RestoreBlockedError, RestoreFailedError
from pytest_promotion.database.gzipstream import GzipStreamError, gzip_chunks
from pytest_promotion.database.preflight import dependents_sql, holders_sql
from pytest_promotion.database.tools import (
    PgTools,
    child_environment,
    psql_command,
    run_psql,
    tool_message,
    understands_restrict,
)
from pytest_promotion.database.url import DatabaseTarget, quote_ident, quote_literal

Progress = Callable[[int, int, int], None]
"""Called with (bytes of SQL sent so far, compressed bytes read, the compressed file's size)."""
Verify = Callable[[CheckedBackup], None]
"""Judges the fully checked backup at the end of the stream; raises BackupRefusedError to refuse it."""


def guard(token: int) -> str:
    """The deferred check only the trailer satisfies; ``token`` is random, so no backup can forge it.

    A foreign key is a trigger, and ``session_replication_role = replica`` (settable on a role or
    database) would keep it from ever being queued: the guard refuses to start under it.
    """
    return (
        "DO $promotion$ BEGIN IF current_setting('session_replication_role') <> 'origin' THEN "
        "RAISE EXCEPTION 'session_replication_role is % for this session (set on the role or database), "
        "which switches off the foreign key that keeps a cut-off restore from committing', "
        "current_setting('session_replication_role') USING HINT = 'Reset it (ALTER ROLE … RESET "
        "session_replication_role, or ALTER DATABASE …) and run the rollback again.'; END IF; END $promotion$;\n"
        f"CREATE TEMPORARY TABLE promotion_restore_complete_{token} (id bigint PRIMARY KEY) ON COMMIT DROP;\n"
        f"CREATE TEMPORARY TABLE promotion_restore_guard_{token} (id bigint REFERENCES "
        f"pg_temp.promotion_restore_complete_{token} DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP;\n"
        f"INSERT INTO pg_temp.promotion_restore_guard_{token} VALUES ({token});\n"
    )


def completion(token: int) -> bytes:
    """The last line sent: it satisfies the guard, so only a stream that got this far commits."""
    return f"\nINSERT INTO pg_temp.promotion_restore_complete_{token} VALUES ({token});\n".encode()


def restricted(key: str) -> str:
    """The preamble's last line: from here on psql runs no meta-command the backup holds."""
    return f"\\restrict {key}\n"


def without_restrict_line(head: bytes) -> bytes:
    """The dump's head with pg_dump's own ``\\restrict`` line emptied (ours is on; lines keep their numbers)."""
    return _RESTRICT_LINE.sub(b"\n", head, count=1)


def without_unrestrict_line(tail: bytes) -> bytes:
    """The dump's end with pg_dump's closing ``\\unrestrict`` line emptied: ours stays on to the end."""
    return _UNRESTRICT_LAST.sub(b"\n", tail, count=1)


_RESTRICT_LINE = re.compile(rb"^\\restrict [A-Za-z0-9]+\r?\n", re.MULTILINE)
_UNRESTRICT_LAST = re.compile(rb"^\\unrestrict [A-Za-z0-9]+[ \t\r]*\n?\s*\Z", re.MULTILINE)
_TAIL_HELD = 4096
"""Bytes of the stream held back until its end, so its closing ``\\unrestrict`` can be taken out."""
_STDIN_LINE = re.compile(r"psql:<stdin>:(\d+):")
_LOCK_TIMEOUT = re.compile(r"lock timeout|55P03")
_TERMINATED = re.compile(r"^promotion-terminated: ?(.*)$", re.MULTILINE)
IDLE_IN_TRANSACTION_TIMEOUT = "60s"
# The dump's own settings, replaced so the bound holds for the whole restore.
_DUMP_SETTINGS = (
    (b"\nSET lock_timeout = 0;\n", "\nSET lock_timeout = '{ms}ms';\n"),
    (
        b"\nSET idle_in_transaction_session_timeout = 0;\n",
        f"\nSET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_TIMEOUT}';\n",
    ),
)
_HEAD_BYTES = 8192
_INTERRUPT_GRACE_SECONDS = 30
_QUEUED_CHUNKS = 8


@dataclass(frozen=True)
class Restored:
    """A committed restore."""

    seconds: float
    terminated: tuple[int, ...] = ()
    """Sessions terminated before the schema was dropped (``terminate=True``)."""
    size: int = 0
    """Bytes of SQL replayed."""


def timeout_ms(seconds: float) -> int:
    """``lock_timeout`` in milliseconds; at least 1 (0 would mean wait forever)."""
    return max(int(seconds * 1000), 1)


def preamble(
    schema: str,
    *,
    create: bool,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    terminate: bool = False,
    token: int = 1,
    also_dropped: tuple[str, ...] = (),
) -> str:
    """The input sent before the backup: quiet notices, the guard, and the schema reset.

    Before dropping the schema it notes (in psql variables) the owner and the initial privileges
    ``pg_init_privs`` holds for it — initdb's ``GRANT USAGE ON SCHEMA public TO PUBLIC``. pg_dump
    leaves those out of a backup (it writes only differences from them) and dropping the schema
    forgets them, so :func:`trailer` grants them again or app roles would lose access.
    """
    name = quote_literal(schema)
    lines = [
        "SET client_min_messages = warning;\n",
        f"SET lock_timeout = '{timeout_ms(lock_timeout)}ms';\n",
        f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_TIMEOUT}';\n",
        "SET statement_timeout = 0;\n",
        guard(token),
        "SELECT coalesce((SELECT nspowner::regrole::text FROM pg_catalog.pg_namespace "
        f"WHERE nspname = {name}), current_user) AS promotion_schema_owner,\n"
        "  coalesce((SELECT string_agg(format('GRANT %s ON SCHEMA %I TO %s;', a.privilege_type, n.nspname,\n"
        "    CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(a.grantee::regrole::text) END), ' ')\n"
        "    FROM pg_catalog.pg_init_privs p JOIN pg_catalog.pg_namespace n ON n.oid = p.objoid,\n"
        "      LATERAL pg_catalog.aclexplode(p.initprivs) a\n"
        f"    WHERE p.classoid = 'pg_catalog.pg_namespace'::regclass AND n.nspname = {name}\n"
        "      AND a.grantee <> n.nspowner),\n"
        # pg_dump writes public's grants relative to initdb's, even once pg_init_privs forgot them
        f"    CASE WHEN {name} = 'public' THEN CASE WHEN current_setting('server_version_num')::int >= 150000\n"
        "      THEN 'GRANT USAGE ON SCHEMA public TO PUBLIC;' ELSE 'GRANT ALL ON SCHEMA public TO PUBLIC;' END\n"
        "    ELSE '' END) AS promotion_initial_grants \\gset\n",
    ]
    if terminate:  # every lock holder in the schema but this session, waiting for each to end
        lines += [
            holders_sql(schema),
            "SELECT coalesce(string_agg(pid::text, ' ' ORDER BY pid), '') AS promotion_terminated FROM holders\n"
            f"  WHERE pg_catalog.pg_terminate_backend(pid, {timeout_ms(lock_timeout)}) \\gset\n",
            "\\warn promotion-terminated: :promotion_terminated\n",
        ]
    # Checked again inside the transaction, just before the drop: nothing outside goes with it.
    tag = f"$promotion{token}$"
    lines += [
        f"DO {tag} DECLARE found text; BEGIN SELECT string_agg(what, '; ' ORDER BY what) INTO found FROM "
        f"({dependents_sql(schema, also_dropped)}) d; IF found IS NOT NULL THEN RAISE EXCEPTION "
        "'objects in other schemas depend on schema %, and DROP SCHEMA … CASCADE would drop them: %', "
        f"{name}, found USING HINT = 'Move them into the schema, or drop them yourself, and run again.'; "
        f"END IF; END {tag};\n",
        f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE;\n",
    ]
    if create:  # a schema dump creates the schema itself, with its owner and grants
        lines.append(f'CREATE SCHEMA {quote_ident(schema)} AUTHORIZATION :"promotion_schema_owner";\n')
    return "".join(lines)


def trailer(schema: str, backup: CheckedBackup, token: int = 1) -> bytes:
    """The input sent after the backup: initial privileges, then the backup's own grants, then the guard."""
    grants = dict(backup.schema_grants).get(schema, "")
    return f"\n:promotion_initial_grants\n{grants}".encode() + completion(token)


def restore(
    target: DatabaseTarget,
    tools: PgTools,
    backup: CheckedBackup,
    *,
    progress: Progress | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    terminate: bool = False,
    verify: Verify | None = None,
) -> Restored:
    """Replace the target's schema with the backup in one transaction.

    The backup is checked again as it streams (the only full pass when ``backup`` was only
    head-checked); the line that lets the transaction commit is sent only once the whole stream
    passed and ``verify`` (given the complete :class:`CheckedBackup`) accepted it.

    Raises BackupRefusedError (or ConfigError) when the stream fails a check, RestoreFailedError
    when psql fails, is interrupted or is cut off, and RestoreBlockedError when a lock was not
    granted within ``lock_timeout`` seconds; the transaction is then rolled back and the
    database is as it was.
    """
    token = secrets.randbelow(2**62) + 1
    restrict = understands_restrict(tools.psql_version)  # older psql cannot refuse meta-commands
    head = (
        preamble(
            target.schema,
            create=target.schema not in backup.created_schemas,
            lock_timeout=lock_timeout,
            terminate=terminate,
            token=token,
            also_dropped=(CONTRACT_SCHEMA,) if carries_contract(target, backup.created_schemas) else (),
        )
        + drop_companions(target, backup.created_schemas)  # Prisma 8's prisma_contract, same transaction
        + (restricted(secrets.token_hex(16)) if restrict else "")
    ).encode()
    offset = head.count(b"\n")
    name = backup.file.path.name
    scanner = BackupScanner(backup.file.path)

    def closing() -> bytes:
        checked = scanner.finish(backup.file, tools.psql_version)
        if verify is not None:
            verify(checked)
        return trailer(target.schema, checked, token)

    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            psql_command(tools, "--single-transaction", "--quiet", "--file=-"),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=child_environment(target),
        )
        assert proc.stdin is not None
        try:
            _stream(proc.stdin, head, backup, scanner, closing, progress, lock_timeout, restrict=restrict)
            returncode = proc.wait()
        except (BackupRefusedError, ConfigError):
            proc.wait()  # psql's input ended without the completion line: its COMMIT fails
            raise
        except (GzipStreamError, OSError) as exc:
            proc.wait()
            raise scanner.unreadable(exc) from None
        except KeyboardInterrupt:
            _interrupt(proc)
            raise RestoreFailedError(
                f"The restore of {name} into {target.display()} was interrupted; psql rolled its "
                "transaction back and the database is unchanged. Run the rollback again when ready."
            ) from None
        elapsed = time.perf_counter() - started
        errors.seek(0)
        output = errors.read().decode("utf-8", "replace")
        if returncode != 0:
            message = _STDIN_LINE.sub(lambda m: f"{name} line {max(int(m.group(1)) - offset, 0)}:", output)
            if _LOCK_TIMEOUT.search(message):
                raise RestoreBlockedError(
                    f"The restore of {name} into {target.display()} gave up after waiting "
                    f"{lock_timeout:g} s for a lock other sessions hold ({tool_message(message, target)}). "
                    "psql rolled its transaction back, so the database is unchanged."
                )
            raise RestoreFailedError(
                f"Restoring {name} into {target.display()} failed: {tool_message(message, target)}. "
                "psql rolled the whole transaction back, so the database is unchanged. Fix the "
                "cause, or restore an older backup with --backup FILE."
            )
    found = _TERMINATED.search(output)
    terminated = tuple(int(pid) for pid in found.group(1).split()) if found else ()
    return Restored(elapsed, terminated, scanner.size)


def _stream(
    pipe: IO[bytes],
    head: bytes,
    backup: CheckedBackup,
    scanner: BackupScanner,
    closing: Callable[[], bytes],
    progress: Progress | None,
    lock_timeout: float,
    *,
    restrict: bool = False,
) -> None:
    """Write preamble, backup and (once every check passed) the closing lines.

    A reader thread decompresses while this one scans and writes (zlib and pipe writes release
    the GIL), so the restore overlaps the two the way ``gunzip -c | psql`` does. The dump's first
    bytes are held back until its ``SET`` lines can be rewritten with our timeouts. A check that
    fails raises before the closing lines: psql's input ends and its COMMIT fails on the guard.
    If psql stops early (an SQL error), the rest is not sent; its exit status says why. With
    ``restrict`` (the preamble turned psql's ``\\restrict`` on), pg_dump's own ``\\restrict`` and
    closing ``\\unrestrict`` lines are emptied; the stream's last bytes are held until its end to
    find the latter.
    """
    chunks: queue.Queue[tuple[bytes, int] | BaseException | None] = queue.Queue(maxsize=_QUEUED_CHUNKS)
    stop = threading.Event()
    reader = threading.Thread(target=_decompress, args=(backup, chunks, stop), daemon=True)
    total = backup.compressed_size
    held: bytes | None = b""
    out = _TailHeld(pipe, _TAIL_HELD if restrict else 0)
    try:
        try:
            pipe.write(head)
            reader.start()
            while (item := chunks.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                chunk, consumed = item
                scanner.feed(chunk)
                if held is not None:
                    held += chunk
                    if len(held) < _HEAD_BYTES:
                        continue
                    chunk, held = _bounded(held, lock_timeout, restrict=restrict), None
                out.write(chunk)
                if progress is not None:
                    progress(scanner.size, consumed, total)
            if held:
                out.write(_bounded(held, lock_timeout, restrict=restrict))
            ending = closing()  # raises before anything more is sent when a check fails
            out.finish(without_unrestrict_line if restrict else None)
            pipe.write(ending)
        except BrokenPipeError:
            pass  # psql stopped on an error; its exit status and stderr say which
    finally:
        stop.set()
        with contextlib.suppress(BrokenPipeError):
            pipe.close()


def _bounded(head: bytes, lock_timeout: float, *, restrict: bool = False) -> bytes:
    """The dump's head with its ``SET lock_timeout = 0`` (and idle timeout) replaced by ours."""
    for zero, ours in _DUMP_SETTINGS:
        head = head.replace(zero, ours.format(ms=timeout_ms(lock_timeout)).encode(), 1)
    return without_restrict_line(head) if restrict else head


class _TailHeld:
    """Writes to ``pipe`` all but the last ``hold`` bytes, until :meth:`finish` sends those too."""

    def __init__(self, pipe: IO[bytes], hold: int) -> None:
        self.pipe = pipe
        self.hold = hold
        self.kept = b""

    def write(self, data: bytes) -> None:
        if not self.hold:
            self.pipe.write(data)
            return
        if self.kept:
            data = self.kept + data
        if len(data) > self.hold:
            self.pipe.write(memoryview(data)[: -self.hold])
            self.kept = data[-self.hold :]
        else:
            self.kept = data

    def finish(self, edit: Callable[[bytes], bytes] | None) -> None:
        """Send what is held, through ``edit``."""
        if self.kept:
            self.pipe.write(edit(self.kept) if edit is not None else self.kept)
            self.kept = b""


def _decompress(
    backup: CheckedBackup,
    chunks: queue.Queue[tuple[bytes, int] | BaseException | None],
    stop: threading.Event,
) -> None:
    """Feed (chunk, compressed bytes read) to ``chunks``; None at the end, the error on failure."""
    consumed = 0

    def note(count: int) -> None:
        nonlocal consumed
        consumed = count

    try:
        for chunk in gzip_chunks(backup.file.path, on_read=note):
            if stop.is_set():
                return
            _put(chunks, (chunk, consumed), stop)
        _put(chunks, None, stop)
    except (OSError, GzipStreamError) as exc:  # never followed by the closing lines
        _put(chunks, exc, stop)


def _put(
    chunks: queue.Queue[tuple[bytes, int] | BaseException | None],
    item: tuple[bytes, int] | BaseException | None,
    stop: threading.Event,
) -> None:
    while not stop.is_set():
        try:
            chunks.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _interrupt(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C: let psql cancel the running statement and roll back, as a terminal's Ctrl-C would."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=_INTERRUPT_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()  # the server rolls back when the connection drops
        proc.wait()


ANALYZE_CONNECTIONS = 2
"""Sessions ANALYZE spreads the restored tables over: the largest table still takes one alone."""


def analyze(target: DatabaseTarget, tools: PgTools, connections: int = ANALYZE_CONNECTIONS) -> None:
    """Refresh planner statistics of the restored schema's tables (a fresh table has none).

    Only that schema: a bare ``ANALYZE`` would read every table of the database, the other
    schemas too, while the incident waits. The tables are shared out, largest first, over
    ``connections`` sessions running side by side. DatabaseError on failure.
    """
    listing = run_psql(
        tools,
        target,
        "SELECT coalesce(pg_catalog.pg_table_size(c.oid), 0), format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = {quote_literal(target.schema)} AND c.relkind IN ('r', 'p', 'm') ORDER BY 1 DESC, 2",
        what=f"list the tables of schema {target.schema!r} to ANALYZE",
    )
    tables = [line.split("|", 1) for line in listing.splitlines() if line]
    groups = share_out([(int(size), name) for size, name in tables], connections)
    with ThreadPoolExecutor(max_workers=max(len(groups), 1)) as pool:
        runs = [
            pool.submit(
                run_psql, tools, target, f"ANALYZE {', '.join(group)}", what="run ANALYZE after the restore"
            )
            for group in groups
        ]
        for run in runs:
            run.result()


def share_out(tables: list[tuple[int, str]], count: int) -> list[list[str]]:
    """Table names in at most ``count`` non-empty groups of about equal size, each largest first."""
    groups: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(count, 1))]
    for size, name in sorted(tables, key=lambda table: -table[0]):
        index = min(range(len(groups)), key=lambda i: groups[i][0])
        total, names = groups[index]
        groups[index] = (total + size, [*names, name])
    return [names for _, names in groups if names]
