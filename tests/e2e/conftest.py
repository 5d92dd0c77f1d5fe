"""Real services on 127.0.0.1: the sample service (as its command runs it) and a fault service."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpcore  # noqa: F401 - see below
import pytest

from pytest_promotion.sample.app import create_app
from pytest_promotion.sample.server import serving
from pytest_promotion.settings import load_settings
from tests.e2e.faults import Faults, fault_app
from tests.e2e.overrides import VARIABLES, Service, configure

# pytester restores sys.modules after each in-process run. httpx imports httpcore lazily and maps
# its exception classes once, so httpcore must be imported before the first run, or a later run
# re-imports it and raises classes httpx no longer recognises.

ADMIN_TOKEN = "adm-7f3c9e1b2d"
MEMBER_TOKEN = "mem-4a8b6c2e9f"
ADMIN_SESSION = "sess-admin-0c1d2e3f"


@pytest.fixture(scope="session")
def sample_url() -> Iterator[str]:
    """``pytest-promotion sample serve --port 0`` in a subprocess, with admin and member tokens."""
    env = {
        **os.environ,
        "LAUNCH_ADMIN_BEARER_TOKEN": ADMIN_TOKEN,
        "LAUNCH_ADMIN_SESSION_TOKEN": ADMIN_SESSION,
        "LAUNCH_MEMBER_BEARER_TOKEN": MEMBER_TOKEN,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_promotion", "sample", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        assert url.startswith("http://127.0.0.1:"), "the sample service did not start"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def fault_service() -> Iterator[tuple[str, Faults]]:
    """The fault service and its counters, plus a second origin for cross-origin redirects."""
    faults = Faults()
    with serving(fault_app(faults)) as url, serving(fault_app(Faults())) as other:
        faults.redirect_to = other + "/ok-elsewhere"
        yield url, faults


@pytest.fixture
def faults(fault_service: tuple[str, Faults]) -> Faults:
    """The fault service's counters, reset for this test."""
    fault_service[1].reset()
    return fault_service[1]


SmokeProject = Callable[..., pytest.Pytester]


@pytest.fixture
def smoke_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> SmokeProject:
    """A project whose ``[tool.promotion.smoke]`` holds the given TOML lines."""
    for name in (
        "LAUNCH_ADMIN_BEARER_TOKEN",
        "LAUNCH_ADMIN_SESSION_TOKEN",
        "SMOKE_BASE_URL",
        "SMOKE_ORGANIZATION_ID",
        "SMOKE_EXPECTED_REVISION",
        "PYTEST_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)

    def make(smoke: str) -> pytest.Pytester:
        pytester.makefile(
            ".toml",
            pyproject=f'[tool.pytest.ini_options]\ntestpaths = ["checks"]\n\n[tool.promotion.smoke]\n{smoke}\n',
        )
        (pytester.path / "checks").mkdir(exist_ok=True)
        return pytester

    return make


@pytest.fixture
def override_service(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Service:
    """Start the sample service with an override configuration of its own."""

    @contextmanager
    def start(config: Mapping[str, Any]) -> Iterator[str]:
        with monkeypatch.context() as scoped:
            configure(scoped, config)
            settings = load_settings(pyproject=None, options={})
        database = tmp_path_factory.mktemp("sample") / "sample.sqlite3"
        with serving(create_app(settings, database)) as url:
            yield url

    return start


@pytest.fixture
def override_project(smoke_project: SmokeProject, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project that declares no smoke endpoints: the override variables alone enable the checks."""
    for variable in VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("SMOKE_ORGANIZATION_ID", "org_acme")
    return smoke_project("")
