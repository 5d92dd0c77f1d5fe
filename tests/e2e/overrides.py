"""What the override e2e tests share: a realistic configuration, drifting it, running the checks.

Drift is simulated the way it happens: the service is started with one configuration and the
checks run with another.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

VARIABLES = {
    "flags_env": "FEATURE_FLAG_ENV_OVERRIDES_JSON",
    "flags_org": "FEATURE_FLAG_ORG_OVERRIDES_JSON",
    "entitlements_env": "ENTITLEMENT_ENV_OVERRIDES_JSON",
    "entitlements_org": "ENTITLEMENT_ORG_OVERRIDES_JSON",
}
REALISTIC: dict[str, Any] = {
    "flags_env": {"new_editor": True, "export_limit": 5000},
    "flags_org": {
        "org_acme": {"ai_summaries": True, "export_limit": 20000},
        "org_globex": {"new_editor": False},
    },
    "entitlements_env": {"seat_limit": 40, "features": ["sso"], "usage_caps": {"exports": None}},
    "entitlements_org": {
        "org_acme": {"seat_limit": 60, "features": ["priority_support"], "usage_caps": {"api_calls": 250000}},
        "org_globex": {"seat_limit": 3},
    },
}
FLAG_ITEMS = ["flag ai_summaries", "flag export_limit", "flag new_editor", "drift"]
ENTITLEMENT_ITEMS = [
    "entitlement seat_limit",
    "entitlement features",
    "entitlement usage cap api_calls",
    "entitlement usage cap exports",
]

Service = Callable[[Mapping[str, Any]], Any]
"""``with override_service(config) as url``: the sample service started with ``config``'s overrides."""


def configure(monkeypatch: pytest.MonkeyPatch, config: Mapping[str, Any]) -> None:
    """Set (or clear) the four override variables from ``config``."""
    for key, variable in VARIABLES.items():
        if key in config:
            monkeypatch.setenv(variable, json.dumps(config[key]))
        else:
            monkeypatch.delenv(variable, raising=False)


def drifted(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A copy of the realistic configuration, changed."""
    config = json.loads(json.dumps(REALISTIC))
    change(config)
    return config


def run(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    """The flag and entitlement checks against ``url``."""
    return pytester.runpytest(f"--base-url={url}", "-m", "flags or entitlements", "-p", "no:randomly", *args)


def failed_names(junit: Path) -> list[str]:
    """The names of the failed test cases in a JUnit XML file."""
    root = ET.parse(junit).getroot()
    return sorted(case.get("name", "") for case in root.iter("testcase") if case.find("failure") is not None)


def assert_drift_fails_only(
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    service: Service,
    service_config: Mapping[str, Any],
    expected: tuple[str, str, int],
    *args: str,
) -> None:
    """Checks with the realistic configuration against a service started with ``service_config``:
    ``expected`` is the one failing item's name, its message (a glob) and the number of items."""
    failing, message, items = expected
    configure(monkeypatch, REALISTIC)
    with service(service_config) as url:
        result = run(project, url, "--junitxml=junit.xml", *args)
    result.assert_outcomes(passed=items - 1, failed=1)
    assert failed_names(project.path / "junit.xml") == [failing]
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str()
