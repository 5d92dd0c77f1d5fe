"""Whether a backup file sits where ``git add .`` would pick it up.

A backup holds every row of the schema; inside a work tree that does not ignore it, one
careless commit publishes the production data. Without git, or outside a work tree, there is
nothing to warn about.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def unignored_work_tree(path: Path) -> Path | None:
    """The git work tree holding ``path`` when it does not ignore it; None otherwise."""
    git = shutil.which("git")
    if git is None:
        return None
    folder = path if path.is_dir() else path.parent
    try:
        top = subprocess.run(
            [git, "-C", str(folder), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if top.returncode != 0:
            return None
        ignored = subprocess.run(
            [git, "-C", str(folder), "check-ignore", "-q", "--", str(path)],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    # check-ignore: 0 ignored, 1 not ignored, 128 an error (then say nothing rather than guess)
    return Path(top.stdout.strip()) if ignored.returncode == 1 else None
