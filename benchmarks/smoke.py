"""Wall time of ``pytest -m smoke`` for N endpoints that each take 200 ms to answer.

A real service on 127.0.0.1 (Starlette on uvicorn, ``asyncio.sleep`` per request) serves
``/slow/<n>``; a temporary project declares N smoke entries. Each configuration runs ``--runs``
times and the median is printed, next to pytest's own start-up and collection (the same command
with ``--collect-only``), so the last column is what the smoke requests cost. Prints figures;
never asserts.

    .venv/bin/python benchmarks/smoke.py [--endpoints 100] [--latency-ms 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_promotion.sample.server import serving


def slow_app(latency_ms: int) -> Starlette:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(latency_ms / 1000)
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/slow/{n}", slow)])


def project(folder: Path, endpoints: int) -> None:
    entries = ",\n  ".join(f'"/slow/{n}"' for n in range(endpoints))
    (folder / "pyproject.toml").write_text(
        f'[tool.pytest.ini_options]\ntestpaths = ["tests"]\n\n[tool.promotion.smoke]\nendpoints = [\n  {entries}\n]\n'
    )
    (folder / "tests").mkdir()


def timed(folder: Path, args: list[str], runs: int, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Median wall seconds of a pytest run, and median of the session time pytest itself reports.

    The session time ("… passed in 1.21s") leaves out interpreter and plugin start-up, which on a
    shared machine is the noisiest part; under -n it includes starting the workers.
    """
    walls, sessions = [], []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        walls.append(time.perf_counter() - started)
        if result.returncode not in ok:
            raise SystemExit(f"pytest {' '.join(args)} failed:\n{result.stdout[-2000:]}")
        found = re.search(r" in ([0-9.]+)s", result.stdout.strip().splitlines()[-1])
        sessions.append(float(found.group(1)) if found else float("nan"))
    return statistics.median(walls), statistics.median(sessions)


def wall(folder: Path, args: list[str], runs: int, ok: tuple[int, ...] = (0,)) -> float:
    """Median wall seconds of a pytest run."""
    return timed(folder, args, runs, ok)[0]


def default_figures(endpoints: int, latency_ms: int = 200, runs: int = 3) -> dict[str, float]:
    """Median wall seconds of ``pytest -m smoke`` with default settings, and of its start-up.

    Keys: ``wall``, ``startup`` (the same command with ``--collect-only``) and ``beyond``
    (their difference: what the smoke requests cost).
    """
    with tempfile.TemporaryDirectory() as scratch, serving(slow_app(latency_ms)) as url:
        folder = Path(scratch)
        project(folder, endpoints)
        base = ["-m", "smoke", f"--base-url={url}"]
        startup = wall(folder, [*base, "--collect-only"], runs)
        seconds = wall(folder, base, runs)
    return {"wall": seconds, "startup": startup, "beyond": seconds - startup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, serving(slow_app(options.latency_ms)) as url:
        folder = Path(scratch)
        project(folder, options.endpoints)
        base = ["-m", "smoke", f"--base-url={url}"]
        startup = wall(folder, [*base, "--collect-only"], options.runs)
        # --collect-only -n 2 starts no workers; selecting nothing starts them and collects.
        nothing = ["-m", "smoke and not smoke", f"--base-url={url}", "-n", "2"]
        startup_n2 = wall(folder, nothing, options.runs, ok=(0, 5))
        print(
            f"{options.endpoints} endpoints at {options.latency_ms} ms, median of {options.runs} runs "
            f"(pytest start-up and collection: {startup:.2f} s; with -n 2, workers started: {startup_n2:.2f} s)"
        )
        print(f"{'configuration':<36} {'wall s':>8} {'beyond start-up s':>18} {'pytest session s':>17}")
        for label, extra, baseline in [
            ("sequential (--promotion-concurrency 1)", ["--promotion-concurrency=1"], startup),
            ("concurrency 8", ["--promotion-concurrency=8"], startup),
            ("concurrency 16", ["--promotion-concurrency=16"], startup),
            ("default (concurrency 32)", [], startup),
            ("default, -n 2", ["-n", "2"], startup_n2),
        ]:
            seconds, session = timed(folder, [*base, *extra], options.runs)
            print(f"{label:<36} {seconds:>8.2f} {seconds - baseline:>18.2f} {session:>17.2f}")


if __name__ == "__main__":
    main()
