"""Every SQL fixture states what it expects; one parametrized test holds each rule to it.

Header lines: ``-- expect: rule:LINE …`` (or ``none``), optional ``-- dialect:`` and ``-- rules:``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pytest_promotion.migrations.dialects import DIALECTS
from pytest_promotion.migrations.rules import select_rules
from pytest_promotion.migrations.scan import scan_text

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*/*.sql"))


def _headers(text: str) -> dict[str, str]:
    headers = {}
    for line in text.splitlines():
        if not line.startswith("-- ") or ":" not in line:
            break
        key, _, value = line[3:].partition(":")
        headers[key.strip()] = value.strip()
    return headers


@pytest.mark.parametrize("case", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_fixture(case: Path) -> None:
    text = case.read_text(encoding="utf-8")
    headers = _headers(text)
    expected = Counter() if headers["expect"] == "none" else Counter(headers["expect"].split())
    dialect = DIALECTS[headers.get("dialect", "postgresql")]
    rules = select_rules(headers.get("rules", "default").replace(" ", "").split(","))
    found = Counter(f"{f.rule}:{f.line}" for f in scan_text(text, dialect, rules, case.stem))
    assert found == expected


def test_every_rule_has_positive_and_negative_fixtures() -> None:
    from pytest_promotion.migrations.rules import RULES

    for rule_id in RULES:
        folder = FIXTURES / rule_id
        # Prisma 8 operation fixtures (*.ops.json) count too: tests/prisma8/test_rule_fixtures.py runs them
        names = [p.name.split(".")[0] for p in [*folder.glob("*.sql"), *folder.glob("*.ops.json")]]
        assert any(n.startswith("neg_") for n in names), f"{rule_id} has no negative case"
        assert any(not n.startswith("neg_") for n in names), f"{rule_id} has no positive case"
