"""The reference table (docs/options.md, linked from the README) names every option and variable the plugin reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_promotion.settings import PromotionSettings, env_name

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "options.md"


def reference_table() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def test_the_readme_stays_short_and_links_every_reference_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    pages = sorted(path.name for path in (ROOT / "docs").glob("*.md"))
    assert [page for page in pages if f"docs/{page}" not in readme] == []


@pytest.mark.parametrize(
    "field", sorted(name for name in PromotionSettings.model_fields if name not in {"smoke", "policy"})
)
def test_every_setting_has_a_row(field: str) -> None:
    assert f"`{env_name(field)}`" in reference_table(), f"{env_name(field)} is missing from docs/options.md"


def test_every_plugin_option_has_a_row(pytester: pytest.Pytester) -> None:
    help_text = pytester.runpytest("--help").stdout.str()
    section = help_text.split("promotion gate (pytest-promotion):", 1)[1].split("\n\n", 1)[0]
    options = set(re.findall(r"^\s+(--[a-z][a-z-]+)", section, flags=re.MULTILINE))
    assert len(options) >= 10
    missing = sorted(option for option in options if f"`{option}" not in reference_table())
    assert not missing, f"options missing from docs/options.md: {missing}"
