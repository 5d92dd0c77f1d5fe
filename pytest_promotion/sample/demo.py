"""``pytest-promotion demo``: the whole gate against the sample service, in one command.

A new user should see every stage work before configuring anything. The demo starts the sample
service on a free loopback port with credentials made up for this run, an organization and
overrides, then runs one pytest process with the launch gate on over a project: ``--project DIR``,
else the current folder when its ``pyproject.toml`` has ``[tool.promotion]``, else (in a checkout)
the bundled ``examples/storyengine``. Both get the same environment, as a deployed service and its
checks would; nothing in the caller's environment is changed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.settings import load_settings, read_table

ORGANIZATION = "org_acme"
OVERRIDES: dict[str, Any] = {
    "FEATURE_FLAG_ENV_OVERRIDES_JSON": {"new_editor": True},
    "FEATURE_FLAG_ORG_OVERRIDES_JSON": {ORGANIZATION: {"ai_summaries": True, "export_limit": 20000}},
    "ENTITLEMENT_ENV_OVERRIDES_JSON": {"features": ["sso"], "usage_caps": {"exports": None}},
    "ENTITLEMENT_ORG_OVERRIDES_JSON": {
        ORGANIZATION: {
            "seat_limit": 60,
            "features": ["priority_support"],
            "usage_caps": {"api_calls": 250000},
        }
    },
}
# Variables the demo sets itself; a value the caller's shell holds must not leak into the run.
CLEARED_PREFIXES = (
    "LAUNCH_",
    "SMOKE_",
    "FEATURE_FLAG_",
    "ENTITLEMENT_",
    "PYTEST_BASE_URL",
    "GITHUB_STEP_SUMMARY",
)


SAMPLE_PROJECT = Path("examples/storyengine")


def project_folder(given: Path | None, here: Path) -> Path:
    """The project to gate: the one given, this folder when it is configured, else the bundled sample."""
    if given is not None:
        return given.resolve()
    if read_table(here / "pyproject.toml") or not (here / SAMPLE_PROJECT / "pyproject.toml").is_file():
        return here
    return here / SAMPLE_PROJECT


def add_command(subparsers: Any) -> None:
    """Register ``demo``."""
    demo = subparsers.add_parser(
        "demo",
        help="run the whole gate against the sample service (from a pytest-promotion checkout)",
        description="Start the sample service and run migrations, smoke, latency budgets, admin "
        "controls, flags and entitlements as one pytest run with --launch-gate. Extra arguments "
        "after -- go to pytest (e.g. -- -n 2).",
    )
    demo.add_argument(
        "--junitxml",
        type=Path,
        default=Path("reports/junit.xml"),
        help="where pytest writes the JUnit XML (default reports/junit.xml)",
    )
    demo.add_argument(
        "--project",
        type=Path,
        default=None,
        help="the project folder to gate (default: this folder if it configures [tool.promotion], "
        f"else {SAMPLE_PROJECT})",
    )
    demo.add_argument("pytest_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    demo.set_defaults(handler=demo_command)


def demo_environment(base: Mapping[str, str], url: str | None) -> dict[str, str]:
    """The caller's environment without promotion variables, plus the demo's."""
    env = {name: value for name, value in base.items() if not name.startswith(CLEARED_PREFIXES)}
    env.update({name: json.dumps(value) for name, value in OVERRIDES.items()})
    env.update(
        LAUNCH_ADMIN_BEARER_TOKEN="demo-admin-" + secrets.token_urlsafe(12),
        LAUNCH_MEMBER_BEARER_TOKEN="demo-member-" + secrets.token_urlsafe(12),
        SMOKE_ORGANIZATION_ID=ORGANIZATION,
        LAUNCH_POST_DEPLOY_SMOKE="true",
        LAUNCH_VALIDATE_ADMIN_CONTROLS="true",
    )
    if url is not None:
        env["SMOKE_BASE_URL"] = url
    return env


def gate_command(pyproject: Path, migrations_dir: Path, junitxml: Path, extra: Sequence[str]) -> list[str]:
    """One pytest run over the project's declared checks only (its own tests are not the demo)."""
    args = [sys.executable, "-m", "pytest", str(pyproject.name)]
    if migrations_dir.is_dir():
        args.append(str(migrations_dir))
    return [*args, "--launch-gate", f"--junitxml={junitxml}", "-p", "no:cacheprovider", *extra]


def start_service(env: Mapping[str, str]) -> tuple[subprocess.Popen[str], str]:
    """``pytest-promotion sample serve --port 0`` with the demo's environment; its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_promotion", "sample", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.wait(timeout=10)
        raise ConfigError(f"the sample service did not start: {process.stderr.read().strip()}")
    return process, url


def demo_command(args: argparse.Namespace) -> int:
    """Start the sample service, run the gate against it, stop the service; pytest's exit code."""
    try:
        project = project_folder(args.project, Path.cwd())
        pyproject = project / "pyproject.toml"
        if not read_table(pyproject):
            raise ConfigError(
                f"{pyproject}: no [tool.promotion] table here. pytest-promotion demo runs the gate of a "
                f"configured project: run it from the pytest-promotion checkout (it gates {SAMPLE_PROJECT}), "
                "from a project configured for the plugin, or pass --project DIR."
            )
        settings = load_settings(pyproject=pyproject, options={})
        env = demo_environment(os.environ, None)
        if settings.smoke.revision is not None:  # the run waits for the revision the sample reports
            from pytest_promotion.sample.app import SAMPLE_REVISION  # starlette: only once the demo runs

            env["SMOKE_EXPECTED_REVISION"] = SAMPLE_REVISION
        process, url = start_service(env)
    except ConfigError as exc:
        print(f"pytest-promotion demo: {exc}", file=sys.stderr)
        return 3
    try:
        env["SMOKE_BASE_URL"] = url
        extra = [arg for arg in args.pytest_args if arg != "--"]
        junitxml = args.junitxml if args.junitxml.is_absolute() else Path.cwd() / args.junitxml
        command = gate_command(pyproject, settings.migrations_dir, junitxml, extra)
        print(
            f"pytest-promotion demo: sample service at {url} (organization {ORGANIZATION}, admin and member "
            f"tokens made up for this run, {len(OVERRIDES)} override variables)\n"
            f"running: pytest {' '.join(command[3:])}",
            flush=True,
        )
        return subprocess.run(command, env=env, cwd=project, check=False).returncode
    finally:
        process.terminate()
        process.wait(timeout=10)
