"""GitHub annotations for the gate's new findings, capped at what GitHub shows for one step.

GitHub Actions displays at most 10 error annotations per step (and 50 per job) and silently drops
the rest (actions/toolkit, docs/problem-matchers.md, "Limitations"). Printing 347 ``::error``
lines hides 337 of them without a word, so only the first ten are printed and the line after
them says how many more there are and where they are listed.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.core.text import plural
from pytest_promotion.migrations.gate import GateConfig, Outcome
from pytest_promotion.migrations.report import github_annotations

ERRORS_PER_STEP = 10
"""GitHub's documented limit of error annotations it displays for one step."""


def capped_annotations(outcome: Outcome, config: GateConfig, cap: int = ERRORS_PER_STEP) -> Iterator[str]:
    """At most ``cap`` ``::error`` lines, then one line counting the findings left out."""
    lines = list(github_annotations(outcome, config))
    yield from lines[:cap]
    hidden = len(lines) - cap
    if hidden > 0:
        yield (
            f"{plural(hidden, 'more new risky statement')} not annotated (GitHub shows {cap} error annotations "
            "per step): all are listed above and in the job's step summary"
        )
