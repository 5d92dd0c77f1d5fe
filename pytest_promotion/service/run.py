"""A smoke run's state: the target, the pooled transport, and requests sent ahead of their items.

The selected smoke items' requests go out concurrently (bounded by ``concurrency``) as soon as the
first of them runs, so 100 endpoints at 200 ms cost about ``100 / concurrency`` times 200 ms, and each
item still reports its own verdict. With ``--wait-healthy`` the health endpoint is polled first and
nothing else is sent until it answers 2xx or the deadline passes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from pytest_promotion.core.redact import Redactor, mask_url
from pytest_promotion.core.text import plural
from pytest_promotion.service.assertions import at_path
from pytest_promotion.service.client import Call, Credentials, Exchange, Transport
from pytest_promotion.service.endpoints import Endpoint, SmokeConfig
from pytest_promotion.service.needs import Available
from pytest_promotion.service.store import ExchangeStore

READINESS_KEY = "promotion:readiness"


@dataclass(frozen=True)
class Target:
    """What the remote checks talk to: where, as whom, for which organization, and how."""

    base_url: str | None = field(repr=False)
    """May hold ``user:password@``: never shown in a repr (``shown_url`` masks it)."""
    base_url_source: str
    organization_id: str | None
    admin: Credentials
    config: SmokeConfig
    member: Credentials = field(default_factory=Credentials)
    expected_revision: str | None = None
    """The revision the service must report before anything else is sent."""

    @property
    def available(self) -> Available:
        """Which prerequisites of the remote checks this target has."""
        return Available(
            base_url=self.base_url is not None,
            admin=self.admin.kind is not None,
            member=self.member.kind is not None,
            organization=bool(self.organization_id),
            revision=bool(self.expected_revision),
        )

    @property
    def shown_url(self) -> str:
        """The base URL with any password masked."""
        return mask_url(self.base_url) if self.base_url else "(none)"


@dataclass(frozen=True)
class Readiness:
    """The outcome of waiting for the health endpoint."""

    healthy: bool
    detail: str
    revision: str | None = None
    """What the revision wait saw, when there was one (``healthy`` is False when it failed)."""


@dataclass
class ServiceRun:
    """Per-process state of the remote checks: the pooled transport and the shared exchanges."""

    target: Target
    store: ExchangeStore
    redactor: Redactor
    selected: list[tuple[str, Call]] = field(default_factory=list, repr=False)
    """The selected items' node ids and the requests sent ahead for them, known after collection."""
    _transport: Transport | None = field(default=None, repr=False)
    _executor: ThreadPoolExecutor | None = field(default=None, repr=False)
    _futures: dict[str, Future[Exchange]] = field(default_factory=dict, repr=False)
    _readiness: Future[Readiness] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _started: bool = False

    def call_for(self, endpoint: Endpoint) -> Call:
        """The request an entry sends: its parameters filled in, credentials only when it needs them."""
        credentials = self.target.admin.headers() if "auth" in endpoint.requires else {}
        return Call(
            method=endpoint.method,
            path=endpoint.path,
            params=endpoint.query(self.target.organization_id),
            headers={**endpoint.request_headers(), **credentials},
            follow_redirects=endpoint.follow_redirects,
            json_keys=endpoint.json_keys,
            content=endpoint.content(),
            timeout=endpoint.timeout_ms / 1000 if endpoint.timeout_ms is not None else None,
            retry=endpoint.retry,
            expect=endpoint.expectations(),
        )

    @property
    def transport(self) -> Transport:
        """The session's pooled client, opened on first use."""
        with self._lock:
            if self._transport is None:
                assert self.target.base_url is not None
                config = self.target.config
                self._transport = Transport.open(
                    self.target.base_url,
                    timeout=config.timeout,
                    concurrency=config.concurrency,
                    retries=config.retries,
                    backoff=config.backoff,
                    redactor=self.redactor,
                    max_body=config.max_body_bytes,
                )
            return self._transport

    # -- readiness ----------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        """Whether the service answered its health endpoint in time (always, without --wait-healthy)."""
        seconds = self.target.config.wait_healthy
        if self.waits_for_revision:
            seconds = seconds or 0.0
        if seconds is None or self.target.base_url is None:
            return Readiness(True, "not waited for")
        with self._lock:
            if self._readiness is None:
                self._readiness = Future()
                mine = self.store.claim(READINESS_KEY)
                threading.Thread(target=self._resolve_readiness, args=(mine, seconds), daemon=True).start()
        return self._readiness.result()

    def _resolve_readiness(self, mine: bool, seconds: float) -> None:
        assert self._readiness is not None
        if mine:
            result = self._poll(seconds)
            self.store.put(
                READINESS_KEY,
                {"healthy": result.healthy, "detail": result.detail, "revision": result.revision},
            )
        else:
            data = self.store.wait(READINESS_KEY, seconds + self.target.config.timeout * 4 + 30)
            result = (
                Readiness(bool(data["healthy"]), str(data["detail"]), data.get("revision"))
                if data is not None
                else self._poll(seconds)
            )
        self._readiness.set_result(result)

    @property
    def waits_for_revision(self) -> bool:
        """True when a revision source is configured and an expected revision given."""
        return self.target.config.revision is not None and bool(self.target.expected_revision)

    def _poll(self, seconds: float) -> Readiness:
        """Health first (with --wait-healthy), then the revision, within one deadline."""
        deadline = time.monotonic() + seconds
        health = (
            self._poll_health(seconds)
            if self.target.config.wait_healthy is not None
            else Readiness(True, "not waited for")
        )
        if not health.healthy or not self.waits_for_revision:
            return health
        revision = self._poll_revision(deadline, seconds)
        return Readiness(revision[0], health.detail if revision[0] else revision[1], revision[1])

    def _poll_revision(self, deadline: float, seconds: float) -> tuple[bool, str]:
        """Poll until ``consecutive`` answers in a row report the expected revision, or the deadline."""
        source = self.target.config.revision
        expected = self.target.expected_revision
        assert source is not None
        assert expected is not None
        call = Call("GET", source.path, keep_json=source.json_path is not None, keep_header=source.header)
        recent: list[str] = []
        began = time.monotonic()
        while True:
            exchange = self.transport.call(call, retry=False)
            recent = [*recent, self._revision_of(exchange)][-source.consecutive :]
            matched = sum(1 for seen in recent if seen == expected)
            if len(recent) == source.consecutive and matched == source.consecutive:
                waited = time.monotonic() - began
                return True, (
                    f"{plural(source.consecutive, 'answer')} in a row from {source.where} report "
                    f"{expected} (after {waited:.1f} s)"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0 and len(recent) == source.consecutive:
                other = next(seen for seen in reversed(recent) if seen != expected)
                stale = source.consecutive - matched
                return False, self.redactor.scrub(
                    f"{stale} of {source.consecutive} answers still report {other} after {seconds:g} s, "
                    f"expected {expected} ({source.where}): the rollout has not finished"
                )
            time.sleep(max(0.0, min(0.5, remaining)))

    def _revision_of(self, exchange: Exchange) -> str:
        """The revision an answer reports, or a description of why it reports none."""
        source = self.target.config.revision
        assert source is not None
        if exchange.status is None or exchange.error:
            return f"no answer ({exchange.error or 'none'})"
        if source.header is not None:
            return exchange.header if exchange.header is not None else f"no {source.header} header"
        found = at_path(exchange.document, source.json_path or "")
        if isinstance(found, str | int | float) and not isinstance(found, bool):
            return self.redactor.cut(str(found), 80)
        return f"no {source.json_path} in the answer ({exchange.status})"

    def _poll_health(self, seconds: float) -> Readiness:
        path = self.target.config.health_path
        deadline = time.monotonic() + seconds
        attempts = 0
        while True:
            attempts += 1
            exchange = self.transport.call(Call("GET", path), retry=False)
            if exchange.status is not None and 200 <= exchange.status < 300:
                return Readiness(
                    True, f"GET {path} answered {exchange.status} after {plural(attempts, 'attempt')}"
                )
            last = exchange.error or f"answered {exchange.status}"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Readiness(
                    False,
                    f"{self.target.shown_url} never became healthy: GET {path} gave no 2xx within "
                    f"{seconds:g} s ({plural(attempts, 'attempt')}; last: {last})",
                )
            time.sleep(min(0.5, remaining))

    # -- exchanges ----------------------------------------------------------------------------

    def prefetch(self, calls: Sequence[tuple[str, Call]]) -> None:
        """Send the selected items' requests ahead of them, each claimed once across workers.

        Each of ``concurrency`` threads claims the next unclaimed request when it is free, so
        xdist workers share the list instead of the first one taking it all.
        """
        with self._lock:
            if self._started or self.target.config.concurrency == 1:
                return
            self._started = True
            self._executor = ThreadPoolExecutor(self.target.config.concurrency, "promotion-smoke")
            for _ in range(self.target.config.concurrency):
                self._executor.submit(self._drain, list(calls))

    def _claim(self, key: str) -> Future[Exchange] | None:
        """Claim ``key`` for this process and register its future in one step (None: taken).

        Under the lock, so an item never finds a claim without the future it will be answered on.
        """
        with self._lock:
            if key in self._futures or not self.store.claim(key):
                return None
            future: Future[Exchange] = Future()
            self._futures[key] = future
            return future

    def _drain(self, calls: list[tuple[str, Call]]) -> None:
        for key, call in calls:
            future = self._claim(key)
            if future is not None:
                future.set_result(self._send(key, call))

    def _send(self, key: str, call: Call) -> Exchange:
        """Send and publish; an unexpected error is published too, so no waiter waits it out."""
        try:
            ready = self.readiness()
            exchange = (
                self.transport.call(call)
                if ready.healthy
                else Exchange(None, 0.0, 0, error=f"not sent: {ready.detail}")
            )
        except Exception as exc:  # reported as the item's verdict, not raised in a thread
            reason = self.redactor.scrub(f"{type(exc).__name__}: {exc}")
            exchange = Exchange(None, 0.0, 1, error=f"could not be sent ({reason})")
        self.store.put(key, exchange.to_json())
        return exchange

    def exchange(self, key: str, call: Call) -> Exchange:
        """The item's exchange: sent ahead here, sent by another worker, or sent now."""
        with self._lock:
            future = self._futures.get(key)
        if future is not None:
            return future.result()
        if not self._started:
            return self._send(key, call)
        mine = self._claim(key)
        if mine is not None:
            mine.set_result(self._send(key, call))
            return mine.result()
        with self._lock:
            future = self._futures.get(key)
        if future is not None:  # claimed by this process's own threads a moment ago
            return future.result()
        data = self.store.wait(key, self._wait_limit())
        return Exchange.from_json(data) if data is not None else self._send(key, call)

    def _wait_limit(self) -> float:
        config = self.target.config
        longest = max([config.timeout, *(e.timeout_ms / 1000 for e in config.endpoints if e.timeout_ms)])
        one_call: float = (config.retries + 1) * longest + config.backoff * (2**config.retries)
        return (
            float(config.wait_healthy or 0) + one_call * (1 + len(config.endpoints) / config.concurrency) + 5
        )

    def close(self) -> None:
        """Stop the workers and close the connections."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        if self._transport is not None:
            self._transport.close()
