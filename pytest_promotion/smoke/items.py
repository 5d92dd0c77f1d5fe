"""``pyproject.toml::smoke::GET /api/health`` and ``pyproject.toml::perf_budget::…``.

Failures are a few plain lines — method, path, status, expected status, elapsed ms, at most 500
characters of the body, and what to do next — never a traceback. The checks are planned from the
configuration alone (:func:`smoke_checks`, :func:`budget_checks`), and the same plan builds the
items and the launch gate's expected set.
"""

from __future__ import annotations

import statistics

import pytest

from pytest_promotion.core.checks import Check, CheckFailed
from pytest_promotion.core.text import plural
from pytest_promotion.service.client import Call, Exchange
from pytest_promotion.service.endpoints import Endpoint, SmokeConfig
from pytest_promotion.service.items import GeneratedItem, Group
from pytest_promotion.service.needs import ADMIN, BASE_URL, ORGANIZATION, REVISION
from pytest_promotion.service.run import ServiceRun

SMOKE, BUDGET = "smoke", "perf_budget"


def needs_of(endpoint: Endpoint) -> tuple[str, ...]:
    """What an entry needs: a base URL always, admin credentials and an organization when it says so."""
    return (
        BASE_URL,
        *((ADMIN,) if "auth" in endpoint.requires else ()),
        *((ORGANIZATION,) if "organization_id" in endpoint.requires else ()),
    )


def budget_of(endpoint: Endpoint, default: float | None) -> float | None:
    """The entry's latency budget: its own ``budget_ms``, else the default one."""
    return endpoint.budget_ms if endpoint.budget_ms is not None else default


def smoke_checks(config: SmokeConfig) -> tuple[Check, ...]:
    """The readiness checks (``--wait-healthy``, the revision source), then one check per entry, in order.

    A configured revision source is always planned, so the launch gate expects it and fails when
    no expected revision is given.
    """
    checks = []
    if config.wait_healthy is not None:
        checks.append(Check(SMOKE, f"wait healthy GET {config.health_path}", (BASE_URL,)))
    if config.revision is not None:
        checks.append(
            Check(SMOKE, f"wait revision {config.revision.where}", (BASE_URL, REVISION), subject=REVISION)
        )
    checks += [Check(SMOKE, e.name, needs_of(e), subject=e) for e in config.endpoints]
    return tuple(checks)


def budget_checks(config: SmokeConfig) -> tuple[Check, ...]:
    """One check per entry that has a budget (every entry when a default budget is set)."""
    return tuple(
        Check(BUDGET, e.name, needs_of(e), subject=(e, budget))
        for e in config.endpoints
        if (budget := budget_of(e, config.default_budget_ms)) is not None
    )


def verdict(endpoint: Endpoint, exchange: Exchange) -> CheckFailed | None:
    """The failure an exchange amounts to for this entry, or None when it passes."""
    what = f"{endpoint.method} {endpoint.path}"
    expected = " or ".join(str(status) for status in endpoint.expect)
    timing = f"{exchange.elapsed_ms:.0f} ms, {plural(exchange.attempts, 'attempt')}"
    if exchange.status is None or exchange.error:
        reason = exchange.error or "no answer"
        return CheckFailed(
            f"{what}: {reason}",
            f"{what}: {reason} (expected {expected}; {timing})\n"
            "Check that the service is up and reachable from this runner; "
            "--wait-healthy SECONDS waits for a deploy to come up first.",
        )
    lines: list[str] = []
    if exchange.status not in endpoint.expect:
        summary = f"{what} answered {exchange.status}, expected {expected}"
        lines.append(f"{summary} ({timing})")
        if exchange.location and 300 <= exchange.status < 400:
            lines.append(
                f"redirect to {exchange.location} was not followed: set follow_redirects = true on this "
                f"entry, or expect = [{exchange.status}]"
            )
    elif exchange.not_json:
        summary = f"{what} answered {exchange.status} but not with a JSON object"
        lines.append(f"{summary}; the entry requires keys {', '.join(endpoint.json_keys)} ({timing})")
    elif exchange.missing_json:
        summary = f"{what} answered {exchange.status} without {', '.join(exchange.missing_json)}"
        lines.append(f"{summary} in its JSON body ({timing})")
    elif exchange.mismatches:
        summary = f"{what} answered {exchange.status}, but {exchange.mismatches[0]}"
        lines.append(f"{what} answered {exchange.status} ({timing}), but:")
        lines += [f"  {line}" for line in exchange.mismatches]
    else:
        return None
    if exchange.body:
        lines.append(f"body: {exchange.body}")
    lines.append(
        "Check the service's logs for this endpoint; if the answer is intended, change the entry in "
        "[tool.promotion.smoke]."
    )
    return CheckFailed(summary, "\n".join(lines))


class ReadinessItem(GeneratedItem):
    """``--wait-healthy``: polls the health endpoint until it answers 2xx or the deadline passes."""

    def runtest(self) -> None:
        """Fail when the service never became healthy."""
        ready = self.run.readiness()
        if not ready.healthy and ready.revision is None:
            raise CheckFailed(ready.detail, ready.detail + "\nEvery smoke item fails fast until it does.")


class RevisionItem(GeneratedItem):
    """``--expect-revision``: N answers in a row report the expected revision, before anything else."""

    def runtest(self) -> None:
        """Fail when the deployed revision never matched (or the service never became healthy)."""
        ready = self.run.readiness()
        if ready.revision is None:
            if not ready.healthy:
                raise CheckFailed(f"revision not checked: {ready.detail}", ready.detail)
            return
        self.user_properties.append(("revision", self.run.target.expected_revision or ""))
        if not ready.healthy:
            raise CheckFailed(
                ready.revision,
                ready.revision + "\nEvery other check fails fast until the expected revision is deployed; "
                "wait longer with --wait-healthy SECONDS, or check which revision the deploy shipped.",
            )
        self.add_report_section("call", "promotion", ready.revision)


class SmokeItem(GeneratedItem):
    """One endpoint: answers with an expected status (and the JSON keys the entry names)."""

    def ahead(self) -> Call | None:
        """The entry's request: sent ahead, concurrently with the other selected entries."""
        runnable = not any(mark.name == "skip" for mark in self.iter_markers())
        return self.run.call_for(self.endpoint) if self.endpoint is not None and runnable else None

    def verify(self) -> None:
        """Take the exchange sent ahead (or send it now) and judge it."""
        assert self.endpoint is not None
        self.run.prefetch(self.run.selected)
        exchange = self.run.exchange(self.nodeid, self.run.call_for(self.endpoint))
        if exchange.status is not None:
            self.user_properties.append(("latency_ms", exchange.elapsed_ms))
            budget = budget_of(self.endpoint, self.run.target.config.default_budget_ms)
            if budget is not None:  # the latency table shows it under -m smoke too
                self.user_properties.append(("budget_ms", budget))
        failure = verdict(self.endpoint, exchange)
        if exchange.retried:
            self.record_retries(exchange, passed=failure is None)
        if failure is not None:
            raise failure

    def record_retries(self, exchange: Exchange, *, passed: bool) -> None:
        """Say that the verdict took retries: properties, a report section, and under strict mode a failure."""
        statuses = exchange.attempt_list()
        self.user_properties += [
            ("attempts", exchange.attempts),
            ("attempt_statuses", statuses),
            ("total_ms", exchange.total_ms),
        ]
        if not passed:
            return
        endpoint = self.endpoint
        assert endpoint is not None
        said = f"{endpoint.method} {endpoint.path} passed after {exchange.attempts} attempts ({statuses})"
        self.add_report_section("call", "promotion", said)
        if self.run.target.config.strict_retries:
            raise CheckFailed(
                f"{said}: strict retries",
                f"{said} in {exchange.total_ms:.0f} ms; with --promotion-strict-retries (strict_retries) "
                "a pass that needed retries is a failure.\n"
                "Find why the service answered that way (a deploy still rolling out, an overloaded "
                "instance), or drop strict_retries if transient answers are accepted here.",
            )


class BudgetItem(GeneratedItem):
    """One endpoint's latency budget: the median of N samples, after one warm-up, within budget."""

    def __init__(self, *, budget_ms: float, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.budget_ms = budget_ms
        self.user_properties.append(("budget_ms", budget_ms))

    def verify(self) -> None:
        """Warm up, sample one request at a time, compare the median with the budget."""
        endpoint = self.endpoint
        assert endpoint is not None
        call = self.run.call_for(endpoint)
        transport = self.run.transport
        warmup = transport.call(call)
        failure = verdict(endpoint, warmup)
        if failure is not None:
            raise CheckFailed(f"warm-up: {failure.summary}", f"warm-up request failed:\n{failure.text}")
        samples = []
        for number in range(1, self.run.target.config.samples + 1):
            exchange = transport.call(call)
            failure = verdict(endpoint, exchange)
            if failure is not None:
                raise CheckFailed(f"sample {number}: {failure.summary}", f"sample {number}:\n{failure.text}")
            samples.append(exchange.elapsed_ms)
        median = statistics.median(samples)
        shown = ", ".join(f"{sample:.0f}" for sample in samples)
        self.user_properties += [("latency_ms", median), ("latency_samples_ms", shown)]
        if median > self.budget_ms:
            summary = f"{endpoint.method} {endpoint.path}: median {median:.0f} ms over its {self.budget_ms:g} ms budget"
            raise CheckFailed(
                summary,
                f"{summary}\nsamples (ms): {shown}; warm-up {warmup.elapsed_ms:.0f} ms\n"
                "Find what made this endpoint slower, or raise budget_ms for it in [tool.promotion.smoke] "
                "if the new latency is accepted.",
            )


def smoke_group(run: ServiceRun, checks: tuple[Check, ...]) -> Group:
    """``pyproject.toml::smoke``."""

    def build(parent: pytest.Collector, check: Check) -> pytest.Item:
        if check.subject is None:
            return ReadinessItem.from_parent(parent, name=check.name, check=check, run=run)
        if check.subject == REVISION:
            return RevisionItem.from_parent(parent, name=check.name, check=check, run=run)
        return SmokeItem.from_parent(parent, name=check.name, check=check, run=run, endpoint=check.subject)

    return Group(SMOKE, checks, build)


def budget_group(run: ServiceRun, checks: tuple[Check, ...]) -> Group:
    """``pyproject.toml::perf_budget``."""

    def build(parent: pytest.Collector, check: Check) -> pytest.Item:
        endpoint, budget = check.subject
        return BudgetItem.from_parent(
            parent, name=check.name, check=check, run=run, endpoint=endpoint, budget_ms=budget
        )

    return Group(BUDGET, checks, build)
