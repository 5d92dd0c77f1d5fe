"""The stash key of the one run object; a module of its own so the plugin can import it cheaply."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_promotion.run import Run  # noqa: F401 - named in the key's type below

RUN_KEY = pytest.StashKey["Run"]()
"""This run's state; absent when the project has nothing for the plugin to do."""
