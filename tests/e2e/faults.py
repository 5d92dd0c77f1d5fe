"""A service with injected faults, served on 127.0.0.1 for the smoke gate's end-to-end tests."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class Faults:
    """What the fault service saw: hits per path, and the most requests in flight at once."""

    hits: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    redirect_to: str = ""
    gathered: bool = False
    """``/gather`` requests have all been in flight at once (then they and later ones answer at once)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.hits.clear()
            self.max_in_flight = 0
            self.gathered = False


def fault_app(faults: Faults) -> Starlette:
    async def handle(request: Request) -> Response:
        path = request.url.path
        with faults.lock:
            faults.hits[path] += 1
            count = faults.hits[path]
            faults.in_flight += 1
            faults.max_in_flight = max(faults.max_in_flight, faults.in_flight)
        try:
            return await answer(request, path, count)
        finally:
            with faults.lock:
                faults.in_flight -= 1

    async def answer(request: Request, path: str, count: int) -> Response:
        if path.startswith("/ok"):
            return JSONResponse({"status": "ok"})
        if path == "/error":
            return PlainTextResponse("internal error: " + "x" * 2000, status_code=500)
        if path.startswith("/gather"):
            # Hold until `until` requests are in flight together (or `ms` passes): proves the client's
            # concurrency on a loaded machine, where a fixed sleep may end before the last one starts.
            until = int(request.query_params.get("until", "1"))
            deadline = asyncio.get_running_loop().time() + int(request.query_params.get("ms", "5000")) / 1000
            while asyncio.get_running_loop().time() < deadline:
                with faults.lock:
                    faults.gathered = faults.gathered or faults.in_flight >= until
                    if faults.gathered:
                        break
                await asyncio.sleep(0.005)
            return JSONResponse({"status": "ok"})
        if path.startswith("/slow"):
            await asyncio.sleep(int(request.query_params.get("ms", "200")) / 1000)
            return JSONResponse({"status": "ok"})
        if path.startswith("/flaky"):
            return (
                JSONResponse({"status": "ok"}) if count > 2 else PlainTextResponse("warming", status_code=503)
            )
        if path == "/redirect-away":
            return RedirectResponse(faults.redirect_to, status_code=302)
        if path == "/echo-auth":
            echoed = f"auth={request.headers.get('authorization')} cookie={request.headers.get('cookie')}"
            return PlainTextResponse(echoed, status_code=500)
        if path == "/never-healthy":
            return PlainTextResponse("starting", status_code=503)
        return PlainTextResponse("not found", status_code=404)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])
