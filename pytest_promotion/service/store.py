"""Exchanges shared between xdist workers, so each smoke request is sent exactly once per run.

Every worker collects every item but runs only some, and cannot know in advance which. The first
worker to reach a smoke item claims the selected requests one by one (an ``O_EXCL`` file) and sends
the ones it won concurrently; a worker that runs an item another one claimed waits for its result
file. Without xdist the same folder serves one process.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from pytest_promotion.tempdirs import run_folder


class ExchangeStore:
    """A folder of claims and JSON results, keyed by item node id."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def create(cls) -> ExchangeStore:
        """A fresh private folder (mode 0700): results may hold response bodies."""
        return cls(run_folder("promotion-smoke-"))

    def _path(self, key: str, suffix: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:24] + suffix)

    def claim(self, key: str) -> bool:
        """True when this process is the first to claim ``key``."""
        try:
            os.close(os.open(self._path(key, ".claim"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return False
        return True

    def put(self, key: str, data: dict[str, Any]) -> None:
        """Publish a result; readers never see a half-written file."""
        target = self._path(key, ".json")
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, target)

    def get(self, key: str) -> dict[str, Any] | None:
        """The published result, or None."""
        try:
            data: dict[str, Any] = json.loads(self._path(key, ".json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return data

    def wait(self, key: str, timeout: float) -> dict[str, Any] | None:
        """The result once another process publishes it; None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            found = self.get(key)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
