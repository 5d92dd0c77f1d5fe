"""NameSearch against the one alternation it stands for, past its few names and with odd ones."""

from __future__ import annotations

import random
import re

import pytest

from pytest_promotion.migrations.name_search import FEW, NameSearch, alternation

PREFIX, SUFFIX = r"(?<![\w$])", r"(?![\w$])"


def _one_regex(names: list[str]) -> re.Pattern[str]:
    return alternation(names, PREFIX, SUFFIX, re.IGNORECASE)


@pytest.mark.parametrize("count", [1, FEW - 1, FEW, FEW + 1, 5 * FEW])
def test_search_finds_what_one_alternation_finds(count: int) -> None:
    rng = random.Random(count)
    alphabet = "ab_$1 é"
    drawn = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))).strip() for _ in range(count)}
    names = sorted(name.casefold() for name in drawn if name)
    search = NameSearch(lambda batch: alternation(batch, PREFIX, SUFFIX, re.IGNORECASE), str.casefold)
    for name in names:
        search.add(name)
    one = _one_regex(names)
    for _ in range(500):
        text = "".join(rng.choice(alphabet + "AB(),;.\n") for _ in range(rng.randint(0, 40)))
        pos = rng.randint(0, len(text))
        expected = one.search(text, pos)
        found = search.search(text, pos)
        want = None if expected is None else expected.span()
        got = None if found is None else found.span()
        assert got == want, (names, text, pos)


def test_a_longer_name_at_the_same_offset_wins_across_batches() -> None:
    search = NameSearch(lambda batch: alternation(batch, PREFIX, SUFFIX), lambda word: word)
    for name in ["a b", "a"]:  # "a b" is no plain word: it stays in an alternation
        search.add(name)
    found = search.search("x a b")
    assert found is not None
    assert found.group() == "a b"
