"""What a remote check needs before it can run, and what is missing: the one prerequisites function.

Skips outside the gate, the launch gate's failing prerequisite items and its expected-check
computation all ask :func:`missing`, so a check that cannot run is described the same way
everywhere and no check can need something the gate does not know about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BASE_URL, ADMIN, MEMBER, ORGANIZATION = "base_url", "admin", "member", "organization"
REVISION = "revision"

ADMIN_VARIABLES = "LAUNCH_ADMIN_BEARER_TOKEN or LAUNCH_ADMIN_SESSION_TOKEN"
MEMBER_VARIABLES = "LAUNCH_MEMBER_BEARER_TOKEN or LAUNCH_MEMBER_SESSION_TOKEN"
NEEDS = {
    BASE_URL: "a base URL: pass --base-url, or set SMOKE_BASE_URL or PYTEST_BASE_URL",
    ADMIN: f"admin credentials: set {ADMIN_VARIABLES}",
    MEMBER: f"member credentials: set {MEMBER_VARIABLES}",
    ORGANIZATION: "an organization: set SMOKE_ORGANIZATION_ID",
    REVISION: "the expected revision: pass --expect-revision or set SMOKE_EXPECTED_REVISION",
}
"""Each prerequisite, worded as what to set; in the order they are reported."""


@dataclass(frozen=True)
class Available:
    """Which prerequisites this run has."""

    base_url: bool
    admin: bool
    member: bool
    organization: bool
    revision: bool = False

    def has(self, need: str) -> bool:
        """True when ``need`` (a key of :data:`NEEDS`) is configured."""
        return bool(getattr(self, need))


def missing(needs: Iterable[str], available: Available) -> list[str]:
    """The unmet prerequisites among ``needs``, worded as what to set, in :data:`NEEDS` order."""
    wanted = set(needs)
    return [text for need, text in NEEDS.items() if need in wanted and not available.has(need)]


def skip_reason(needs: Iterable[str], available: Available) -> str | None:
    """``needs a base URL: pass --base-url, …`` for the first unmet prerequisite, or None."""
    unmet = missing(needs, available)
    return f"needs {unmet[0]}" if unmet else None
