"""Pytest nodes of the smoke gate: ``pyproject.toml::smoke::GET /api/health`` and friends.

The endpoint list lives in ``pyproject.toml``, so that file is the collector: its ``smoke`` and
``perf_budget`` children hold one item per entry, in the order written, with the same ids on every
xdist worker. Failures are a few plain lines — method, path, status, expected status, elapsed ms,
at most 500 characters of the body, and what to do next — never a traceback.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest._code.code import ExceptionInfo, TerminalRepr

from pytest_promotion.failures import FailureRepr
from pytest_promotion.http.client import Exchange
from pytest_promotion.http.endpoints import Endpoint
from pytest_promotion.http.run import NO_BASE_URL, SmokeRun, plural_attempts

SMOKE_MARK = "smoke"
BUDGET_MARK = "perf_budget"


class CheckFailed(Exception):
    """A generated check's verdict: ``text`` is the whole report, ``summary`` its one line."""

    def __init__(self, summary: str, text: str) -> None:
        super().__init__(summary)
        self.summary = summary
        self.text = text


@functools.lru_cache(maxsize=8)
def _lines(pyproject: Path) -> tuple[str, ...]:
    try:
        return tuple(pyproject.read_text(encoding="utf-8").splitlines())
    except OSError:
        return ()


def entry_line(pyproject: Path, endpoint: Endpoint) -> int:
    """The 0-based line of an entry's path in ``[tool.promotion.smoke]``, for ``reportinfo``."""
    lines = _lines(pyproject)  # read once per run, not once per item
    start = next((n for n, line in enumerate(lines) if line.strip() == "[tool.promotion.smoke]"), 0)
    quoted = (f'"{endpoint.path}"', f"'{endpoint.path}'")
    return next((n for n in range(start, len(lines)) if any(q in lines[n] for q in quoted)), start)


def verdict(endpoint: Endpoint, exchange: Exchange) -> CheckFailed | None:
    """The failure an exchange amounts to for this entry, or None when it passes."""
    what = f"{endpoint.method} {endpoint.path}"
    expected = " or ".join(str(status) for status in endpoint.expect)
    timing = f"{exchange.elapsed_ms:.0f} ms, {plural_attempts(exchange.attempts)}"
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
    else:
        return None
    if exchange.body:
        lines.append(f"body: {exchange.body}")
    lines.append(
        "Check the service's logs for this endpoint; if the answer is intended, change the entry in "
        "[tool.promotion.smoke]."
    )
    return CheckFailed(summary, "\n".join(lines))


class GeneratedItem(pytest.Item):
    """Shared reporting of the smoke and budget items."""

    def __init__(self, *, run: SmokeRun, endpoint: Endpoint | None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run
        self.endpoint = endpoint

    def repr_failure(
        self, excinfo: ExceptionInfo[BaseException], style: str | None = None
    ) -> str | TerminalRepr:
        """Our verdicts as plain lines; anything else is a real error with a traceback."""
        if isinstance(excinfo.value, CheckFailed):
            path, line, _ = self.reportinfo()
            return FailureRepr(excinfo.value.text, str(path), int(line or 0) + 1, excinfo.value.summary)
        return super().repr_failure(excinfo, style=style)  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at the entry in ``pyproject.toml``."""
        line = entry_line(self.path, self.endpoint) if self.endpoint is not None else 0
        return self.path, line, self.name

    def _await_health(self) -> None:
        """Fail fast, with the readiness verdict, when ``--wait-healthy`` gave up on the service."""
        ready = self.run.readiness()
        if not ready.healthy:
            raise CheckFailed(f"{self.name}: not sent, the service never became healthy", ready.detail)

    def _require(self) -> Endpoint:
        assert self.endpoint is not None
        self._await_health()
        return self.endpoint


class ReadinessItem(GeneratedItem):
    """``--wait-healthy``: polls the health endpoint until it answers 2xx or the deadline passes."""

    def runtest(self) -> None:
        """Fail when the service never became healthy."""
        ready = self.run.readiness()
        if not ready.healthy:
            raise CheckFailed(ready.detail, ready.detail + "\nEvery smoke item fails fast until it does.")


class SmokeItem(GeneratedItem):
    """One endpoint: answers with an expected status (and the JSON keys the entry names)."""

    def runtest(self) -> None:
        """Take the exchange sent ahead (or send it now) and judge it."""
        self.run.prefetch(self.run.selected)
        endpoint = self._require()
        exchange = self.run.exchange(self.nodeid, self.run.call_for(endpoint))
        if exchange.status is not None:
            self.user_properties.append(("latency_ms", exchange.elapsed_ms))
        failure = verdict(endpoint, exchange)
        if failure is not None:
            raise failure


class BudgetItem(GeneratedItem):
    """One endpoint's latency budget: the median of N samples, after one warm-up, within budget."""

    def __init__(self, *, budget_ms: float, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.budget_ms = budget_ms

    def runtest(self) -> None:
        """Warm up, sample one request at a time, compare the median with the budget."""
        endpoint = self._require()
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
        self.user_properties += [
            ("latency_ms", median),
            ("budget_ms", self.budget_ms),
            ("latency_samples_ms", shown),
        ]
        if median > self.budget_ms:
            summary = f"{endpoint.method} {endpoint.path}: median {median:.0f} ms over its {self.budget_ms:g} ms budget"
            raise CheckFailed(
                summary,
                f"{summary}\nsamples (ms): {shown}; warm-up {warmup.elapsed_ms:.0f} ms\n"
                "Find what made this endpoint slower, or raise budget_ms for it in [tool.promotion.smoke] "
                "if the new latency is accepted.",
            )


def budget_of(endpoint: Endpoint, default: float | None) -> float | None:
    """The entry's latency budget: its own ``budget_ms``, else the default one."""
    return endpoint.budget_ms if endpoint.budget_ms is not None else default


def marked(item: pytest.Item, mark: str, missing: str | None) -> pytest.Item:
    """Mark an item, and skip it (reported at its entry) when its requirement is not configured."""
    item.add_marker(mark)
    if missing is not None:
        item.add_marker(pytest.mark.skip(reason=missing))
    return item


class SmokeCollector(pytest.Collector):
    """``pyproject.toml::smoke``: the readiness check (with --wait-healthy), then one item per entry."""

    def __init__(self, *, run: SmokeRun, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run

    def collect(self) -> Iterator[pytest.Item]:
        """Items in the order the entries are written."""
        config = self.run.target.config
        if config.wait_healthy is not None:
            readiness = ReadinessItem.from_parent(
                self, name=f"wait healthy GET {config.health_path}", run=self.run, endpoint=None
            )
            readiness.add_marker(SMOKE_MARK)
            if self.run.target.base_url is None:
                readiness.add_marker(pytest.mark.skip(reason=NO_BASE_URL))
            yield readiness
        for endpoint in config.endpoints:
            item = SmokeItem.from_parent(self, name=endpoint.name, run=self.run, endpoint=endpoint)
            yield marked(item, SMOKE_MARK, self.run.missing(endpoint))


class BudgetCollector(pytest.Collector):
    """``pyproject.toml::perf_budget``: one item per entry that has a budget."""

    def __init__(self, *, run: SmokeRun, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run

    def collect(self) -> Iterator[pytest.Item]:
        """Items for entries with ``budget_ms`` (every entry when a default budget is set)."""
        config = self.run.target.config
        for endpoint in config.endpoints:
            budget = budget_of(endpoint, config.default_budget_ms)
            if budget is None:
                continue
            item = BudgetItem.from_parent(
                self, name=endpoint.name, run=self.run, endpoint=endpoint, budget_ms=budget
            )
            yield marked(item, BUDGET_MARK, self.run.missing(endpoint))


class PromotionFile(pytest.File):
    """``pyproject.toml``: the checks declared in ``[tool.promotion]`` that talk to the deployed app."""

    def __init__(self, *, run: SmokeRun, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run

    def collect(self) -> Iterator[pytest.Collector]:
        """The smoke, budget, access-policy, flag and entitlement groups."""
        # These build on this module.
        from pytest_promotion.overrides.items import (
            ENTITLEMENTS_MARK,
            FLAGS_MARK,
            EntitlementsCollector,
            FlagsCollector,
        )
        from pytest_promotion.policy.items import POLICY_MARK, PolicyCollector

        if self.run.target.config.endpoints:
            yield SmokeCollector.from_parent(self, name=SMOKE_MARK, run=self.run)
        if any(
            budget_of(e, self.run.target.config.default_budget_ms) for e in self.run.target.config.endpoints
        ):
            yield BudgetCollector.from_parent(self, name=BUDGET_MARK, run=self.run)
        if self.run.target.policy.endpoints:
            yield PolicyCollector.from_parent(self, name=POLICY_MARK, run=self.run)
        yield FlagsCollector.from_parent(self, name=FLAGS_MARK, run=self.run)
        yield EntitlementsCollector.from_parent(self, name=ENTITLEMENTS_MARK, run=self.run)
