"""Small wording helpers shared by every report: counts in words, statements on one line."""

from __future__ import annotations


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 entry``, ``2 entries``."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def shorten(text: str, limit: int = 300) -> str:
    """``text`` cut to ``limit`` characters on one line, for terminal and JUnit text."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def listed(names: list[str], shown: int = 3) -> str:
    """``a, b, c`` or ``a, b, c and 4 more``: names in a verdict line stay one line."""
    head = ", ".join(names[:shown])
    return head if len(names) <= shown else f"{head} and {len(names) - shown} more"
