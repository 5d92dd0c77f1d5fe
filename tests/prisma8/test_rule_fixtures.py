"""Prisma 8 ``ops.json`` fixtures under tests/rules/fixtures/<rule>/: each operation states what it expects.

An operation's ``"x-expect"`` lists the rules that report it when every rule is on (Prisma 8 ignores
keys it does not know, and so does the gate). The package is written into a temporary folder.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pytest_promotion.migrations.prisma8 import read_package
from pytest_promotion.migrations.prisma8_scan import scan_package
from pytest_promotion.migrations.rules import select_rules
from tests.prisma8.helpers import write_package

FIXTURES = Path(__file__).resolve().parents[1] / "rules" / "fixtures"
CASES = sorted(FIXTURES.glob("*/*.ops.json"))


@pytest.mark.parametrize("case", CASES, ids=[f"{p.parent.name}/{p.name.split('.')[0]}" for p in CASES])
def test_ops_fixture(case: Path, tmp_path: Path) -> None:
    ops = json.loads(case.read_text(encoding="utf-8"))
    folder = write_package(tmp_path, "20260101T0000_fixture", ops)
    found = scan_package(read_package(folder, folder.name), select_rules(["all"])).findings
    numbers = {(s.line, s.where): s.op_number for s in read_package(folder, folder.name).steps}
    got = Counter((numbers[(f.line, f.where.split("; ")[0])], f.rule) for f in found)
    expected = Counter((k, rule) for k, o in enumerate(ops, start=1) for rule in o.get("x-expect", []))
    assert got == expected


def test_there_are_ops_fixtures() -> None:
    assert len(CASES) >= 4
