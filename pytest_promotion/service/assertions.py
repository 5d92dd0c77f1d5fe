"""What an answer must hold beyond its status: JSON values at a path, headers, text in the body.

Judged where the whole body is at hand (in the transport, before the body is cut for display), and
kept as readable lines — path, expected, actual — scrubbed of secrets and cut after scrubbing, so
an exchange shared between xdist workers carries its verdict and never the body.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_promotion.core.redact import Redactor

REGEX_PREFIX = "re:"
"""A string expected value starting with this is a regular expression, searched in the actual string."""
SHOWN_CHARS = 120
_MISSING = object()


@dataclass(frozen=True)
class Expectations:
    """The assertions of one entry: plain data, so a :class:`Call` can carry them."""

    json_values: Mapping[str, Any] = field(default_factory=dict)
    """Dotted path (``checks.db``, ``items.0.id``) -> expected value."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header name (any case) -> glob its value must match (``application/json*``)."""
    body_contains: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.json_values or self.headers or self.body_contains)


def compile_check(expected: Any) -> str | None:
    """Why an expected value cannot be used (a bad regular expression), or None."""
    if isinstance(expected, str) and expected.startswith(REGEX_PREFIX):
        try:
            re.compile(expected[len(REGEX_PREFIX) :])
        except re.error as exc:
            return f"{expected!r} is not a valid regular expression ({exc})"
    return None


def at_path(document: Any, dotted: str) -> Any:
    """The value at ``a.b.0.c`` (a number indexes an array), or ``_MISSING``."""
    node = document
    for part in dotted.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def same(expected: Any, actual: Any) -> bool:
    """JSON equality: ``1 == 1.0``, but ``true`` is not ``1``; tables and arrays compared deeply."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return expected.keys() == actual.keys() and all(same(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(same, expected, actual))
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def _shown(value: Any, redactor: Redactor) -> str:
    return redactor.cut(json.dumps(value, ensure_ascii=False), SHOWN_CHARS)


def json_mismatches(values: Mapping[str, Any], document: Any, redactor: Redactor) -> list[str]:
    """One line per path whose value is not the expected one."""
    lines = []
    for path, expected in values.items():
        actual = at_path(document, path)
        if actual is _MISSING:
            lines.append(f"json {path}: missing, expected {_shown(expected, redactor)}")
        elif isinstance(expected, str) and expected.startswith(REGEX_PREFIX):
            pattern = expected[len(REGEX_PREFIX) :]
            if not isinstance(actual, str) or re.search(pattern, actual) is None:
                lines.append(
                    f"json {path}: expected a match for /{redactor.cut(pattern, SHOWN_CHARS)}/, "
                    f"got {_shown(actual, redactor)}"
                )
        elif not same(expected, actual):
            lines.append(
                f"json {path}: expected {_shown(expected, redactor)}, got {_shown(actual, redactor)}"
            )
    return lines


def mismatches(
    expect: Expectations, document: Any, headers: Mapping[str, str], text: str, redactor: Redactor
) -> tuple[str, ...]:
    """Every assertion the answer fails, as readable lines (empty when it holds them all)."""
    lines: list[str] = []
    if expect.json_values:
        if isinstance(document, dict | list):
            lines += json_mismatches(expect.json_values, document, redactor)
        else:
            lines.append("the body is not JSON, so its values could not be checked")
    lowered = {name.lower(): value for name, value in headers.items()}
    for name, pattern in expect.headers.items():
        value = lowered.get(name.lower())
        if value is None:
            lines.append(f"header {name}: missing, expected {pattern!r}")
        elif not fnmatch.fnmatchcase(value, pattern):
            lines.append(f"header {name}: expected {pattern!r}, got {redactor.cut(value, SHOWN_CHARS)!r}")
    for needle in expect.body_contains:
        if needle not in text:
            lines.append(f"body does not contain {redactor.cut(needle, SHOWN_CHARS)!r}")
    return tuple(redactor.scrub(line) for line in lines)
