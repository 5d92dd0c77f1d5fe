"""The reviewed baseline: risky statements a human accepted, and how a refresh rewrites it.

Identity is ``(migration, rule, fingerprint)`` counted as a multiset: moving a statement or
reformatting it changes nothing, editing it or copying it into another migration makes it new,
and two identical statements in one migration need two entries. Each entry also carries a
``line`` hint for the reviewer (refreshed on ``--update-baseline``, never matched on) and is
listed by migration, then line. The file is written only by
:func:`write_atomic`: deterministic bytes, atomically, and only when they change.

Two ``--update-baseline`` runs at once (two terminals, two CI jobs on one runner) must not lose
each other's additions, so the controller re-reads, merges and writes under :func:`baseline_lock`
(``filelock``: a cross-platform OS lock, released by the OS when a run is killed). A killed run can
leave its ``.<name>.*.tmp`` file; the next run removes it while it holds the lock, when no writer
can be using it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.migrations.scan import Finding

VERSION = 1
Key = tuple[str, str, str]
LOCK_TIMEOUT_SECONDS = 120.0
"""How long a refresh waits for another run's read-merge-write before it gives up."""


class _EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    migration: str
    rule: str
    statement: str
    fingerprint: str
    reason: str | None = None
    line: int | None = None


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    entries: list[_EntryModel]


@dataclass(frozen=True, order=True)
class Entry:
    """One accepted risky statement; ``reason`` is written by the reviewer and kept on refresh."""

    migration: str
    rule: str
    fingerprint: str
    statement: str
    reason: str | None = None
    line: int | None = None
    """Where the statement was when the entry was last refreshed: a hint, not part of identity."""

    @property
    def key(self) -> Key:
        """What a finding must share to be covered by this entry."""
        return (self.migration, self.rule, self.fingerprint)

    def as_json(self) -> dict[str, str | int]:
        """The entry as written to the file: an empty ``reason`` is the slot a reviewer fills in."""
        data: dict[str, str | int] = {
            "migration": self.migration,
            "rule": self.rule,
            "statement": self.statement,
        }
        data["fingerprint"] = self.fingerprint
        data["reason"] = self.reason or ""
        if self.line is not None:
            data["line"] = self.line
        return data


def finding_key(finding: Finding) -> Key:
    """The baseline identity of a finding."""
    return (finding.migration, finding.rule, finding.fingerprint)


def load_baseline(path: Path) -> list[Entry]:
    """Entries of the baseline at ``path``; none when it does not exist yet.

    A file that cannot be read as a version-1 baseline is a ConfigError naming the position, and
    is never overwritten: a refresh must not silently discard what reviewers wrote.
    """
    remove_stale_temp_files(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}). Check its permissions.") from None
    advice = "Fix it by hand or restore it from version control; it is not overwritten while it is invalid."
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text. {advice}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: is not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}). {advice}"
        ) from None
    if isinstance(data, dict) and "version" in data and data["version"] != VERSION:
        raise ConfigError(
            f"{path}: has version {data['version']!r}, but this plugin reads version {VERSION}. "
            f"Upgrade pytest-promotion, or restore the file from version control."
        )
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_input=False, include_url=False)[0]
        where = "/".join(str(part) for part in error["loc"]) or "top level"
        raise ConfigError(
            f'{path}: is not a baseline ({where}: {error["msg"]}); expected {{"version": 1, "entries": '
            f'[{{"migration", "rule", "statement", "fingerprint", "reason"?, "line"?}}]}}. {advice}'
        ) from None
    return [Entry(e.migration, e.rule, e.fingerprint, e.statement, e.reason, e.line) for e in model.entries]


def split_findings(
    findings: Iterable[Finding], accepted: Counter[Key]
) -> tuple[list[Finding], list[Finding]]:
    """Split ``findings`` into (new, baselined), consuming ``accepted`` counts in order."""
    remaining = Counter(accepted)
    new: list[Finding] = []
    baselined: list[Finding] = []
    for finding in findings:
        key = finding_key(finding)
        if remaining[key] > 0:
            remaining[key] -= 1
            baselined.append(finding)
        else:
            new.append(finding)
    return new, baselined


def stale_entries(
    entries: Sequence[Entry], scanned: Mapping[str, Sequence[Finding]], existing: set[str]
) -> list[Entry]:
    """Entries that match nothing: of a scanned migration and unmatched, or of a missing one."""
    remaining: Counter[Key] = Counter()
    for findings in scanned.values():
        remaining.update(finding_key(f) for f in findings)
    stale = []
    for entry in entries:
        if entry.migration not in existing:
            stale.append(entry)
        elif entry.migration in scanned:
            if remaining[entry.key] > 0:
                remaining[entry.key] -= 1
            else:
                stale.append(entry)
    return stale


@dataclass(frozen=True)
class Refresh:
    """The baseline after ``--update-baseline``, and what changed."""

    entries: list[Entry]
    added: int
    removed: int
    kept: int


def refresh(
    entries: Sequence[Entry], scanned: Mapping[str, Sequence[Finding]], existing: set[str], complete: bool
) -> Refresh:
    """Accept every current finding of the ``scanned`` migrations; leave the others untouched.

    Reasons are kept for entries whose identity is still found. Entries of migrations that no
    longer exist are dropped only when the run scanned the ``complete`` folder, so a ``-k`` run
    never loses entries it did not look at.
    """
    reasons: dict[Key, list[str | None]] = {}
    result: list[Entry] = []
    removed = 0
    for entry in entries:
        if entry.migration in scanned:
            reasons.setdefault(entry.key, []).append(entry.reason)
        elif entry.migration not in existing and complete:
            removed += 1
        else:
            result.append(entry)
    kept = added = 0
    for findings in scanned.values():
        for f in findings:
            pool = reasons.get(finding_key(f))
            if pool:
                reason = pool.pop(0)
                kept += 1
            else:
                reason = None
                added += 1
            result.append(Entry(f.migration, f.rule, f.fingerprint, f.statement, reason, f.line))
    removed += sum(len(pool) for pool in reasons.values())
    return Refresh(sorted(result, key=_sort_key), added, removed, kept)


def _sort_key(entry: Entry) -> tuple[str, int, str, str, str, str]:
    line = entry.line if entry.line is not None else 0
    return (entry.migration, line, entry.rule, entry.fingerprint, entry.statement, entry.reason or "")


def render(entries: Sequence[Entry]) -> bytes:
    """The file's bytes: sorted, ``indent=2``, sorted keys, trailing newline."""
    document = {"version": VERSION, "entries": [e.as_json() for e in sorted(entries, key=_sort_key)]}
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` through a temp file in the same folder; False if unchanged."""
    try:
        if path.read_bytes() == data:
            return False
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)  # mkstemp makes the file private; keep the mode a checkout gives it
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def lock_path(path: Path) -> Path:
    """The lock every baseline refresh of this user takes: one file in the temp folder.

    Not next to the baseline (it would show in ``git status``), and not one per baseline: lock
    files are never deleted (deleting one races with a process about to lock it), so one per
    path would pile up. A refresh holds it for milliseconds, so sharing it costs nothing.
    """
    del path  # the same lock for every baseline
    getuid = getattr(os, "getuid", None)
    owner = str(getuid()) if getuid is not None else "user"
    return Path(tempfile.gettempdir()) / f"promotion-baseline-{owner}.lock"


@contextlib.contextmanager
def baseline_lock(path: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the baseline's lock while reading, merging and writing it; ConfigError on timeout."""
    from filelock import FileLock, Timeout  # only update runs and leftover temp files need it

    lock = FileLock(str(lock_path(path)), timeout=timeout, mode=0o666)
    try:
        lock.acquire()
    except Timeout:
        raise ConfigError(
            f"{path}: another --update-baseline run has held its lock for {timeout:g} s "
            f"({lock_path(path)}). Let it finish, or end it, and run again."
        ) from None
    try:
        yield
    finally:
        lock.release()


def temp_files(path: Path) -> list[Path]:
    """Temp files :func:`write_atomic` makes for ``path`` (``.<name>.<random>.tmp``)."""
    try:
        return sorted(path.parent.glob(f".{path.name}.*.tmp"))
    except OSError:
        return []


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Remove temp files a killed refresh left; only while no writer holds the lock.

    Every writer holds the lock from before it creates its temp file until after it renames it,
    so a temp file found while we hold the lock belongs to no live run. When another run holds
    it, nothing is removed (it may be writing); the next run tries again.
    """
    found = temp_files(path)
    if not found:
        return []
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path(path)), timeout=0, mode=0o666)
    try:
        lock.acquire()
    except Timeout:
        return []
    try:
        removed = []
        for stale in temp_files(path):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed.append(stale)
        return removed
    finally:
        lock.release()
