"""The ``--migrations-sarif`` file: the gate's findings as SARIF 2.1.0, for GitHub code scanning.

One result per finding, at its file (relative to the repository root) and line. New findings are
errors; baselined ones carry an ``external`` suppression whose justification is the baseline
entry's reason, so code scanning shows them as dismissed instead of hiding or re-raising them.
Written by the controller alone, atomically and deterministically, like the JSON report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pytest_promotion.migrations.baseline import Entry, finding_key, write_atomic
from pytest_promotion.migrations.gate import GateConfig, Outcome
from pytest_promotion.migrations.rules import RULES, Rule
from pytest_promotion.migrations.scan import Finding

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL = "pytest-promotion"


def repository_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``.git`` (code scanning's paths start there)."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + (dot.strip() or "")


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": _first_sentence(rule.reason)},
        "fullDescription": {"text": rule.reason},
        "help": {"text": f"Instead: {rule.instead}", "markdown": f"**Instead:** {rule.instead}"},
        "defaultConfiguration": {"level": "error"},
    }


def _reasons(entries: Iterable[Entry]) -> dict[tuple[str, str, str], list[str]]:
    pools: dict[tuple[str, str, str], list[str]] = {}
    for entry in entries:
        pools.setdefault(entry.key, []).append(entry.reason or "")
    return pools


def render_sarif(outcome: Outcome, config: GateConfig, entries: Sequence[Entry]) -> bytes:
    """The SARIF log of one run: rules used, new findings as errors, baselined ones suppressed."""
    if outcome.refresh is not None:  # --update-baseline: everything found is now accepted
        new: list[Finding] = []
        accepted = sorted(outcome.new + outcome.baselined)
        pools = _reasons(outcome.refresh.entries)
    else:
        new, accepted, pools = outcome.new, outcome.baselined, _reasons(entries)
    base = repository_root(config.root)
    rule_ids = sorted({f.rule for f in new + accepted}, key=list(RULES).index)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    baseline = config.display(config.baseline_path)

    def result(f: Finding, suppressed: bool) -> dict[str, Any]:
        path = config.migrations_dir / f.path
        try:
            uri = path.relative_to(base).as_posix()
        except ValueError:
            uri = path.as_posix()
        rule = RULES[f.rule]
        data: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": "error",
            "message": {"text": f"{f.statement} — {rule.reason}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": f.line},
                    }
                }
            ],
            "partialFingerprints": {"promotionFingerprint/v1": f"{f.migration}:{f.fingerprint}"},
        }
        if suppressed:
            pool = pools.get(finding_key(f)) or [""]
            reason = pool.pop(0) if len(pool) > 1 else pool[0]
            data["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": reason or f"accepted in {baseline} (no reason given)",
                }
            ]
        return data

    results = [result(f, False) for f in new] + [result(f, True) for f in accepted]
    results.sort(
        key=lambda r: (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["ruleId"],
        )
    )
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL,
                        "rules": [_rule(RULES[rule_id]) for rule_id in rule_ids],
                    }
                },
                "results": results,
            }
        ],
    }
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_sarif(
    outcome: Outcome, config: GateConfig, entries: Sequence[Entry], scrub: Callable[[str], str] = str
) -> None:
    """Write the SARIF file when one was asked for, secrets scrubbed (a statement may quote one)."""
    if config.sarif_path is not None:
        text = render_sarif(outcome, config, entries).decode("utf-8")
        write_atomic(config.sarif_path, scrub(text).encode("utf-8"))
