"""``pyproject.toml::flags::flag new_editor`` and ``pyproject.toml::entitlements::entitlement seat_limit``.

Promotion is safe only when the deployed service resolves the environment's overrides exactly as
they are configured here. Each overridden flag and entitlement field is one item that compares the
service's report with the locally resolved expectation (value and source); ``drift`` catches the
reverse, an override the service applies that this configuration does not have. Each report
endpoint is fetched once per process and shared by its items.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest

from pytest_promotion.core.checks import Check, CheckFailed
from pytest_promotion.overrides.config import Overrides
from pytest_promotion.overrides.entitlements import configured_entitlements
from pytest_promotion.overrides.flags import ResolvedFlag, resolve_flags
from pytest_promotion.service.client import Call, Exchange
from pytest_promotion.service.endpoints import sent_headers
from pytest_promotion.service.items import GeneratedItem
from pytest_promotion.service.needs import BASE_URL, ORGANIZATION
from pytest_promotion.service.run import ServiceRun
from pytest_promotion.settings import env_name

FLAGS_MARK = "flags"
ENTITLEMENTS_MARK = "entitlements"
FLAG_VARIABLES = {layer: env_name(f"feature_flag_{layer}_overrides") for layer in ("env", "org")}
ENTITLEMENT_VARIABLES = {layer: env_name(f"entitlement_{layer}_overrides") for layer in ("env", "org")}
FLAG_PLACEHOLDER, ORG_FLAG_PLACEHOLDER = "flag overrides", "flag org overrides"
ENTITLEMENT_PLACEHOLDER = "entitlement overrides"
NO_FLAG_OVERRIDES = f"no overrides configured: set {FLAG_VARIABLES['env']} or {FLAG_VARIABLES['org']}"
NO_ENTITLEMENT_OVERRIDES = (
    f"no overrides configured: set {ENTITLEMENT_VARIABLES['env']} or {ENTITLEMENT_VARIABLES['org']}"
)
CONTRACT = "See 'The contract a deployed service implements' in the pytest-promotion README."


def shown(value: object) -> str:
    """A value as JSON, the way it was configured; null caps read as unlimited."""
    return "null (unlimited)" if value is None else json.dumps(value)


def same(configured: object, reported: object) -> bool:
    """JSON equality: ``true`` is not ``1``, but ``1`` is ``1.0``."""
    if isinstance(configured, bool) or isinstance(reported, bool):
        return configured is reported
    return configured == reported


def flag_report_headers(run: ServiceRun, protocol: Mapping[str, str]) -> dict[str, str]:
    """The admin's credentials, the protocol's headers, then ``flags_headers`` (which win, by name).

    Only the flag report is asked with ``flags_headers``: a flag service's key goes nowhere else.
    """
    configured = sent_headers(run.target.config.flags_headers)
    named = {name.lower() for name in configured}
    chosen = {**run.target.admin.headers(), **protocol}
    return {**{k: v for k, v in chosen.items() if k.lower() not in named}, **configured}


def require_answer(what: str, exchange: Exchange, whom: str) -> None:
    """A CheckFailed when no answer came (refused, timed out, cut), naming ``whom`` to check."""
    if exchange.status is None or exchange.error:
        reason = exchange.error or "no answer"
        raise CheckFailed(f"{what}: {reason}", f"{what}: {reason}\nCheck that {whom} is up and reachable.")


@dataclass
class ServiceReport:
    """One report endpoint of the deployed service, fetched once per process."""

    run: ServiceRun
    path: str
    key: str
    """The object the contract puts the report in: ``flags`` or ``entitlements``."""
    _exchange: Exchange | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self) -> Call:
        """GET the report for the configured organization, as the admin when credentials are set."""
        organization = self.run.target.organization_id
        return Call(
            method="GET",
            path=self.path,
            params={"organization_id": organization} if organization else {},
            headers=flag_report_headers(self.run, {})
            if self.key == "flags"
            else self.run.target.admin.headers(),
            keep_json=True,
        )

    def document(self) -> Mapping[str, Any]:
        """The report object, or a CheckFailed that says why the service gave none."""
        with self._lock:
            if self._exchange is None:
                self._exchange = self.run.transport.call(self.call())
        exchange = self._exchange
        what = f"GET {self.path}"
        require_answer(what, exchange, "the service")
        if exchange.status != 200:
            summary = f"{what} answered {exchange.status}, expected 200"
            body = f"\nbody: {exchange.body}" if exchange.body else ""
            raise CheckFailed(summary, f"{summary}{body}\nCheck the service's logs for this endpoint.")
        document = exchange.document
        report = document.get(self.key) if isinstance(document, dict) else None
        if not isinstance(report, dict):
            summary = f"{what} answered without a {self.key!r} object"
            raise CheckFailed(summary, f"{summary}.\n{CONTRACT}")
        return report


class Report(Protocol):
    """What an override item reads: one answer of the service, fetched once per process."""

    def document(self) -> Mapping[str, Any]:
        """The answer by key, or a CheckFailed that says why the service gave none."""
        ...


class ReportItem(GeneratedItem):
    """Shared by the override checks: they read one report of the service."""

    table = "[tool.promotion]"

    def __init__(self, *, report: Report, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.report = report

    def fetched(self) -> Mapping[str, Any]:
        """The report (``runtest`` has already waited for the service to be healthy)."""
        return self.report.document()


class UnconfiguredItem(ReportItem):
    """Says why nothing is checked (always collected skipped), so a run never passes silently."""

    def verify(self) -> None:
        """Never reached: the item carries a skip mark with its reason."""
        pytest.skip("nothing configured to check")


class OrgFlagsWaitingItem(UnconfiguredItem):
    """Stands in for the org flag overrides while no organization says whose to check."""

    def skip_reason(self) -> str | None:
        """Name the variable whose overrides are not checked."""
        reason = super().skip_reason()
        return f"{FLAG_VARIABLES['org']} is set but {reason}" if reason else None


class FlagItem(ReportItem):
    """One overridden flag: the service resolves it to the configured value, from the configured layer."""

    def __init__(self, *, key: str, expected: ResolvedFlag, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.key = key
        self.expected = expected

    def verify(self) -> None:
        """Compare value and source with the local resolution."""
        flags = self.fetched()
        expected, variable = self.expected, FLAG_VARIABLES[self.expected.source]
        want = f"{shown(expected.value)} from {expected.source}"
        reported = flags.get(self.key)
        if not isinstance(reported, dict) or "value" not in reported or "source" not in reported:
            summary = f"flag {self.key}: expected {want}, the service does not report it"
            raise CheckFailed(
                summary,
                f"{summary} (or not as {{'value': …, 'source': …}}).\n"
                f"The deployed service does not know this flag, which {variable} overrides. {CONTRACT}",
            )
        value, source = reported["value"], reported["source"]
        if same(expected.value, value) and source == expected.source:
            return
        summary = f"flag {self.key}: expected {want}, the service reports {shown(value)} from {source}"
        if source == expected.source:
            hint = f"The deployed {variable} holds another value than this run's: make them the same."
        elif source == "db":
            hint = f"The service ignores the {variable} override: check the deployed environment sets it."
        elif source == "org":
            hint = (
                f"The deployed {FLAG_VARIABLES['org']} overrides this flag for the organization and this "
                "run's does not: remove the stale override there, or add it here."
            )
        else:
            hint = f"The service does not apply the organization's override from {variable}: compare both."
        raise CheckFailed(summary, f"{summary}\n{hint}")


class FlagDriftItem(ReportItem):
    """No flag is overridden by the service that this configuration does not override."""

    def __init__(self, *, expected: Mapping[str, ResolvedFlag], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.expected = expected

    def verify(self) -> None:
        """List every reported env/org override missing from the configuration."""
        stale = [
            f"  {key} = {shown(flag.get('value'))} ({flag.get('source')})"
            for key, flag in sorted(self.fetched().items())
            if isinstance(flag, dict) and flag.get("source") in FLAG_VARIABLES and key not in self.expected
        ]
        if stale:
            summary = f"the service applies {len(stale)} flag override(s) this configuration does not have"
            raise CheckFailed(
                summary,
                f"{summary}:\n"
                + "\n".join(stale)
                + f"\nRemove the stale override from the deployed environment, or add it to "
                f"{FLAG_VARIABLES['env']} / {FLAG_VARIABLES['org']} here so that it is checked.",
            )


@dataclass(frozen=True)
class EntitlementCheck:
    """One overridden entitlement field and what the service must report for it."""

    name: str
    """``seat_limit``, ``features`` or ``usage_caps.<cap>``."""
    expected: object
    """The value; for ``features``, the tuple of features the service must include."""
    sources: str
    """The layers that set it: ``org``, ``env`` or both."""

    @property
    def item_name(self) -> str:
        """``entitlement usage cap api_calls``: no dots, which pytest's report would turn into ``::``."""
        return "entitlement " + self.name.replace("usage_caps.", "usage cap ")


class EntitlementItem(ReportItem):
    """One overridden entitlement field: the most specific override wins, features are a union."""

    def __init__(self, *, expectation: EntitlementCheck, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.expectation = expectation

    def verify(self) -> None:
        """Compare the reported field with the configured overlay."""
        entitlements = self.fetched()
        check = self.expectation
        if check.name == "features":
            reported = entitlements.get("features")
            have = {f for f in reported if isinstance(f, str)} if isinstance(reported, list) else set()
            wanted = check.expected if isinstance(check.expected, tuple) else ()
            missing = [feature for feature in wanted if feature not in have]
            if missing:
                summary = f"entitlement features: {', '.join(missing)} not in the reported features"
                raise CheckFailed(
                    summary,
                    f"{summary} {shown(reported)}\nexpected every override feature ({check.sources}): "
                    f"{shown(list(wanted))}\n{self.hint()}",
                )
            return
        if check.name == "seat_limit":
            present, reported = "seat_limit" in entitlements, entitlements.get("seat_limit")
        else:
            caps = entitlements.get("usage_caps")
            cap = check.name.removeprefix("usage_caps.")
            present = isinstance(caps, dict) and cap in caps
            reported = caps.get(cap) if isinstance(caps, dict) else None
        if present and same(check.expected, reported):
            return
        told = shown(reported) if present else "nothing"
        summary = f"entitlement {check.name}: expected {shown(check.expected)} from {check.sources}, the service reports {told}"
        raise CheckFailed(summary, f"{summary}\n{self.hint()}")

    def hint(self) -> str:
        """What to compare next."""
        variables = " and ".join(
            ENTITLEMENT_VARIABLES[layer] for layer in self.expectation.sources.split("+")
        )
        return f"The service does not apply {variables} as configured here: compare the deployed environment's value."


def entitlement_expectations(overrides: Overrides, organization_id: str | None) -> list[EntitlementCheck]:
    """The overridden fields for the organization, most specific layer first."""
    configured = configured_entitlements(overrides, organization_id)
    checks = []
    if configured.seat_limit is not None:
        limit, source = configured.seat_limit
        checks.append(EntitlementCheck("seat_limit", limit, source))
    if configured.features:
        sources = "+".join(layer for layer in ("org", "env") if layer in configured.features.values())
        checks.append(EntitlementCheck("features", tuple(configured.features), sources))
    for cap, (value, source) in sorted(configured.usage_caps.items()):
        checks.append(EntitlementCheck(f"usage_caps.{cap}", value, source))
    return checks


def flag_checks(overrides: Overrides, organization_id: str | None) -> tuple[Check, ...]:
    """One check per overridden flag (flag-key order), then drift; a placeholder when none is set.

    Org overrides without an organization cannot be resolved: one check that needs the
    organization stands in for them.
    """
    if overrides.is_empty_flags:
        return (Check(FLAGS_MARK, FLAG_PLACEHOLDER),)
    expected = resolve_flags({}, overrides, organization_id)
    checks = [
        Check(FLAGS_MARK, f"flag {key}", (BASE_URL,), subject=(key, flag)) for key, flag in expected.items()
    ]
    if overrides.flags_org and not organization_id:
        checks.append(Check(FLAGS_MARK, ORG_FLAG_PLACEHOLDER, (BASE_URL, ORGANIZATION)))
    checks.append(Check(FLAGS_MARK, "drift", (BASE_URL,), subject=expected))
    return tuple(checks)


def entitlement_checks(overrides: Overrides, organization_id: str | None) -> tuple[Check, ...]:
    """One check per overridden entitlement field; a placeholder when none is set."""
    if overrides.is_empty_entitlements:
        return (Check(ENTITLEMENTS_MARK, ENTITLEMENT_PLACEHOLDER),)
    return tuple(
        Check(ENTITLEMENTS_MARK, expectation.item_name, (BASE_URL, ORGANIZATION), subject=expectation)
        for expectation in entitlement_expectations(overrides, organization_id)
    )
