"""One pooled HTTP client per session, and the request loop every check goes through.

Transient failures — a connection that could not be made or was dropped, 502, 503, 504 — are
retried with backoff, because a rolling deploy answers them for a few seconds; anything else is the
verdict at once. Redirects are never followed across origins, so credentials stay with the service
they were configured for. Bodies are scrubbed of secrets before anything keeps them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import SecretStr

from pytest_promotion.core.redact import Redactor, without_credentials

if TYPE_CHECKING:
    from pytest_promotion.settings import PromotionSettings

TRANSIENT_STATUS = frozenset({502, 503, 504})
BODY_CHARS = 500
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Credentials:
    """How one role authenticates: a bearer token wins over a session token."""

    bearer: SecretStr | None = None
    session: SecretStr | None = None
    cookie_name: str = "session_token"

    @classmethod
    def of(cls, settings: PromotionSettings, role: str) -> Credentials:
        """The ``admin`` or ``member`` credentials the settings hold (empty when none are set)."""
        return cls(
            getattr(settings, f"{role}_bearer_token"),
            getattr(settings, f"{role}_session_token"),
            settings.session_cookie,
        )

    @property
    def kind(self) -> str | None:
        """``bearer``, ``session``, or None when nothing is configured."""
        return "bearer" if self.bearer else "session" if self.session else None

    def headers(self) -> dict[str, str]:
        """The request headers that carry the credential."""
        if self.bearer:
            return {"Authorization": f"Bearer {self.bearer.get_secret_value()}"}
        if self.session:
            return {"Cookie": f"{self.cookie_name}={self.session.get_secret_value()}"}
        return {}


@dataclass(frozen=True)
class Call:
    """What to send, and what the check needs back."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    follow_redirects: bool = False
    json_keys: tuple[str, ...] = ()
    keep_json: bool = False
    """Keep the whole parsed JSON body (the override checks compare it field by field)."""


@dataclass(frozen=True)
class Exchange:
    """The outcome of one call, after retries: plain data, so xdist workers can share it as JSON."""

    status: int | None
    """The final status code; None when no answer came."""
    elapsed_ms: float
    """Time of the final attempt."""
    attempts: int
    body: str = ""
    """At most 500 characters of the body, secrets scrubbed."""
    error: str | None = None
    """Why no answer came (connection refused, timeout, refused redirect)."""
    location: str | None = None
    """Where a 3xx answer pointed."""
    missing_json: tuple[str, ...] = ()
    """Keys the entry requires that the JSON body lacks."""
    not_json: bool = False
    """The entry requires keys but the body is not a JSON object."""
    document: Any = None
    """The parsed JSON body, when the call asked to keep it and it parsed."""

    def to_json(self) -> dict[str, Any]:
        """The exchange as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Exchange:
        """Rebuild an exchange :meth:`to_json` wrote."""
        return cls(**{**data, "missing_json": tuple(data.get("missing_json", ()))})


@dataclass(frozen=True)
class Transport:
    """A pooled client plus the retry policy and redactor every call uses."""

    client: httpx.Client
    retries: int
    backoff: float
    redactor: Redactor

    @classmethod
    def open(
        cls,
        base_url: str,
        *,
        timeout: float,
        concurrency: int,
        retries: int,
        backoff: float,
        redactor: Redactor,
    ) -> Transport:
        """A client on ``base_url``: TLS verified, redirects not followed, URL credentials as Basic auth."""
        clean, basic = without_credentials(base_url)
        client = httpx.Client(
            base_url=clean,
            auth=basic,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": "pytest-promotion"},
        )
        return cls(client=client, retries=retries, backoff=backoff, redactor=redactor)

    def close(self) -> None:
        """Close the pooled connections."""
        self.client.close()

    def call(self, call: Call, *, retry: bool = True) -> Exchange:
        """Send ``call``, retrying transient failures, following same-origin redirects when asked."""
        url = _join(self.client.base_url, call.path)
        params: Mapping[str, str] | None = call.params
        for _hop in range(MAX_REDIRECTS + 1):
            exchange, response = self._with_retries(call, url, params, self.retries if retry else 0)
            if response is None or not (300 <= response.status_code < 400) or not call.follow_redirects:
                return exchange
            target = httpx.URL(urljoin(str(response.url), response.headers.get("location", "")))
            if _origin(target) != _origin(self.client.base_url):
                return replace(
                    exchange,
                    error=(
                        f"redirected to another origin ({self.redactor.scrub(_origin(target))}); "
                        f"not followed, so that credentials stay with {_origin(self.client.base_url)}"
                    ),
                )
            url, params = target, None
        return replace(exchange, error=f"more than {MAX_REDIRECTS} redirects")

    def _with_retries(
        self, call: Call, url: httpx.URL, params: Mapping[str, str] | None, retries: int
    ) -> tuple[Exchange, httpx.Response | None]:
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = self.client.request(call.method, url, params=params, headers=dict(call.headers))
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                elapsed = _ms(started)
                if attempt <= retries:
                    self._sleep(attempt)
                    continue
                return Exchange(None, elapsed, attempt, error=self._describe(exc)), None
            except httpx.HTTPError as exc:  # a read timeout, a protocol error: the answer itself
                return Exchange(None, _ms(started), attempt, error=self._describe(exc)), None
            elapsed = _ms(started)
            if response.status_code in TRANSIENT_STATUS and attempt <= retries:
                self._sleep(attempt, response.headers.get("retry-after"))
                continue
            return self._exchange(call, response, elapsed, attempt), response

    def _sleep(self, attempt: int, retry_after: str | None = None) -> None:
        delay = self.backoff * 2 ** (attempt - 1)
        if retry_after is not None and retry_after.isdigit():  # honour a short Retry-After
            delay = max(delay, min(float(retry_after), 10.0))
        time.sleep(delay)

    def _describe(self, exc: httpx.HTTPError) -> str:
        if isinstance(exc, httpx.TimeoutException):
            kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "read"
            return f"no answer: {kind} timeout after {self.client.timeout.read or 0:g} s"
        reason = str(exc) or type(exc).__name__
        return self.redactor.scrub(f"no answer: {reason}")

    def _exchange(self, call: Call, response: httpx.Response, elapsed: float, attempts: int) -> Exchange:
        text = response.text
        missing: tuple[str, ...] = ()
        not_json = False
        document: Any = None
        if call.json_keys or call.keep_json:
            try:
                document = json.loads(text)
            except ValueError:
                document = None
        if call.json_keys:
            if isinstance(document, dict):
                missing = tuple(key for key in call.json_keys if not _has_key(document, key))
            else:
                not_json = True
        location = response.headers.get("location")
        return Exchange(
            status=response.status_code,
            elapsed_ms=elapsed,
            attempts=attempts,
            body=self.redactor.scrub(text[: BODY_CHARS * 4])[:BODY_CHARS],
            location=self.redactor.scrub(location) if location else None,
            missing_json=missing,
            not_json=not_json,
            document=document if call.keep_json else None,
        )


def _join(base: httpx.URL, path: str) -> httpx.URL:
    """``base`` + ``path``, keeping a base path (``https://host/app`` + ``/api`` = ``/app/api``)."""
    return base.copy_with(path=base.path.rstrip("/") + path)


def _has_key(document: Mapping[str, Any], dotted: str) -> bool:
    """True when ``a.b`` names a key of a nested object."""
    node: Any = document
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _origin(url: httpx.URL) -> str:
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return f"{url.scheme}://{url.host}:{port}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def is_loopback(url: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: where plain http cannot leak credentials."""
    host = (urlsplit(url).hostname or "").lower()
    return host in {"localhost", "::1"} or host.startswith("127.")
