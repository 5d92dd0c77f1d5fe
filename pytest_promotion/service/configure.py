"""Turning settings into the remote checks' run: the effective base URL, credentials, exchange store."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.core.redact import Redactor, mask_url
from pytest_promotion.core.text import plural
from pytest_promotion.core.xdist import worker_count, worker_input
from pytest_promotion.service.client import Credentials, is_loopback
from pytest_promotion.service.run import ServiceRun, Target
from pytest_promotion.service.store import ExchangeStore
from pytest_promotion.settings import PromotionSettings

STORE_KEY = "promotion_smoke_store"  # the shared exchange folder, in xdist's workerinput


def resolve_base_url(config: pytest.Config, settings: PromotionSettings) -> tuple[str | None, str]:
    """The deployed app's URL and where it came from.

    ``--base-url`` > ``PYTEST_BASE_URL`` > ``SMOKE_BASE_URL`` > ini ``base_url`` (pytest-base-url's
    chain with the seed's variable in it). The result is written back to ``config.option.base_url``
    so pytest-base-url's ``base_url`` fixture and header agree. xdist workers share the
    controller's arguments and environment, so they follow the same chain to the same URL.
    """
    raw = getattr(config.known_args_namespace, "base_url", None)
    if raw:
        given = any(arg.startswith("--base-url") for arg in config.invocation_params.args)
        found: tuple[str | None, str] = (raw, "--base-url" if given else "PYTEST_BASE_URL")
    elif settings.smoke_base_url:
        found = (settings.smoke_base_url, "SMOKE_BASE_URL")
    else:
        ini = config.getini("base_url") if _has_ini(config) else None
        found = (str(ini), "ini base_url") if ini else (None, "not set")
    if found[0] is not None:
        found = (found[0].strip(), found[1])  # a pasted newline or space, on either side
        config.option.base_url = found[0]
    return found


def _has_ini(config: pytest.Config) -> bool:
    try:
        config.getini("base_url")
    except ValueError:  # pytest-base-url disabled with -p no:base_url
        return False
    return True


def check_base_url(url: str, source: str) -> None:
    """A usage error unless ``url`` is an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        valid = parts.scheme in {"http", "https"} and bool(parts.hostname)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(
            f"{source}: the base URL {mask_url(url)!r} is not an http(s) URL with a host. "
            "Give the deployed app's address, e.g. --base-url=https://app.example.com."
        )


def check_credentials_stay_safe(
    url: str, source: str, what: str = "credentials are configured (LAUNCH_*_TOKEN)"
) -> None:
    """A usage error when credentials would travel over plain http to another machine."""
    if urlsplit(url).scheme == "http" and not is_loopback(url):
        raise ConfigError(
            f"{source}: {mask_url(url)} is plain http to a non-loopback host, and {what}: they would "
            "cross the network unencrypted. Use the https URL, or pass "
            "--promotion-allow-insecure-http if this network is trusted."
        )


def check_one_kind_of_credentials(url: str, source: str, roles: bool) -> None:
    """A usage error when the base URL carries ``user:password@`` and role tokens are set too.

    Basic credentials in the URL would go with every request, the roles' tokens included, so the
    member and anonymous checks would not be what they claim. One or the other.
    """
    parts = urlsplit(url)
    if roles and (parts.username or parts.password):
        raise ConfigError(
            f"{source}: {mask_url(url)} carries user:password credentials, and LAUNCH_*_TOKEN credentials "
            "are set too: every request would send the URL's Basic credentials, so the role checks could "
            "not tell admin, member and anonymous apart. Remove the credentials from the URL, or unset "
            "the LAUNCH_*_TOKEN variables."
        )


def per_worker(concurrency: int, workers: int) -> int:
    """Each xdist worker's share of the run's bound, so the service never sees more in flight."""
    return max(1, concurrency // max(1, workers))


def service_run(
    config: pytest.Config,
    settings: PromotionSettings,
    *,
    base_url: tuple[str | None, str],
    redactor: Redactor,
    allow_insecure_http: bool = False,
) -> tuple[ServiceRun, bool]:
    """The remote checks' run, and whether this process owns (and later removes) the exchange folder."""
    url, source = base_url
    admin, member = Credentials.of(settings, "admin"), Credentials.of(settings, "member")
    if url is not None:
        check_base_url(url, source)
        roles = bool(admin.kind or member.kind)
        check_one_kind_of_credentials(url, source, roles)
        if not allow_insecure_http:
            if roles:
                check_credentials_stay_safe(url, source)
            elif urlsplit(url).password is not None:
                check_credentials_stay_safe(url, source, "the URL carries a password")
    if settings.expected_revision and settings.smoke.revision is None:
        raise ConfigError(
            "--expect-revision / SMOKE_EXPECTED_REVISION is set, but [tool.promotion.smoke] names no "
            'revision source: add revision = { path = "/api/health", json = "version.commit" } '
            '(or header = "X-Revision") so the run can read the deployed revision.'
        )
    shared = worker_input(config).get(STORE_KEY)
    store = ExchangeStore(Path(shared)) if shared else ExchangeStore.create()
    smoke = settings.smoke.model_copy(
        update={"concurrency": per_worker(settings.smoke.concurrency, worker_count(config))}
    )
    target = Target(
        base_url=url,
        base_url_source=source,
        organization_id=settings.organization_id,
        admin=admin,
        member=member,
        config=smoke,
        expected_revision=settings.expected_revision,
    )
    return ServiceRun(target=target, store=store, redactor=redactor), not shared


def header(run: ServiceRun) -> str:
    """Name the target, the entry count, and how requests are sent (never a credential)."""
    target = run.target
    smoke = target.config
    roles = [
        f"{role} {c.kind}" + (" (session token also set; bearer wins)" if c.bearer and c.session else "")
        for role, c in (("admin", target.admin), ("member", target.member))
        if c.kind
    ]
    auth = "credentials: " + ", ".join(roles) if roles else "no credentials"
    waits = (
        f", expects revision {target.expected_revision} ({smoke.revision.where})"
        if smoke.revision is not None and target.expected_revision
        else ""
    )
    flags = f", flags over OFREP {smoke.flag_report_path}" if smoke.flag_source == "ofrep" else ""
    return (
        f"promotion: smoke {target.shown_url} ({target.base_url_source}), "
        f"{plural(len(smoke.endpoints), 'endpoint')}, {auth}, concurrency {smoke.concurrency}, "
        f"timeout {smoke.timeout:g} s, retries {smoke.retries}{waits}{flags}"
    )
