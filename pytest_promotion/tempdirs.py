"""Private per-run temp folders named after their owner's pid, and removing those killed runs left.

A run that is killed (SIGKILL, a cancelled CI job) never reaches its cleanup, so its folder
stays in the temp dir for good. The next run removes such a folder only when it is clearly
stale: ours (same user, a real folder, not a symlink), in our ``<prefix><pid>-<random>`` form,
untouched for longer than a threshold, and its owning process is gone. A folder that fails any
of these — another live run's above all — is never touched, and neither is one named in another
form (older versions), as nothing says whose it is.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

STALE_AFTER_SECONDS = 3600.0
"""How long a folder must have gone untouched before it can count as a killed run's."""


def run_folder(prefix: str) -> Path:
    """A fresh private folder (mode 0700) ``<prefix><pid>-<random>``, after removing stale ones."""
    remove_stale(prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def remove_stale(
    prefix: str,
    *,
    root: Path | None = None,
    older_than: float = STALE_AFTER_SECONDS,
    now: float | None = None,
) -> list[Path]:
    """Remove the clearly stale ``<prefix><pid>-*`` folders in ``root`` (the temp dir); those removed."""
    folder = root or Path(tempfile.gettempdir())
    moment = time.time() if now is None else now
    removed = []
    try:
        candidates = sorted(folder.glob(f"{prefix}*"))
    except OSError:
        return []
    for path in candidates:
        pid = owner_pid(path.name, prefix)
        if pid is None or process_alive(pid):
            continue
        try:
            info = path.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or not _ours(info) or moment - info.st_mtime < older_than:
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


def owner_pid(name: str, prefix: str) -> int | None:
    """The pid in ``<prefix><pid>-<random>``; None for any other name."""
    if not name.startswith(prefix):
        return None
    pid, dash, rest = name[len(prefix) :].partition("-")
    return int(pid) if dash and rest and pid.isdigit() and int(pid) > 0 else None


def process_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists (another user's counts: it cannot be signalled)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _ours(info: os.stat_result) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is None or info.st_uid == getuid()
