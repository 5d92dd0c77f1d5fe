"""``pyproject.toml::admin_policy::member: GET …``: one item per cell of the policy matrix."""

from __future__ import annotations

import secrets

import pytest
from pydantic import SecretStr

from pytest_promotion.core.checks import Check, CheckFailed
from pytest_promotion.policy.matrix import ADMIN, INVALID, MEMBER, PolicyCheck, judge, matrix
from pytest_promotion.service.client import Call, Credentials
from pytest_promotion.service.endpoints import PolicyConfig
from pytest_promotion.service.items import GeneratedItem, Group
from pytest_promotion.service.needs import BASE_URL, ORGANIZATION
from pytest_promotion.service.run import ServiceRun

POLICY = "admin_policy"


def policy_checks(policy: PolicyConfig) -> tuple[Check, ...]:
    """Every cell of the matrix, with what it needs: the role's credentials, an organization."""
    checks = []
    for cell in matrix(policy):
        needs = [BASE_URL]
        if cell.role in (ADMIN, MEMBER):
            needs.append(cell.role)
        if cell.endpoint.uses_organization:
            needs.append(ORGANIZATION)
        checks.append(Check(POLICY, cell.name, tuple(needs), subject=cell))
    return tuple(checks)


def credentials_for(role: str, run: ServiceRun) -> Credentials | None:
    """What a role sends: its configured credentials, none, or a token nobody issued."""
    target = run.target
    if role == ADMIN:
        return target.admin
    if role == MEMBER:
        return target.member
    if role == INVALID:
        invalid = SecretStr("promotion-invalid-" + secrets.token_hex(12))
        if target.admin.kind == "session":
            return Credentials(session=invalid, cookie_name=target.admin.cookie_name)
        return Credentials(bearer=invalid)
    return None


class PolicyItem(GeneratedItem):
    """One role against one endpoint."""

    table = "[tool.promotion.policy]"

    def verify(self) -> None:
        """Call as the role, and judge the answer against the policy."""
        cell: PolicyCheck = self.check.subject
        endpoint = cell.endpoint
        credentials = credentials_for(cell.role, self.run)
        call = Call(
            method=endpoint.method,
            path=endpoint.path,
            params=endpoint.query(self.run.target.organization_id),
            headers={**endpoint.request_headers(), **(credentials.headers() if credentials else {})},
            content=endpoint.content(),
            timeout=endpoint.timeout_ms / 1000 if endpoint.timeout_ms is not None else None,
            retry=endpoint.retry,
        )
        exchange = self.run.transport.call(call)
        if exchange.status is not None:
            self.user_properties.append(("latency_ms", exchange.elapsed_ms))
        failure = judge(cell, exchange)
        if failure is not None:
            raise CheckFailed(*failure)


def policy_group(run: ServiceRun, checks: tuple[Check, ...]) -> Group:
    """``pyproject.toml::admin_policy``: the matrix, endpoint by endpoint, role by role."""

    def build(parent: pytest.Collector, check: Check) -> pytest.Item:
        return PolicyItem.from_parent(
            parent, name=check.name, check=check, run=run, endpoint=check.subject.endpoint
        )

    return Group(POLICY, checks, build)
