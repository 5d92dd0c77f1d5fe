"""The policy matrix: which role calls which endpoint, what answer proves the policy holds.

Per admin-only endpoint: ``admin`` expects 2xx, ``member`` a deny status (403),
``anonymous`` 401, ``invalid-token`` 401. Per member endpoint: admin and member both 2xx, and
anonymous and invalid-token callers refused as on an admin-only one (a member endpoint is still
closed to the public). A refused caller that gets 2xx is the headline failure: the policy does not
hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_promotion.service.client import Exchange
from pytest_promotion.service.endpoints import Endpoint, PolicyConfig
from pytest_promotion.service.needs import ADMIN_VARIABLES, MEMBER_VARIABLES

ADMIN, MEMBER, ANONYMOUS, INVALID = "admin", "member", "anonymous", "invalid-token"
CALLERS = {
    MEMBER: "member",
    ANONYMOUS: "anonymous caller",
    INVALID: "caller with an invalid token",
}
VARIABLES = {ADMIN: ADMIN_VARIABLES, MEMBER: MEMBER_VARIABLES}


@dataclass(frozen=True)
class PolicyCheck:
    """One cell of the matrix."""

    role: str
    endpoint: Endpoint
    admin_only: bool
    deny: tuple[int, ...] | None = None
    """The statuses that prove this role is refused; None when it must be let in."""

    @property
    def name(self) -> str:
        """``member: GET /api/dashboard/ops/incidents``.

        Not ``[member] GET …``: pytest 9 reads a leading ``[`` in a node id as parameters and
        mangles the JUnit testcase name (``[member] GET /x]``).
        """
        return f"{self.role}: {self.endpoint.name}"


def matrix(policy: PolicyConfig) -> list[PolicyCheck]:
    """Every check, endpoint by endpoint, in the order written."""
    denials = {
        ADMIN: None,
        MEMBER: policy.member_deny,
        ANONYMOUS: policy.anonymous_deny,
        INVALID: policy.invalid_token_deny,
    }
    checks = [
        PolicyCheck(role, endpoint, admin_only=True, deny=denials[role])
        for endpoint in policy.admin_only
        for role in (ADMIN, MEMBER, ANONYMOUS, INVALID)
    ]
    checks += [
        PolicyCheck(
            role, endpoint, admin_only=False, deny=denials[role] if role in (ANONYMOUS, INVALID) else None
        )
        for endpoint in policy.member
        for role in (ADMIN, MEMBER, ANONYMOUS, INVALID)
    ]
    return checks


def judge(check: PolicyCheck, exchange: Exchange) -> tuple[str, str] | None:
    """(summary, text) of a failure, or None when the answer proves the policy."""
    what = f"{check.endpoint.method} {check.endpoint.path}"
    if exchange.status is None:
        summary = f"{check.role}: {what}: {exchange.error or 'no answer'}"
        return summary, summary + "\nCheck that the service is up and reachable from this runner."
    status = exchange.status
    deny = check.deny
    allowed = 200 <= status < 300
    if deny is None:
        if allowed:
            return None
        summary = f"{check.role} was not let in: {what} answered {status}, expected 2xx"
        advice = (
            f"Check that the {check.role} credentials ({VARIABLES[check.role]}) are valid on this environment, "
            "and that the endpoint lets that role in."
        )
    elif status in deny:
        return None
    elif allowed:
        kind = "an admin-only" if check.admin_only else "a member-only"
        summary = f"{CALLERS[check.role]} reached {kind} endpoint: {what} answered {status}"
        advice = (
            f"The access policy does not hold: {what} must refuse a {CALLERS[check.role]} "
            f"with {' or '.join(map(str, deny))}. Do not promote this build."
        )
    else:
        expected = " or ".join(map(str, deny))
        summary = f"{CALLERS[check.role]} got {status} from {what}, expected {expected}"
        advice = "If the service refuses this way on purpose, list the status in [tool.promotion.policy]."
    lines = [f"{summary} ({exchange.elapsed_ms:.0f} ms)"]
    if exchange.body:
        lines.append(f"body: {exchange.body}")
    lines.append(advice)
    return summary, "\n".join(lines)
