"""The clients behind the plugin's fixtures, for users' own checks of the deployed app.

Same base URL, credentials and transport rules as the generated items: TLS verified, redirects not
followed, credentials never over plain http to another machine unless allowed.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pytest_promotion.core.redact import without_credentials
from pytest_promotion.service.client import Credentials
from pytest_promotion.service.configure import check_credentials_stay_safe
from pytest_promotion.service.needs import BASE_URL, NEEDS
from pytest_promotion.settings import PromotionSettings


def client_for(
    settings: PromotionSettings, base_url: str | None, role: str | None, *, allow_insecure_http: bool
) -> Iterator[httpx.Client]:
    """A client for ``role`` (``admin``, ``member``, ``anonymous``; None: no role, URL credentials only).

    Skips the test, naming what to set, when there is no base URL or the role has no credentials.
    """
    if not base_url:
        pytest.skip(f"needs {NEEDS[BASE_URL]}")
    credentials = Credentials.of(settings, role) if role in ("admin", "member") else Credentials()
    if role in ("admin", "member") and credentials.kind is None:
        pytest.skip(f"needs {NEEDS[role]}")
    if credentials.kind is not None and not allow_insecure_http:
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
