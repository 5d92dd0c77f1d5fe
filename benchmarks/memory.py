"""Peak memory of a smoke run whose service answers with huge bodies. Asserts nothing.

Three endpoints each stream a 300 MB body; ``pytest -m smoke`` reads each up to the body cap
(``max_body_bytes``, 1 MiB by default) and fails it. Printed: the pytest process's peak RSS
(target: under 200 MB, whatever the bodies' size) and its wall time.

Usage: .venv/bin/python benchmarks/memory.py [--mb 300]
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from argparse import ArgumentParser
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from pytest_promotion.sample.server import serving


def huge_app(megabytes: int) -> Starlette:
    chunk = b"x" * (1024 * 1024)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(megabytes):
            yield chunk

    async def handle(request: Request) -> StreamingResponse:
        return StreamingResponse(body(), media_type="text/plain")

    return Starlette(routes=[Route("/{path:path}", handle)])


def main() -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300)
    megabytes = parser.parse_args().mb
    with tempfile.TemporaryDirectory(prefix="promotion-memory-") as tmp, serving(huge_app(megabytes)) as url:
        project = Path(tmp)
        entries = ", ".join(f'"/big/{n}"' for n in range(3))
        (project / "pyproject.toml").write_text(f"[tool.promotion.smoke]\nendpoints = [{entries}]\n")
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-m",
                "smoke",
                f"--base-url={url}",
                "-q",
                "-p",
                "no:cacheprovider",
            ],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    outcome = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()
    print("| bodies | peak RSS of pytest | wall | outcome |")
    print("|---|--:|--:|---|")
    print(f"| 3 x {megabytes} MB | {peak_mb:.0f} MB (target < 200 MB) | {wall:.1f} s | {outcome} |")


if __name__ == "__main__":
    main()
