"""``pyproject.toml::launch-gate::smoke needs a base URL``: a required stage that cannot run fails.

One failing item per missing prerequisite of a required stage, naming what to set, so JUnit and
the terminal show it where a skip would have hidden it. The verdict does not depend on these items
(deselecting them changes nothing): it computes the same prerequisites itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promotion.core.checks import STAGES, Check, CheckFailed, CheckItem
from pytest_promotion.service.items import Group, entry_line
from pytest_promotion.stages import Plan

GROUP = "launch-gate"


def prerequisite_checks(plan: Plan) -> tuple[Check, ...]:
    """One check per missing prerequisite of a required stage."""
    return tuple(
        Check(stage, f"{stage} needs {need.split(':')[0]}", subject=need, counted=False)
        for stage, needs in plan.missing.items()
        if plan.required.get(stage)
        for need in needs
    )


class PrerequisiteItem(CheckItem):
    """Fails: a required stage lacks something; the message says what to set."""

    def runtest(self) -> None:
        """Always fails: the stage is required and cannot run."""
        message = f"launch gate: the {STAGES[self.stage]} stage is required and needs {self.check.subject}"
        raise CheckFailed(message, message)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at ``[tool.promotion]`` in the project file."""
        return self.path, entry_line(self.path, None, "[tool.promotion]"), self.name


def prerequisites_group(plan: Plan) -> Group:
    """``pyproject.toml::launch-gate``."""

    def build(parent: pytest.Collector, check: Check) -> pytest.Item:
        return PrerequisiteItem.from_parent(parent, name=check.name, check=check)

    return Group(GROUP, prerequisite_checks(plan), build)
