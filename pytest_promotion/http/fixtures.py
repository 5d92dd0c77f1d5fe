"""Fixtures for users' own smoke tests, on the same base URL and policy as the generated items."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pytest_promotion.http.client import Credentials
from pytest_promotion.http.configure import check_credentials_stay_safe
from pytest_promotion.http.run import NO_BASE_URL
from pytest_promotion.redact import without_credentials
from pytest_promotion.stash import SETTINGS_KEY


@pytest.fixture(scope="session")
def promotion_client(base_url: str | None, pytestconfig: pytest.Config) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` on the base URL: pooled, TLS verified, redirects not followed.

    Skips the test, naming the options, when no base URL is configured. Credentials in the URL
    become Basic auth and are scrubbed from reports.
    """
    if not base_url:
        pytest.skip(NO_BASE_URL)
    clean, basic = without_credentials(base_url)
    timeout = pytestconfig.stash[SETTINGS_KEY].smoke.timeout
    with httpx.Client(base_url=clean, auth=basic, timeout=timeout, follow_redirects=False) as client:
        yield client


def _role_client(pytestconfig: pytest.Config, base_url: str | None, role: str) -> Iterator[httpx.Client]:
    from pytest_promotion.policy.matrix import VARIABLES

    if not base_url:
        pytest.skip(NO_BASE_URL)
    settings = pytestconfig.stash[SETTINGS_KEY]
    credentials = Credentials() if role == "anonymous" else Credentials.of(settings, role)
    if role != "anonymous" and credentials.kind is None:
        pytest.skip(f"needs {role} credentials: set {VARIABLES[role]}")
    if credentials.kind is not None and not pytestconfig.getoption("promotion_allow_insecure_http"):
        check_credentials_stay_safe(base_url, "--base-url")
    clean, basic = without_credentials(base_url)
    with httpx.Client(
        base_url=clean,
        auth=basic,
        headers=credentials.headers(),
        timeout=settings.smoke.timeout,
        follow_redirects=False,
    ) as client:
        yield client


@pytest.fixture(scope="session")
def admin_client(pytestconfig: pytest.Config, base_url: str | None) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` that authenticates as the admin (LAUNCH_ADMIN_* token); skips without one."""
    yield from _role_client(pytestconfig, base_url, "admin")


@pytest.fixture(scope="session")
def member_client(pytestconfig: pytest.Config, base_url: str | None) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` that authenticates as a member (LAUNCH_MEMBER_* token); skips without one."""
    yield from _role_client(pytestconfig, base_url, "member")


@pytest.fixture(scope="session")
def anonymous_client(pytestconfig: pytest.Config, base_url: str | None) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` without credentials."""
    yield from _role_client(pytestconfig, base_url, "anonymous")
