"""One pooled HTTP client per session, and the request loop every check goes through.

Transient failures — a connection that could not be made or was dropped, 502, 503, 504 — are
retried with backoff, because a rolling deploy answers them for a few seconds; anything else is the
verdict at once. Redirects are never followed across origins, so credentials stay with the service
they were configured for. Bodies are scrubbed of secrets before anything keeps them.
"""

from __future__ import annotations

import codecs
import ipaddress
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import SecretStr

from pytest_promotion.core.redact import Redactor, without_credentials
from pytest_promotion.service.assertions import Expectations, mismatches

if TYPE_CHECKING:
    from pytest_promotion.settings import PromotionSettings

TRANSIENT_STATUS = frozenset({502, 503, 504})
TRANSIENT_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,  # a connection reset while the answer was read
    httpx.WriteError,
)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods retried after a transient failure; a POST or PATCH is sent once."""
BODY_CHARS = 500
MAX_BODY_BYTES = 1024 * 1024
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
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    """May carry a credential: never shown in a repr."""
    follow_redirects: bool = False
    json_keys: tuple[str, ...] = ()
    keep_json: bool = False
    """Keep the whole parsed JSON body (the override checks compare it field by field)."""
    content: bytes | None = field(default=None, repr=False)
    """The request body, or None."""
    timeout: float | None = None
    """Seconds this call's attempt may take, instead of the transport's deadline."""
    retry: bool | None = None
    """Retry transient failures: None for idempotent methods only, True always, False never."""
    expect: Expectations = field(default_factory=Expectations)
    """JSON values, headers and body text the answer must hold (judged on the whole body)."""
    keep_header: str | None = None
    """A response header whose value the check needs (the deployed revision)."""

    @property
    def retryable(self) -> bool:
        """Whether a transient failure may be retried: a POST or PATCH only when the entry says so."""
        return self.retry if self.retry is not None else self.method in IDEMPOTENT


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
    mismatches: tuple[str, ...] = ()
    """The assertions the answer failed, one readable line each, scrubbed."""
    statuses: tuple[str, ...] = ()
    """Every attempt's outcome in order: its status, or the kind of error (``timeout``, ``reset``)."""
    total_ms: float = 0.0
    """Time of all attempts together, pauses between them included."""
    header: str | None = None
    """The value of the header the call asked to keep, scrubbed (None when absent)."""

    @property
    def retried(self) -> bool:
        """True when the verdict needed more than one attempt."""
        return self.attempts > 1

    def attempt_list(self) -> str:
        """``503, 503, 200``: what each attempt got."""
        return ", ".join(self.statuses)

    def to_json(self) -> dict[str, Any]:
        """The exchange as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Exchange:
        """Rebuild an exchange :meth:`to_json` wrote."""
        return cls(
            **{
                **data,
                "missing_json": tuple(data.get("missing_json", ())),
                "mismatches": tuple(data.get("mismatches", ())),
                "statuses": tuple(data.get("statuses", ())),
            }
        )


@dataclass(frozen=True)
class Transport:
    """A pooled client plus the retry policy, deadline, body cap and redactor every call uses."""

    client: httpx.Client = field(repr=False)
    retries: int
    backoff: float
    redactor: Redactor = field(repr=False)
    deadline: float = 10.0
    """Seconds one attempt may take in all, however slowly the answer trickles in."""
    max_body: int = MAX_BODY_BYTES
    """Bytes of a body read at most; a larger answer fails instead of filling memory."""

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
        max_body: int = MAX_BODY_BYTES,
    ) -> Transport:
        """A client on ``base_url``: TLS verified, redirects not followed, URL credentials as Basic auth.

        No cookie is ever kept (each role's credentials travel in its own headers, and a cookie a
        response sets must not reach the next caller), and over plain http no proxy from the
        environment is used, so credentials never pass through another hop unencrypted.
        """
        clean, basic = without_credentials(base_url)
        client = httpx.Client(
            base_url=clean,
            auth=basic,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": "pytest-promotion"},
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            trust_env=urlsplit(clean).scheme == "https",
        )
        return cls(client, retries, backoff, redactor, deadline=timeout, max_body=max_body)

    def close(self) -> None:
        """Close the pooled connections."""
        self.client.close()

    def call(self, call: Call, *, retry: bool = True) -> Exchange:
        """Send ``call``, retrying transient failures, following same-origin redirects when asked."""
        url = _join(self.client.base_url, call.path)
        params: Mapping[str, str] | None = call.params
        retries = self.retries if retry and call.retryable else 0
        for _hop in range(MAX_REDIRECTS + 1):
            exchange, location = self._with_retries(call, url, params, retries)
            if location is None or not call.follow_redirects:
                return exchange
            target = httpx.URL(urljoin(str(url), location))
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
    ) -> tuple[Exchange, str | None]:
        """The exchange, with every attempt's outcome, and where a 3xx answer points (None otherwise)."""
        seen: list[str] = []
        begun = time.perf_counter()
        exchange, location = self._attempts(call, url, params, retries, seen)
        return replace(exchange, statuses=tuple(seen), total_ms=_ms(begun)), location

    def _attempts(
        self, call: Call, url: httpx.URL, params: Mapping[str, str] | None, retries: int, seen: list[str]
    ) -> tuple[Exchange, str | None]:
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                status, headers, body, error = self._attempt(call, url, params)
            except TRANSIENT_ERRORS as exc:
                seen.append(_kind(exc))
                if attempt <= retries:
                    self._sleep(attempt)
                    continue
                return Exchange(None, _ms(started), attempt, error=self._describe(exc, call.timeout)), None
            except httpx.HTTPError as exc:  # a read timeout, a protocol error: the answer itself
                seen.append(_kind(exc))
                return Exchange(None, _ms(started), attempt, error=self._describe(exc, call.timeout)), None
            seen.append(str(status))
            elapsed = _ms(started)
            if error is not None:
                return Exchange(status, elapsed, attempt, error=error), None
            if status in TRANSIENT_STATUS and attempt <= retries:
                self._sleep(attempt, headers.get("retry-after"))
                continue
            location = headers.get("location") if 300 <= status < 400 else None
            return self._exchange(call, status, headers, body, elapsed, attempt), location

    def _attempt(
        self, call: Call, url: httpx.URL, params: Mapping[str, str] | None
    ) -> tuple[int, httpx.Headers, bytes, str | None]:
        """One request, its body streamed up to the cap and the deadline: status, headers, body, error."""
        seconds = call.timeout if call.timeout is not None else self.deadline
        deadline = time.monotonic() + seconds
        with self.client.stream(
            call.method,
            url,
            params=params,
            headers=dict(call.headers),
            content=call.content,
            timeout=httpx.Timeout(seconds) if call.timeout is not None else httpx.USE_CLIENT_DEFAULT,
        ) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_body:
                    return (
                        response.status_code,
                        response.headers,
                        b"",
                        (
                            f"answered {response.status_code} with a body over {self.max_body:,} bytes; not read "
                            "further (raise max_body_bytes in [tool.promotion.smoke] if that is expected)"
                        ),
                    )
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    return (
                        response.status_code,
                        response.headers,
                        b"",
                        (f"no complete answer within {seconds:g} s (the body was still arriving)"),
                    )
            return response.status_code, response.headers, b"".join(chunks), None

    def _sleep(self, attempt: int, retry_after: str | None = None) -> None:
        delay = self.backoff * 2 ** (attempt - 1)
        if retry_after is not None and retry_after.isascii() and retry_after.strip().isdigit():
            delay = max(delay, min(float(retry_after), 10.0))  # honour a short Retry-After
        time.sleep(delay)

    def _describe(self, exc: httpx.HTTPError, seconds: float | None = None) -> str:
        if isinstance(exc, httpx.TimeoutException):
            kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "read"
            limit = seconds if seconds is not None else self.client.timeout.read or 0
            return f"no answer: {kind} timeout after {limit:g} s"
        reason = str(exc) or type(exc).__name__
        return self.redactor.scrub(f"no answer: {reason}")

    def _exchange(
        self, call: Call, status: int, headers: httpx.Headers, body: bytes, elapsed: float, attempts: int
    ) -> Exchange:
        text = body.decode(_charset(headers), errors="replace")
        missing: tuple[str, ...] = ()
        not_json = False
        document: Any = None
        if call.json_keys or call.keep_json or call.expect.json_values:
            try:
                document = json.loads(text)
            except ValueError:
                document = None
        if call.json_keys:
            if isinstance(document, dict):
                missing = tuple(key for key in call.json_keys if not _has_key(document, key))
            else:
                not_json = True
        location = headers.get("location")
        failed = mismatches(call.expect, document, headers, text, self.redactor) if call.expect else ()
        return Exchange(
            status=status,
            elapsed_ms=elapsed,
            attempts=attempts,
            body=self.redactor.cut(text, BODY_CHARS),  # scrubbed whole, then cut
            location=self.redactor.cut(location, 300) if location else None,
            missing_json=missing,
            not_json=not_json,
            document=document if call.keep_json else None,
            mismatches=failed,
            header=self.redactor.scrub(kept)
            if call.keep_header and (kept := headers.get(call.keep_header)) is not None
            else None,
        )


def _kind(exc: httpx.HTTPError) -> str:
    """A short name for an attempt that got no answer."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "refused"
    return "reset" if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError) else "error"


def _charset(headers: httpx.Headers) -> str:
    """The body's declared charset, when Python knows it; UTF-8 otherwise."""
    declared = (
        httpx.Headers(headers).get("content-type", "").partition("charset=")[2].split(";")[0].strip(' "')
    )
    try:
        return codecs.lookup(declared).name if declared else "utf-8"
    except LookupError:
        return "utf-8"


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
    """True for 127.0.0.0/8, ::1 and localhost: where plain http cannot leak credentials.

    The host is parsed as an address, never matched by prefix: ``127.attacker.example`` is a name
    that resolves anywhere.
    """
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
