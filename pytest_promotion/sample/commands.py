"""``pytest-promotion sample serve`` runs the sample service in the foreground; ``demo`` gates it."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.sample import demo
from pytest_promotion.settings import load_settings
from pytest_promotion.tempdirs import run_folder


def add_commands(subparsers: Any) -> None:
    """Register ``sample serve`` and ``demo``."""
    demo.add_command(subparsers)
    sample = subparsers.add_parser("sample", help="the sample service that stands in for a deployed app")
    actions = sample.add_subparsers(dest="sample_command", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="serve the sample service until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    serve.add_argument(
        "--data", type=Path, help="the SQLite file (created and seeded when new; default: a temporary one)"
    )
    serve.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    """Serve until interrupted; the first line on stdout is the base URL."""
    try:
        from pytest_promotion.sample.app import create_app
        from pytest_promotion.sample.server import bind, server_for, url_of
    except ImportError as exc:
        print(
            f"pytest-promotion sample serve needs the sample extra ({exc.name} is missing): "
            "pip install 'pytest-promotion[sample]'",
            file=sys.stderr,
        )
        return 3
    try:
        settings = load_settings(pyproject=None, options={})
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 3
    # uvicorn re-raises the SIGTERM it caught once it has shut down; as SystemExit, the data folder
    # below is still removed (a killed run's folder goes on the next start, see tempdirs).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    scratch = run_folder("promotion-sample-")
    try:
        database = args.data or scratch / "sample.sqlite3"
        try:
            sock = bind(args.host, args.port)
        except OSError as exc:
            print(
                f"--host/--port: cannot listen on {args.host}:{args.port} ({exc.strerror}).", file=sys.stderr
            )
            return 3
        print(url_of(sock), flush=True)
        print(f"sample service: data in {database}; Ctrl-C stops it", file=sys.stderr, flush=True)
        server_for(create_app(settings, database)).run(sockets=[sock])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
