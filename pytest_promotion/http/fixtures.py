"""Fixtures for users' own smoke tests, on the same base URL and policy as the generated items."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

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
