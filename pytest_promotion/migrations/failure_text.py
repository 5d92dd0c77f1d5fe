"""A failing migration's text, shaped by ``--tb``: the volume stays readable at hundreds of items.

- default (``auto``/``long``/``native``): every finding with its why and its safer alternative;
- ``short``: why/instead only the first time a rule appears in the run (per process under xdist);
- ``line``: one line per finding, ``file:line: rule — statement``, and nothing else;
- ``no``: pytest prints no failure text at all.

Under ``--tb=line`` pytest writes the failure text and then the crash line, so the last finding
becomes the crash line: exactly one line per finding, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_promotion.core.text import plural, shorten
from pytest_promotion.migrations.rules import RULES
from pytest_promotion.migrations.scan import Finding


@dataclass(frozen=True)
class FailureText:
    """What ``repr_failure`` hands to :class:`~pytest_promotion.core.failures.FailureRepr`."""

    text: str
    line: int
    summary: str


def describe(finding: Finding, explain: bool = True) -> str:
    """One finding: where and what, then (when ``explain``) why and what to do instead.

    The why and instead fit the statement's form (an ``ALTER TYPE … ADD VALUE`` is not a removal);
    a Prisma 8 finding also names its operation and step.
    """
    head = f"  line {finding.line}: {finding.rule} — {shorten(finding.statement)}"
    at = f"\n      at: {finding.where}" if finding.where else ""
    if not explain:
        return head + at
    reason, instead = RULES[finding.rule].advice(finding.statement)
    return f"{head}{at}\n      why: {reason}\n      instead: {instead}"


def failure_text(
    findings: Sequence[Finding],
    *,
    path: str,
    baseline: str,
    accept_command: str,
    style: str,
    explained: set[str],
    notes: Sequence[str] = (),
) -> FailureText:
    """The failure of one migration with new ``findings``; ``explained`` collects rules already explained."""
    count = plural(len(findings), "risky statement")
    if style == "line":
        lines = [f"{path}:{f.line}: {f.rule} — {shorten(f.statement, 120)}" for f in findings]
        last = findings[-1]
        summary = f"{last.rule} — {shorten(last.statement, 120)}"
        if len(findings) > 1:
            summary += f" ({count} in this migration)"
        return FailureText("\n".join(lines[:-1]), last.line, summary)
    described = []
    for f in findings:
        explain = style != "short" or f.rule not in explained
        explained.add(f.rule)
        described.append(describe(f, explain))
    lines = [
        f"{path}: {count} not in the reviewed baseline ({baseline})",
        *described,
        *notes,
        f"Review, then accept with: {accept_command}",
    ]
    rules = ", ".join(sorted({f.rule for f in findings}))
    summary = f"{count} not in the baseline ({rules}), first on line {findings[0].line}"
    return FailureText("\n".join(lines), findings[0].line, summary)
