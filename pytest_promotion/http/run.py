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

from pytest_promotion.http.client import Call, Credentials, Exchange, Transport
from pytest_promotion.http.endpoints import Endpoint, PolicyConfig, SmokeConfig
from pytest_promotion.http.store import ExchangeStore
from pytest_promotion.overrides.config import Overrides
from pytest_promotion.redact import Redactor, mask_url

READINESS_KEY = "promotion:readiness"
NO_BASE_URL = "no base URL: pass --base-url, or set PYTEST_BASE_URL or SMOKE_BASE_URL"
NO_ORGANIZATION = "needs an organization: set SMOKE_ORGANIZATION_ID"
ADMIN_VARIABLES = "LAUNCH_ADMIN_BEARER_TOKEN or LAUNCH_ADMIN_SESSION_TOKEN"


@dataclass(frozen=True)
class Target:
    """What the smoke items check: where, as whom, for which organization, and how."""

    base_url: str | None
    base_url_source: str
    organization_id: str | None
    admin: Credentials
    config: SmokeConfig
    overrides: Overrides
    member: Credentials = field(default_factory=Credentials)
    policy: PolicyConfig = field(default_factory=PolicyConfig)

    @property
    def shown_url(self) -> str:
        """The base URL with any password masked."""
        return mask_url(self.base_url) if self.base_url else "(none)"


@dataclass(frozen=True)
class Readiness:
    """The outcome of waiting for the health endpoint."""

    healthy: bool
    detail: str


@dataclass
class SmokeRun:
    """Per-process state of the smoke gate, kept on ``config.stash``."""

    target: Target
    store: ExchangeStore
    redactor: Redactor
    selected: list[tuple[str, Call]] = field(default_factory=list)
    """The selected smoke items' node ids and requests, known once collection is done."""
    _transport: Transport | None = None
    _executor: ThreadPoolExecutor | None = None
    _futures: dict[str, Future[Exchange]] = field(default_factory=dict)
    _readiness: Future[Readiness] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _started: bool = False

    # -- what an item needs -------------------------------------------------------------------

    def missing(self, endpoint: Endpoint) -> str | None:
        """Why an entry cannot run here (a skip reason naming the variable), or None."""
        if self.target.base_url is None:
            return NO_BASE_URL
        if "auth" in endpoint.requires and self.target.admin.kind is None:
            return f"needs admin credentials: set {ADMIN_VARIABLES}"
        if "organization_id" in endpoint.requires and not self.target.organization_id:
            return NO_ORGANIZATION
        return None

    def call_for(self, endpoint: Endpoint) -> Call:
        """The request an entry sends: its parameters filled in, credentials only when it needs them."""
        return Call(
            method=endpoint.method,
            path=endpoint.path,
            params=endpoint.query(self.target.organization_id),
            headers=self.target.admin.headers() if "auth" in endpoint.requires else {},
            follow_redirects=endpoint.follow_redirects,
            json_keys=endpoint.json_keys,
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
                )
            return self._transport

    # -- readiness ----------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        """Whether the service answered its health endpoint in time (always, without --wait-healthy)."""
        seconds = self.target.config.wait_healthy
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
            result = self._poll_health(seconds)
            self.store.put(READINESS_KEY, {"healthy": result.healthy, "detail": result.detail})
        else:
            data = self.store.wait(READINESS_KEY, seconds + self.target.config.timeout + 30)
            result = (
                Readiness(bool(data["healthy"]), str(data["detail"]))
                if data is not None
                else self._poll_health(seconds)
            )
        self._readiness.set_result(result)

    def _poll_health(self, seconds: float) -> Readiness:
        path = self.target.config.health_path
        deadline = time.monotonic() + seconds
        attempts = 0
        while True:
            attempts += 1
            exchange = self.transport.call(Call("GET", path), retry=False)
            if exchange.status is not None and 200 <= exchange.status < 300:
                return Readiness(
                    True, f"GET {path} answered {exchange.status} after {plural_attempts(attempts)}"
                )
            last = exchange.error or f"answered {exchange.status}"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Readiness(
                    False,
                    f"{self.target.shown_url} never became healthy: GET {path} gave no 2xx within "
                    f"{seconds:g} s ({plural_attempts(attempts)}; last: {last})",
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

    def _drain(self, calls: list[tuple[str, Call]]) -> None:
        for key, call in calls:
            if self.store.claim(key):
                future: Future[Exchange] = Future()
                with self._lock:
                    self._futures[key] = future
                try:
                    future.set_result(self._send(key, call))
                except BaseException as exc:  # the item reports it as an error
                    future.set_exception(exc)

    def _send(self, key: str, call: Call) -> Exchange:
        ready = self.readiness()
        exchange = (
            self.transport.call(call)
            if ready.healthy
            else Exchange(None, 0.0, 0, error=f"not sent: {ready.detail}")
        )
        self.store.put(key, exchange.to_json())
        return exchange

    def exchange(self, key: str, call: Call) -> Exchange:
        """The item's exchange: sent ahead here, sent by another worker, or sent now."""
        with self._lock:
            future = self._futures.get(key)
        if future is not None:
            return future.result()
        if not self._started or self.store.claim(key):
            return self._send(key, call)
        data = self.store.wait(key, self._wait_limit())
        return Exchange.from_json(data) if data is not None else self._send(key, call)

    def _wait_limit(self) -> float:
        config = self.target.config
        one_call: float = (config.retries + 1) * config.timeout + config.backoff * (2**config.retries)
        return (
            float(config.wait_healthy or 0) + one_call * (1 + len(config.endpoints) / config.concurrency) + 5
        )

    def close(self) -> None:
        """Stop the workers and close the connections."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        if self._transport is not None:
            self._transport.close()


def plural_attempts(count: int) -> str:
    """``1 attempt``, ``3 attempts``."""
    return f"{count} attempt" if count == 1 else f"{count} attempts"
