"""Stale per-run temp folders: only a killed run's own, old, folder is removed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from pytest_promotion.tempdirs import owner_pid, remove_stale, run_folder

PREFIX = "promotion-smoke-"
HOUR = 3600


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def folder(root: Path, name: str, *, age: float) -> Path:
    path = root / name
    path.mkdir()
    (path / "result.json").write_text("{}")
    past = time.time() - age
    os.utime(path, (past, past))
    return path


def test_only_old_folders_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = dead_pid()
    killed = folder(tmp_path, f"{PREFIX}{dead}-abc123", age=2 * HOUR)
    recent = folder(tmp_path, f"{PREFIX}{dead}-def456", age=60)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live:
        try:
            alive = folder(tmp_path, f"{PREFIX}{live.pid}-ghi789", age=2 * HOUR)
            ours = folder(tmp_path, f"{PREFIX}{os.getpid()}-jkl012", age=2 * HOUR)
            old_form = folder(tmp_path, f"{PREFIX}x1y2z3ab", age=2 * HOUR)
            other_prefix = folder(tmp_path, f"promotion-other-{dead}-abc", age=2 * HOUR)
            not_a_folder = tmp_path / f"{PREFIX}{dead}-file"
            not_a_folder.write_text("x")
            os.utime(not_a_folder, (0, 0))
            target = folder(tmp_path, "elsewhere", age=2 * HOUR)
            link = tmp_path / f"{PREFIX}{dead}-link"
            link.symlink_to(target)

            removed = remove_stale(PREFIX, root=tmp_path)
        finally:
            live.kill()

    assert removed == [killed]
    assert not killed.exists()
    for kept in (recent, alive, ours, old_form, other_prefix, not_a_folder, link, target):
        assert kept.exists() or kept.is_symlink(), kept
    assert (target / "result.json").exists()  # a symlink is never followed


def test_run_folder_is_private_and_named_after_this_process(tmp_path: Path) -> None:
    path = run_folder(PREFIX)
    try:
        assert owner_pid(path.name, PREFIX) == os.getpid()
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    finally:
        path.rmdir()
    assert owner_pid(f"{PREFIX}12-", PREFIX) is None
    assert owner_pid(f"{PREFIX}abc-def", PREFIX) is None
