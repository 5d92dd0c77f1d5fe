"""The ``flags`` and ``entitlements`` groups: which item each planned check becomes.

The flag checks read one of two sources, chosen by ``flag_source`` in ``[tool.promotion.smoke]``:
the resolved-flags report of the contract (value and layer), or an OpenFeature flag service over
OFREP (value and reason). The planned checks are the same either way, so the launch gate expects
the same items whichever source answers.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_promotion.core.checks import Check
from pytest_promotion.overrides.items import (
    ENTITLEMENTS_MARK,
    FLAG_PLACEHOLDER,
    FLAGS_MARK,
    NO_ENTITLEMENT_OVERRIDES,
    NO_FLAG_OVERRIDES,
    ORG_FLAG_PLACEHOLDER,
    EntitlementItem,
    FlagDriftItem,
    FlagItem,
    OrgFlagsWaitingItem,
    Report,
    ServiceReport,
    UnconfiguredItem,
)
from pytest_promotion.overrides.ofrep import OfrepDriftItem, OfrepFlagItem, OfrepReport
from pytest_promotion.service.items import Group
from pytest_promotion.service.run import ServiceRun


def flags_group(run: ServiceRun, checks: tuple[Check, ...]) -> Group:
    """``pyproject.toml::flags``: the flags report is fetched once, shared by the group's items."""
    config = run.target.config
    ofrep = config.flag_source == "ofrep"
    report: Report = (
        OfrepReport(run, config.flag_report_path)
        if ofrep
        else ServiceReport(run, config.flag_report_path, "flags")
    )
    flag_item, drift_item = (OfrepFlagItem, OfrepDriftItem) if ofrep else (FlagItem, FlagDriftItem)

    def build(parent: pytest.Collector, check: Check) -> pytest.Item:
        common: dict[str, Any] = {"name": check.name, "check": check, "run": run, "report": report}
        if check.name == FLAG_PLACEHOLDER:
            item: pytest.Item = UnconfiguredItem.from_parent(parent, **common)
            item.add_marker(pytest.mark.skip(reason=NO_FLAG_OVERRIDES))
        elif check.name == ORG_FLAG_PLACEHOLDER:
            item = OrgFlagsWaitingItem.from_parent(parent, **common)
        elif check.name == "drift":
            item = drift_item.from_parent(parent, expected=check.subject, **common)
        else:
            key, flag = check.subject
            item = flag_item.from_parent(parent, key=key, expected=flag, **common)
        return item

    return Group(FLAGS_MARK, checks, build)


def entitlements_group(run: ServiceRun, checks: tuple[Check, ...]) -> Group:
    """``pyproject.toml::entitlements``: the entitlements report is fetched once per process."""
    report = ServiceReport(run, run.target.config.entitlements_path, "entitlements")

    def build(parent: pytest.Collector, check: Check) -> pytest.Item:
        common: dict[str, Any] = {"name": check.name, "check": check, "run": run, "report": report}
        if check.subject is None:
            item: pytest.Item = UnconfiguredItem.from_parent(parent, **common)
            item.add_marker(pytest.mark.skip(reason=NO_ENTITLEMENT_OVERRIDES))
            return item
        return EntitlementItem.from_parent(parent, expectation=check.subject, **common)

    return Group(ENTITLEMENTS_MARK, checks, build)
