"""``pytest-promotion sample serve`` as the demo and CI stop it: SIGTERM leaves nothing behind."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_a_terminated_sample_service_removes_its_data_folder() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_promotion", "sample", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.readline().startswith("http://127.0.0.1:")
    found = re.search(r"data in (\S+)", process.stderr.readline())
    assert found, "the service did not say where its data is"
    folder = Path(found.group(1)).parent
    assert folder.is_dir()
    process.terminate()
    process.wait(timeout=10)
    assert not folder.exists(), f"{folder} was left behind"
    assert process.returncode == 128 + 15  # stopped by SIGTERM, said the shell's way
