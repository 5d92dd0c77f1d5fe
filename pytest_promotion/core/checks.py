"""What a generated check is: its stage, its name, what it needs, and the item base every one uses.

The launch gate's verdict counts checks, not tests: a generated item records which check it is on
itself and in ``user_properties`` (which xdist ships to the controller with every report), so a
user's own test never enters the verdict, whatever its marks, name or folder. The expected set of
checks is computed from the configuration before collection (``stages.py``), and each feature's
collector builds its items from those same :class:`Check` values, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_promotion.core.failures import FailureRepr, TerminalRepr

STAGES = {
    "migrations": "migration safety",
    "smoke": "post-deploy smoke",
    "perf_budget": "latency budgets",
    "admin_policy": "admin controls",
    "flags": "feature flags",
    "entitlements": "entitlements",
}
"""The launch gate's stages, in verdict order; each is also the mark its items carry."""

CHECK_PROPERTY = "promotion_check"
"""The ``user_properties`` name whose value is a check's id (``stage::name``)."""


@dataclass(frozen=True)
class Check:
    """One generated check, known before collection."""

    stage: str
    name: str
    """The item's name inside its stage (``member: GET /api/x``, a migration folder's name)."""
    needs: tuple[str, ...] = ()
    """Prerequisites (``service.needs`` keys: base URL, credentials, organization)."""
    subject: Any = field(default=None, compare=False, repr=False)
    """What the item checks (an endpoint entry, a policy cell, a flag's expectation)."""
    counted: bool = True
    """False for the launch gate's prerequisite items: the verdict finds missing prerequisites itself."""

    @property
    def id(self) -> str:
        """``smoke::GET /api/health``: unique in a run, the same on every xdist worker."""
        return f"{self.stage}::{self.name}"


def check_id_of(report: pytest.TestReport | pytest.Item) -> str | None:
    """The check a report (or item) is for, from its ``user_properties``; None for user tests."""
    return next((str(value) for name, value in report.user_properties if name == CHECK_PROPERTY), None)


class CheckFailed(Exception):
    """A generated check's verdict: ``text`` is the whole report, ``summary`` its one line."""

    def __init__(self, summary: str, text: str) -> None:
        super().__init__(summary)
        self.summary = summary
        self.text = text


class CheckItem(pytest.Item):
    """The base of every generated item: records its check, reports failures as plain lines."""

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.stage = check.stage
        self.add_marker(check.stage)
        if check.counted:
            self.user_properties.append((CHECK_PROPERTY, check.id))

    def failure_location(self) -> tuple[str, int]:
        """Where a failure points (file, 1-based line): ``reportinfo``'s place by default."""
        path, line, _ = self.reportinfo()
        return str(path), int(line or 0) + 1

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: str | None = None
    ) -> str | TerminalRepr:
        """Our verdicts as plain lines; anything unexpected as one paragraph, never a traceback.

        A traceback's frame locals (``--tb=long -l``) would show every object the check holds,
        credentials included, and a first run that trips over one odd answer fails many items.
        """
        path, line = self.failure_location()
        if isinstance(excinfo.value, CheckFailed):
            return FailureRepr(excinfo.value.text, path, line, excinfo.value.summary)
        error = f"{excinfo.type.__name__}: {excinfo.value}".strip().rstrip(":")
        summary = (
            f"{self.name}: the check could not finish ({error.splitlines()[0] if error else 'no detail'})"
        )
        text = (
            f"{summary}.\nThis is not a verdict on what the check looks at: the {self.stage} check stopped on "
            "an unexpected error. Run it again; if it persists, report it to pytest-promotion with this "
            "message."
        )
        return FailureRepr(text, path, line, summary)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at the file the check is declared in."""
        return self.path, 0, self.name
