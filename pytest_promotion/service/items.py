"""The item and collector bases of every remote check: ``pyproject.toml::smoke::GET /api/health``.

The checks are declared in ``pyproject.toml``, so that file is the collector. Each feature (smoke,
latency budgets, access policy, overrides, and the launch gate's prerequisites) hands the run a
:class:`Group`: a stage name and how to build its items from the checks planned for it. This
module knows no feature; it only lays the groups out, in order, with the same ids on every xdist
worker.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_promotion.core.checks import Check, CheckFailed, CheckItem
from pytest_promotion.service.client import Call
from pytest_promotion.service.endpoints import Endpoint
from pytest_promotion.service.needs import skip_reason
from pytest_promotion.service.run import ServiceRun


@functools.lru_cache(maxsize=8)
def _lines(pyproject: Path) -> tuple[str, ...]:
    try:
        return tuple(pyproject.read_text(encoding="utf-8").splitlines())
    except OSError:
        return ()


def entry_line(pyproject: Path, endpoint: Endpoint | None, table: str = "[tool.promotion.smoke]") -> int:
    """The 0-based line of an entry's path in its table, for ``reportinfo``."""
    lines = _lines(pyproject)  # read once per run, not once per item
    start = next((n for n, line in enumerate(lines) if line.strip() == table), 0)
    if endpoint is None:
        return start
    quoted = (f'"{endpoint.path}"', f"'{endpoint.path}'")
    return next((n for n in range(start, len(lines)) if any(q in lines[n] for q in quoted)), start)


class GeneratedItem(CheckItem):
    """A remote check: waits for readiness, skips (naming the variable) when a prerequisite is unset."""

    table = "[tool.promotion.smoke]"

    def __init__(self, *, run: ServiceRun, endpoint: Endpoint | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.endpoint = endpoint
        reason = self.skip_reason()
        if reason is not None:
            self.add_marker(pytest.mark.skip(reason=reason))

    def skip_reason(self) -> str | None:
        """Why this check cannot run here (its first unmet prerequisite), or None."""
        return skip_reason(self.check.needs, self.run.target.available)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at the entry in ``pyproject.toml``."""
        return self.path, entry_line(self.path, self.endpoint, self.table), self.name

    def ahead(self) -> Call | None:
        """The request to send ahead of this item, concurrently with the others (None: sent in runtest)."""
        return None

    def runtest(self) -> None:
        """Wait for the service to be healthy (``--wait-healthy``), then check."""
        ready = self.run.readiness()
        if not ready.healthy:
            why = (
                "the deployed revision never matched"
                if ready.revision
                else "the service never became healthy"
            )
            raise CheckFailed(f"{self.name}: not sent, {why}", ready.detail)
        self.verify()

    def verify(self) -> None:
        """Send the check's request(s) and raise :class:`CheckFailed` when the answer fails it."""
        raise NotImplementedError


ItemFactory = Callable[[pytest.Collector, Check], pytest.Item]


@dataclass(frozen=True)
class Group:
    """One feature's part of ``pyproject.toml``: a child collector named after its stage."""

    name: str
    checks: tuple[Check, ...]
    build: ItemFactory


class GroupCollector(pytest.Collector):
    """``pyproject.toml::<stage>``: the group's items, in the order planned."""

    def __init__(self, *, group: Group, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.group = group

    def collect(self) -> Iterator[pytest.Item]:
        """One item per planned check."""
        for check in self.group.checks:
            yield self.group.build(self, check)


class PromotionFile(pytest.File):
    """``pyproject.toml``: every check declared in ``[tool.promotion]`` that is not a migration."""

    def __init__(self, *, groups: Iterable[Group], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.groups = tuple(groups)

    def collect(self) -> Iterator[pytest.Collector]:
        """The groups that have checks, in the order the run lists them."""
        for group in self.groups:
            if group.checks:
                yield GroupCollector.from_parent(self, name=group.name, group=group)
