"""A deliberately hostile service, and a capture server, for the secret and credential tests.

Loopback only and bounded: every slow answer ends by itself within seconds. The hostile service
echoes whatever credentials it receives back in every encoding a leak was seen in, sets cookies,
sends a ``Retry-After`` Python cannot parse, trickles its body and sends one too large to keep.
The capture server accepts connections on another loopback address and only records the bytes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

COOKIE = "session_token=HOSTILE-COOKIE-77a1"
OFREP_KEY = "OFREP-KEY-c0/ff+ee=9"


def echoes(value: str) -> str:
    """``value`` in every form a service could send it back in."""
    lower = quote(value, safe="").lower()
    return "\n".join(
        [
            value * 200,
            quote(value),
            quote(value, safe=""),
            lower,
            quote_plus(value),
            base64.b64encode(value.encode()).decode(),
            base64.urlsafe_b64encode(value.encode()).decode(),
            quote(base64.b64encode(value.encode()).decode(), safe="").lower(),
            repr(value),
            json.dumps(value),
        ]
    )


@dataclass
class Seen:
    """What the hostile service received: the Cookie header of each request, by path."""

    cookies: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def hostile_app(seen: Seen) -> Starlette:
    async def handle(request: Request) -> Response:
        path = request.url.path
        authorization = request.headers.get("authorization", "")
        cookie = request.headers.get("cookie", "")
        with seen.lock:
            seen.cookies.append((path, cookie))
        received = f"{authorization} {cookie}".strip()
        api_key = request.headers.get("x-api-key", "")
        token = authorization.partition(" ")[2] or cookie.partition("=")[2] or api_key
        received = f"{received} {api_key}".strip()
        if path == "/echo":
            return PlainTextResponse(echoes(token) + "\n" + echoes(received), status_code=500)
        if path == "/echo-json":
            return JSONResponse({"you_sent": received, "token": token}, status_code=500)
        if path == "/ofrep-echo":  # a flag service that answers with the token in every field
            flags = [
                {"key": "new_editor", "value": token, "variant": echoes(token), "reason": token},
                {"key": "beta", "value": True, "reason": "TARGETING_MATCH", "variant": token},
                {"key": "old", "errorCode": token, "errorDetails": echoes(received)},
            ]
            return JSONResponse({"flags": flags})
        if path == "/ofrep-keyed":  # a flag service that wants its own API key, not the admin's bearer
            if api_key != OFREP_KEY:
                return JSONResponse({"errorDetails": f"bad key {echoes(received)}"}, status_code=401)
            return JSONResponse({"flags": [{"key": "new_editor", "value": True, "reason": "STATIC"}]})
        if path == "/ofrep-refuse":
            return JSONResponse({"errorCode": token, "errorDetails": echoes(received)}, status_code=400)
        if path == "/retry-after":
            return Response(
                "busy", status_code=503, headers={"retry-after": "\u00b2".encode().decode("latin-1")}
            )
        if path == "/set-cookie":
            return PlainTextResponse("welcome", headers={"set-cookie": f"{COOKIE}; Path=/"})
        if path == "/trickle":
            return StreamingResponse(trickle(), media_type="text/plain")
        if path == "/big":
            return StreamingResponse(big(5 * 1024 * 1024), media_type="text/plain")
        if path == "/admin":
            return (
                PlainTextResponse("ok")
                if authorization or cookie
                else PlainTextResponse("no", status_code=401)
            )
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])


async def trickle() -> AsyncIterator[bytes]:
    """One byte every half second, for at most 20 s."""
    for _ in range(40):
        yield b"."
        await asyncio.sleep(0.5)


async def big(size: int) -> AsyncIterator[bytes]:
    chunk = b"x" * 65536
    for _ in range(size // len(chunk)):
        yield chunk


@dataclass
class Capture:
    """Every byte the capture server received."""

    host: str
    port: int
    received: bytearray = field(default_factory=bytearray)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def capture_server(host: str = "127.0.0.2") -> Iterator[Capture]:
    """A TCP server on another loopback address that records what it is sent, then closes."""
    listener = socket.create_server((host, 0))
    listener.settimeout(0.2)
    found = Capture(host, listener.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    while data := connection.recv(65536):
                        found.received.extend(data)
                        if len(found.received) > 1_000_000:
                            break
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
