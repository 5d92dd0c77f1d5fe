"""A search for any name of a set that grows, in time that stays linear however many there are.

A migration may create thousands of routines and triggers, and after each one every later
statement is searched for any of their names. One regex alternation of all the names costs
twice over: compiled afresh for each new name, and searched in time that grows with the number
of alternatives (sre tries them one by one at each offset): 2,000 functions took 24 s. So a few
names are one alternation, as fast as a search gets; past :data:`FEW`, plain names (letters,
digits, ``_`` and ``$``) go to a set that each word of the text is looked up in, and the rest
stay in alternations, kept in batches whose sizes are distinct powers of two, merged like the
digits of a binary counter: each is compiled O(log n) times in all.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence

FEW = 32
"""Up to this many plain names, an alternation is faster than looking up every word."""
_PLAIN = re.compile(r"[\w$]+")
_WORDS = re.compile(r"[\w$]+")


class NameSearch:
    """``search`` as one alternation of every name added, each a whole word, would answer it."""

    __slots__ = ("_batches", "_compile", "_fold", "_longest", "_plain")

    def __init__(
        self, compile_names: Callable[[Sequence[str]], re.Pattern[str]], fold: Callable[[str], str]
    ) -> None:
        """``compile_names``: the alternation of some names; ``fold``: a word of the text as names are kept."""
        self._compile, self._fold = compile_names, fold
        self._batches: list[tuple[list[str], re.Pattern[str]]] = []
        self._plain: set[str] | None = None  # None: every name is in the batches
        self._longest = 0

    def add(self, name: str) -> None:
        self._longest = max(self._longest, len(name))
        if self._plain is None and len(self._batches) and sum(len(b[0]) for b in self._batches) >= FEW:
            names = [n for batch, _ in self._batches for n in batch]
            self._plain = {n for n in names if _PLAIN.fullmatch(n)}
            self._batches = []
            for other in names:
                if other not in self._plain:
                    self._push(other)
        if self._plain is not None and _PLAIN.fullmatch(name):
            self._plain.add(name)
        else:
            self._push(name)

    def _push(self, name: str) -> None:
        names = [name]
        while self._batches and len(self._batches[-1][0]) == len(names):
            names = self._batches.pop()[0] + names
        self._batches.append((names, self._compile(names)))

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        """The first match at or after ``pos``; of those at one offset, the longest."""
        best: re.Match[str] | None = None
        if self._plain:
            plain, fold = self._plain, self._fold
            # A word that ``pos`` cuts into is no whole word (the alternation's look-behind sees it).
            cut = pos > 0 and _WORDS.match(string, pos - 1) is not None
            for word in _WORDS.finditer(string, pos, endpos):
                if cut:
                    cut = False
                    if word.start() == pos:
                        continue
                if fold(word.group()) in plain:
                    best = word
                    break
        for _, pattern in self._batches:
            # Past the best match so far, only a name that starts before it can still win.
            limit = endpos if best is None else min(endpos, best.start() + self._longest + 1)
            found = pattern.search(string, pos, limit)
            if found is not None and (
                best is None
                or found.start() < best.start()
                or (found.start() == best.start() and found.end() > best.end())
            ):
                best = found
        return best


def alternation(names: Sequence[str], prefix: str, suffix: str, flags: int = 0) -> re.Pattern[str]:
    """``prefix(?:a|b|…)suffix``, longest name first, so that the longest name at an offset wins."""
    ordered = sorted(names, key=len, reverse=True)
    return re.compile(prefix + "(?:" + "|".join(re.escape(n) for n in ordered) + ")" + suffix, flags)
