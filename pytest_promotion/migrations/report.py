"""What the controller writes at the end: terminal summary, GitHub annotations, JSON report."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator

from pytest_promotion.core.text import plural, shorten
from pytest_promotion.migrations.baseline import write_atomic
from pytest_promotion.migrations.gate import GateConfig, Outcome
from pytest_promotion.migrations.rules import RULES
from pytest_promotion.migrations.rules.destructive_operation import ID as DESTRUCTIVE_OPERATION
from pytest_promotion.migrations.scan import Finding

REPORT_VERSION = 1


def summary_lines(outcome: Outcome, config: GateConfig) -> Iterator[str]:
    """The terminal summary; it ends with the command that fixes what it reports."""
    baseline = config.display(config.baseline_path)
    if outcome.refresh is not None:
        r = outcome.refresh
        yield f"baseline: {r.added} added, {r.removed} removed, {r.kept} kept ({baseline})"
        return
    if outcome.new:
        migrations = len({f.migration for f in outcome.new})
        yield (
            f"{plural(len(outcome.new), 'new risky statement')} in {plural(migrations, 'migration')} "
            f"not in {baseline}:"
        )
        for f in outcome.new:
            yield f"  {config.display(config.migrations_dir / f.path)}:{f.line}: {f.rule} — {shorten(f.statement, 120)}"
        yield f"By rule: {rule_counts(outcome.new)}"
        yield f"Review them, then accept with: {config.accept_command}"
    if outcome.stale:
        verdict = "fails the run (--strict-baseline)" if config.strict else "not a failure"
        yield f"{plural(len(outcome.stale), 'baseline entry', 'baseline entries')} in {baseline} {'matches' if len(outcome.stale) == 1 else 'match'} nothing ({verdict}):"
        for e in outcome.stale:
            yield f"  {e.migration}: {e.rule} — {shorten(e.statement, 120)}"
        yield f"Remove them with: {config.accept_command}"
    if outcome.notes:
        yield (
            f"{plural(len(outcome.notes), 'Prisma 8 operation')} of class destructive or data matched by no rule "
            f"(not a failure; rules = [..., {DESTRUCTIVE_OPERATION!r}] makes each one):"
        )
        for n in outcome.notes:
            yield f"  {config.display(config.migrations_dir / n.path)}:{n.line}: {n.text()}"
    if not outcome.new and not outcome.stale and not outcome.unreadable:
        yield (
            f"{plural(len(outcome.baselined) + len(outcome.new), 'risky statement')} found, "
            f"all reviewed in {baseline}"
        )


def rule_counts(findings: list[Finding]) -> str:
    """``drop-column 120, truncate 3``: most frequent first, then in rule order."""
    counts = Counter(f.rule for f in findings)
    order = list(RULES)
    ranked = sorted(
        counts, key=lambda rule: (-counts[rule], order.index(rule) if rule in order else len(order))
    )
    return ", ".join(f"{rule} {counts[rule]}" for rule in ranked)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(outcome: Outcome, config: GateConfig) -> Iterator[str]:
    """GitHub Actions ``::error`` workflow commands, one per new finding."""
    for f in outcome.new:
        path = config.display(config.migrations_dir / f.path)
        at = f"{f.where}: " if f.where else ""
        message = f"{at}{shorten(f.statement, 200)} — {RULES[f.rule].advice(f.statement)[0]} Accept after review: {config.accept_command}"
        yield f"::error file={_escape_property(path)},line={f.line},title={_escape_property(f.rule)}::{_escape_data(message)}"


def _finding_json(f: Finding, status: str) -> dict[str, object]:
    data: dict[str, object] = {
        "path": f.path,
        "line": f.line,
        "rule": f.rule,
        "statement": f.statement,
        "fingerprint": f.fingerprint,
        "status": status,
    }
    if f.where:
        data["operation"] = f.where
    return data


def render_report(outcome: Outcome) -> bytes:
    """The ``--migrations-report`` JSON document."""
    rows = [_finding_json(f, "new") for f in outcome.new] + [
        _finding_json(f, "baselined") for f in outcome.baselined
    ]
    rows.sort(key=lambda r: (str(r["path"]), int(r["line"]), str(r["rule"]), str(r["status"])))  # type: ignore[call-overload]
    document = {
        "version": REPORT_VERSION,
        "findings": rows,
        "stale": [e.as_json() for e in outcome.stale],
    }
    if outcome.notes:
        document["notes"] = [
            {"path": n.path, "line": n.line, "operation": n.where, "class": n.op_class} for n in outcome.notes
        ]
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_report(outcome: Outcome, config: GateConfig, scrub: Callable[[str], str] = str) -> None:
    """Write the JSON report when one was asked for, secrets scrubbed (a statement may quote one)."""
    if config.report_path is not None:
        write_atomic(config.report_path, scrub(render_report(outcome).decode("utf-8")).encode("utf-8"))
