"""Per-run state lives on ``config.stash`` under these keys, never in globals or ``config._x``."""

from __future__ import annotations

import pytest

from pytest_promotion.http.run import SmokeRun
from pytest_promotion.migrations.gate import GateRun
from pytest_promotion.redact import Redactor
from pytest_promotion.settings import PromotionSettings

SETTINGS_KEY = pytest.StashKey[PromotionSettings]()
"""The validated settings of this run."""
GATE_KEY = pytest.StashKey[GateRun]()
"""The migration gate's state; absent when the migrations folder does not exist."""
REDACTOR_KEY = pytest.StashKey[Redactor]()
"""The scrubber that knows this run's secrets."""
SMOKE_KEY = pytest.StashKey[SmokeRun]()
"""The smoke gate's state; absent when ``[tool.promotion.smoke]`` lists no endpoints."""
