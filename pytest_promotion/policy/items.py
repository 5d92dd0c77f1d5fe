"""``pyproject.toml::admin_policy::member: GET …``: one item per cell of the policy matrix."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from pytest_promotion.http.client import Call, Credentials
from pytest_promotion.http.items import CheckFailed, GeneratedItem, marked
from pytest_promotion.http.run import NO_BASE_URL, NO_ORGANIZATION, SmokeRun
from pytest_promotion.policy.matrix import ADMIN, INVALID, MEMBER, VARIABLES, PolicyCheck, judge, matrix

POLICY_MARK = "admin_policy"


def credentials_for(role: str, run: SmokeRun) -> Credentials | None:
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


def missing_for(check: PolicyCheck, run: SmokeRun) -> str | None:
    """Why a check cannot run here (a skip reason naming the variables), or None."""
    if run.target.base_url is None:
        return NO_BASE_URL
    credentials = credentials_for(check.role, run)
    if check.role in VARIABLES and (credentials is None or credentials.kind is None):
        return f"needs {check.role} credentials: set {VARIABLES[check.role]}"
    if check.endpoint.uses_organization and not run.target.organization_id:
        return NO_ORGANIZATION
    return None


class PolicyItem(GeneratedItem):
    """One role against one endpoint."""

    def __init__(self, *, check: PolicyCheck, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.check = check

    def runtest(self) -> None:
        """Call as the role, and judge the answer against the policy."""
        endpoint = self._require()
        credentials = credentials_for(self.check.role, self.run)
        call = Call(
            method=endpoint.method,
            path=endpoint.path,
            params=endpoint.query(self.run.target.organization_id),
            headers=credentials.headers() if credentials is not None else {},
        )
        exchange = self.run.transport.call(call)
        if exchange.status is not None:
            self.user_properties.append(("latency_ms", exchange.elapsed_ms))
        failure = judge(self.check, exchange, self.run.target.policy)
        if failure is not None:
            raise CheckFailed(*failure)


class PolicyCollector(pytest.Collector):
    """``pyproject.toml::admin_policy``: the matrix, endpoint by endpoint, role by role."""

    def __init__(self, *, run: SmokeRun, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run

    def collect(self) -> Iterator[pytest.Item]:
        """One item per check."""
        for check in matrix(self.run.target.policy):
            item = PolicyItem.from_parent(
                self, name=check.name, run=self.run, endpoint=check.endpoint, check=check
            )
            yield marked(item, POLICY_MARK, missing_for(check, self.run))
