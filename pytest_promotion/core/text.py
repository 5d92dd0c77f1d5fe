"""Small wording helpers shared by every report: counts in words, statements on one line."""

from __future__ import annotations

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 entry``, ``2 entries``."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def _escaped(char: str) -> str:
    """``\\n``, ``\\x1b``, ``\\u202e``: a character that must not reach a terminal or CI log as itself."""
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with control, format, line-separator and surrogate characters shown escaped (``\\n``).

    Text from a migration (a Prisma 8 op's label or id) is printed to the terminal and CI logs: a
    raw newline there could start a line with ``::``, which GitHub Actions runs as a workflow
    command (``::stop-commands::`` silences every annotation after it), and ESC sequences rewrite
    the terminal. Escaped, the text stays on its line and reads as written.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def shorten(text: str, limit: int = 300) -> str:
    """``text`` cut to ``limit`` characters on one line, for terminal and JUnit text."""
    flat = printable(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def listed(names: list[str], shown: int = 3) -> str:
    """``a, b, c`` or ``a, b, c and 4 more``: names in a verdict line stay one line."""
    head = ", ".join(names[:shown])
    return head if len(names) <= shown else f"{head} and {len(names) - shown} more"
