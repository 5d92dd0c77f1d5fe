"""The terminal summary's latency table: the slowest endpoints against their budgets.

Smoke and budget items record ``latency_ms`` (and ``budget_ms``) with ``record_property``; the
numbers reach the controller inside the reports, with or without pytest-xdist.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

SHOWN = 10


@dataclass(frozen=True)
class Latency:
    """One item's measured latency and budget."""

    nodeid: str
    latency_ms: float
    budget_ms: float | None

    @classmethod
    def from_report(cls, report: pytest.TestReport) -> Latency | None:
        """The latency a report carries, or None."""
        properties = dict(report.user_properties)
        latency = properties.get("latency_ms")
        if not isinstance(latency, int | float):
            return None
        budget = properties.get("budget_ms")
        return cls(report.nodeid, float(latency), float(budget) if isinstance(budget, int | float) else None)


def latency_lines(latencies: list[Latency]) -> list[str]:
    """The slowest endpoints, one line each: latency, budget, verdict, item."""
    if not latencies:
        return []
    slowest = sorted(latencies, key=lambda found: (-found.latency_ms, found.nodeid))[:SHOWN]
    lines = [f"{'latency':>9}  {'budget':>8}  {'':4}  item"]
    for found in slowest:
        budget = f"{found.budget_ms:>5.0f} ms" if found.budget_ms is not None else f"{'-':>8}"
        over = "OVER" if found.budget_ms is not None and found.latency_ms > found.budget_ms else ""
        lines.append(f"{found.latency_ms:>6.0f} ms  {budget}  {over:4}  {found.nodeid}")
    if len(latencies) > SHOWN:
        lines.append(f"({len(latencies) - SHOWN} faster endpoints not shown)")
    return lines
