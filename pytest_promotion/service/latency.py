"""The terminal summary's latency table: the slowest endpoints against their budgets.

A check that needed retries shows its attempts (``503, 503, 200``) and the total time of all of
them next to the successful attempt's latency, so retries never hide a flaky endpoint.

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
    """The successful (final) attempt's latency."""
    budget_ms: float | None
    attempts: int = 1
    statuses: str = ""
    """``503, 503, 200`` when the check needed retries."""
    total_ms: float | None = None
    """All attempts together, when there was more than one."""

    @classmethod
    def from_report(cls, report: pytest.TestReport) -> Latency | None:
        """The latency a report carries, or None."""
        properties = dict(report.user_properties)
        latency = properties.get("latency_ms")
        if not isinstance(latency, int | float):
            return None
        budget = properties.get("budget_ms")
        attempts = properties.get("attempts", 1)
        total = properties.get("total_ms")
        return cls(
            report.nodeid,
            float(latency),
            float(budget) if isinstance(budget, int | float) else None,
            attempts if isinstance(attempts, int) else 1,
            str(properties.get("attempt_statuses", "")),
            float(total) if isinstance(total, int | float) else None,
        )


def any_retried(latencies: list[Latency]) -> bool:
    """True when some check needed retries: the tables then show the total and the attempts."""
    return any(found.attempts > 1 for found in latencies)


def latency_lines(latencies: list[Latency]) -> list[str]:
    """The slowest endpoints, one line each: latency, budget, verdict, item."""
    if not latencies:
        return []
    slowest = sorted(latencies, key=lambda found: (-found.latency_ms, found.nodeid))[:SHOWN]
    retried = any_retried(latencies)
    extra = f"{'total':>9}  {'retried':<20}  " if retried else ""
    lines = [f"{'latency':>9}  {'budget':>8}  {'':4}  {extra}item"]
    for found in slowest:
        budget = f"{found.budget_ms:>5.0f} ms" if found.budget_ms is not None else f"{'-':>8}"
        over = "OVER" if found.budget_ms is not None and found.latency_ms > found.budget_ms else ""
        if retried:
            total = found.total_ms if found.total_ms is not None else found.latency_ms
            attempts = found.statuses if found.attempts > 1 else ""
            extra = f"{total:>6.0f} ms  {attempts:<20}  "
        lines.append(f"{found.latency_ms:>6.0f} ms  {budget}  {over:4}  {extra}{found.nodeid}")
    if len(latencies) > SHOWN:
        lines.append(f"({len(latencies) - SHOWN} faster endpoints not shown)")
    return lines
