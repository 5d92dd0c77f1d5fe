"""The transport's rules, against pytest-httpx: retries, deadline, body cap, redirects, credentials."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from pytest_httpx import HTTPXMock, IteratorStream

from pytest_promotion.core.redact import Redactor
from pytest_promotion.service.client import Call, Credentials, Transport, is_loopback
from pytest_promotion.service.endpoints import SmokeConfig
from pytest_promotion.service.run import ServiceRun, Target
from pytest_promotion.service.store import ExchangeStore

BASE = "https://app.example.com"
TOKEN = "UNIT-Tok/en+9="


def transport(**kwargs: object) -> Transport:
    settings: dict[str, object] = {"timeout": 2.0, "concurrency": 2, "retries": 2, "backoff": 0.0}
    settings.update(kwargs)
    return Transport.open(BASE, redactor=Redactor.of([TOKEN]), **settings)  # type: ignore[arg-type]


def test_a_transient_status_is_retried_and_the_attempts_are_counted(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{BASE}/a", status_code=503)
    httpx_mock.add_response(url=f"{BASE}/a", json={"ok": True})
    exchange = transport().call(Call("GET", "/a"))
    assert (exchange.status, exchange.attempts) == (200, 2)


def test_a_reset_connection_is_retried(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ReadError("Connection reset by peer"), url=f"{BASE}/a")
    httpx_mock.add_response(url=f"{BASE}/a", text="fine")
    exchange = transport().call(Call("GET", "/a"))
    assert (exchange.status, exchange.attempts) == (200, 2)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_non_idempotent_request_is_sent_once(httpx_mock: HTTPXMock, method: str) -> None:
    httpx_mock.add_response(url=f"{BASE}/a", method=method, status_code=503)
    exchange = transport().call(Call(method, "/a"))
    assert (exchange.status, exchange.attempts) == (503, 1)
    assert len(httpx_mock.get_requests()) == 1


def test_a_retry_after_that_is_not_a_number_does_not_crash(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{BASE}/a", status_code=503, headers=[(b"Retry-After", "²".encode())])
    httpx_mock.add_response(url=f"{BASE}/a", status_code=200)
    assert transport().call(Call("GET", "/a")).status == 200


def test_a_body_over_the_cap_fails_without_being_kept(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{BASE}/big", content=b"x" * (3 * 1024 * 1024))
    exchange = transport(max_body=1024 * 1024).call(Call("GET", "/big"))
    assert exchange.error is not None
    assert "with a body over 1,048,576 bytes" in exchange.error
    assert exchange.body == ""


def test_a_trickling_answer_fails_at_the_deadline(httpx_mock: HTTPXMock) -> None:
    def trickle() -> Iterator[bytes]:
        for _ in range(30):
            time.sleep(0.1)
            yield b"."

    httpx_mock.add_response(url=f"{BASE}/slow", stream=IteratorStream(trickle()))
    started = time.monotonic()
    exchange = transport(timeout=0.5).call(Call("GET", "/slow"))
    assert time.monotonic() - started < 2.5
    assert exchange.error == "no complete answer within 0.5 s (the body was still arriving)"


def test_redirects_are_followed_on_the_same_origin_only(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{BASE}/a", status_code=302, headers={"Location": "/b"})
    httpx_mock.add_response(url=f"{BASE}/b", text="here")
    assert transport().call(Call("GET", "/a", follow_redirects=True)).status == 200
    httpx_mock.add_response(url=f"{BASE}/c", status_code=302, headers={"Location": "https://evil.example/x"})
    away = transport().call(
        Call("GET", "/c", follow_redirects=True, headers=Credentials(bearer=None).headers())
    )
    assert away.error is not None
    assert "redirected to another origin (https://evil.example:443)" in away.error
    assert all(request.url.host == "app.example.com" for request in httpx_mock.get_requests())


def test_a_cookie_set_by_the_service_is_never_sent_back(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{BASE}/login", headers={"Set-Cookie": "session_token=LEAK; Path=/"})
    httpx_mock.add_response(url=f"{BASE}/anonymous")
    client = transport()
    client.call(Call("GET", "/login"))
    client.call(Call("GET", "/anonymous"))
    anonymous = httpx_mock.get_requests()[-1]
    assert "cookie" not in anonymous.headers


def test_the_body_is_scrubbed_whole_before_it_is_cut(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{BASE}/echo", status_code=500, text=("pad " + TOKEN) * 200)
    body = transport().call(Call("GET", "/echo")).body
    assert len(body) <= 500
    assert TOKEN[:4] not in body


def test_nothing_that_holds_a_secret_shows_it_in_its_repr() -> None:
    secret = Credentials(bearer=None).headers()
    call = Call("GET", "/a", headers={"Authorization": f"Bearer {TOKEN}"})
    target = Target(
        base_url=f"https://user:{TOKEN}@app.example.com",
        base_url_source="--base-url",
        organization_id=None,
        admin=Credentials(),
        config=SmokeConfig(),
    )
    run = ServiceRun(target=target, store=ExchangeStore.create(), redactor=Redactor.of([TOKEN]))
    for thing in (Redactor.of([TOKEN]), call, transport(), target, run, secret):
        assert TOKEN not in repr(thing)
        assert "Tok" not in repr(thing)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.9.8.7", True),
        ("http://[::1]:80", True),
        ("http://localhost:3000", True),
        ("http://127.attacker.invalid:8000", False),
        ("http://127.0.0.1.nip.io", False),
        ("http://localhost.attacker.invalid", False),
        ("http://10.0.0.1", False),
    ],
)
def test_loopback_is_an_address_not_a_prefix(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_a_send_that_raises_is_published_so_other_workers_do_not_wait_it_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = Target(
        base_url=BASE,
        base_url_source="--base-url",
        organization_id=None,
        admin=Credentials(),
        config=SmokeConfig(),
    )
    store = ExchangeStore.create()
    first = ServiceRun(target=target, store=store, redactor=Redactor.of([TOKEN]))
    other = ServiceRun(target=target, store=store, redactor=Redactor.of([TOKEN]))  # another xdist worker

    def broken(self: Transport, call: Call, *, retry: bool = True) -> object:
        raise RuntimeError(f"boom with {TOKEN}")

    monkeypatch.setattr(Transport, "call", broken)
    call = Call("GET", "/a")
    first.prefetch([("key", call)])
    other._started = True  # as after its own prefetch: it must wait for the claimer's result
    started = time.monotonic()
    exchange = other.exchange("key", call)
    assert time.monotonic() - started < 5
    assert exchange.error == "could not be sent (RuntimeError: boom with ***)"
    first.close()


def test_the_body_headers_and_content_type_of_an_entry_are_sent(httpx_mock: HTTPXMock) -> None:
    from pytest_promotion.service.endpoints import Endpoint

    httpx_mock.add_response(url=f"{BASE}/a", method="POST", status_code=201)
    endpoint = Endpoint(path="/a", method="POST", body_json={"m": [1, "x"]}, headers={"X-Client": "smoke"})
    call = Call("POST", "/a", headers=endpoint.request_headers(), content=endpoint.content())
    assert transport().call(call).status == 201
    request = httpx_mock.get_requests()[0]
    assert request.content == b'{"m":[1,"x"]}'
    assert (request.headers["content-type"], request.headers["x-client"]) == ("application/json", "smoke")


def test_a_text_body_keeps_a_content_type_the_entry_sets(httpx_mock: HTTPXMock) -> None:
    from pytest_promotion.service.endpoints import Endpoint

    endpoint = Endpoint(path="/a", method="PUT", body="a,b", headers={"content-type": "text/csv"})
    assert endpoint.request_headers() == {"content-type": "text/csv"}
    assert Endpoint(path="/a", body="x").request_headers() == {"Content-Type": "text/plain; charset=utf-8"}


@pytest.mark.parametrize(
    ("method", "retry", "attempts"), [("POST", True, 3), ("GET", False, 1), ("PATCH", None, 1)]
)
def test_the_entry_decides_whether_a_transient_failure_is_retried(
    httpx_mock: HTTPXMock, method: str, retry: bool | None, attempts: int
) -> None:
    for _ in range(attempts):
        httpx_mock.add_response(url=f"{BASE}/a", method=method, status_code=503)
    exchange = transport().call(Call(method, "/a", retry=retry))
    assert (exchange.status, exchange.attempts) == (503, attempts)
    assert len(httpx_mock.get_requests()) == attempts


def test_a_call_timeout_replaces_the_transport_deadline(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=f"{BASE}/a")
    exchange = transport(retries=0).call(Call("GET", "/a", timeout=0.25))
    assert exchange.error == "no answer: read timeout after 0.25 s"
    assert httpx_mock.get_requests()[0].extensions["timeout"]["read"] == 0.25


def test_a_secret_header_is_in_no_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_promotion.service.endpoints import ENVIRONMENT, Endpoint

    token = ENVIRONMENT.set({"SMOKE_API_KEY": TOKEN})
    try:
        endpoint = Endpoint(
            path="/a", method="POST", body="b", headers={"X-Api-Key": {"env": "SMOKE_API_KEY"}}
        )
    finally:
        ENVIRONMENT.reset(token)
    call = Call("POST", "/a", headers=endpoint.request_headers(), content=endpoint.content())
    assert endpoint.request_headers()["X-Api-Key"] == TOKEN
    for shown in (
        repr(endpoint),
        str(endpoint),
        repr(call),
        repr(endpoint.model_dump()),
        endpoint.model_dump_json(),
    ):
        assert TOKEN not in shown


def test_an_exchange_keeps_every_attempt_and_the_total_time(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{BASE}/a", status_code=503)
    httpx_mock.add_exception(httpx.ReadError("Connection reset by peer"), url=f"{BASE}/a")
    httpx_mock.add_response(url=f"{BASE}/a", json={"ok": True})
    exchange = transport(backoff=0.02).call(Call("GET", "/a"))
    assert (exchange.attempts, exchange.statuses, exchange.retried) == (3, ("503", "reset", "200"), True)
    assert exchange.total_ms >= 60 > exchange.elapsed_ms
    from pytest_promotion.service.client import Exchange

    assert Exchange.from_json(exchange.to_json()) == exchange
