"""Whether this process is a pytest-xdist worker, spelled once.

xdist gives each worker ``config.workerinput`` (what the controller handed over) and collects
``config.workeroutput`` back when the worker finishes; the controller has neither.
"""

from __future__ import annotations

from typing import Any

import pytest


def is_worker(config: pytest.Config) -> bool:
    """True inside an xdist worker: only the controller writes files and prints verdicts."""
    return hasattr(config, "workerinput")


def worker_input(config: pytest.Config) -> dict[str, Any]:
    """What the controller handed this worker ({} outside xdist)."""
    found: dict[str, Any] = getattr(config, "workerinput", {})
    return found


def worker_count(config: pytest.Config) -> int:
    """How many workers share this run (1 outside xdist)."""
    return int(worker_input(config).get("workercount", 1))


def worker_output(config: pytest.Config) -> dict[str, Any]:
    """Where a worker leaves results for the controller."""
    output: dict[str, Any] = config.workeroutput  # type: ignore[attr-defined]
    return output
