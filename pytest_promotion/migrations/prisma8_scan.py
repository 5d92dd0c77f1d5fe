"""Scanning a Prisma 8 package: every SQL string it runs, through the same rules as ``migration.sql``.

Each ``sql`` string goes through :func:`~pytest_promotion.migrations.scan.scan_text` on its own
(one string may hold several statements), so a finding's identity — rule and normalised
statement — is the one a ``migration.sql`` holding that statement would give, and the baseline
works unchanged. Findings are located at the line of the string's ``"sql"`` key in ``ops.json``.

Two things only a whole package shows are added here. An enum in Prisma 8 is a CHECK constraint,
so removing a value is ``DROP CONSTRAINT`` + ``ADD CONSTRAINT … CHECK (col IN (…))``: reported as
``alter-type``, as PostgreSQL's enum value removal is. And an operation Prisma itself classes as
``destructive`` or ``data`` that no rule matched is listed as a note, or is a
``destructive-operation`` finding when that rule is on.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pytest_promotion.core.text import printable
from pytest_promotion.migrations.lexer import Kind, Token, statement_spans, tokenize
from pytest_promotion.migrations.prisma8 import (
    OPS_FILE,
    RISKY_CLASSES,
    Package,
    PackageIntegrityError,
    SqlStep,
    gated_folder,
    integrity_problems,
    operation_name,
    package_dirs,
    read_package,
)
from pytest_promotion.migrations.rules import RULES, Rule, select_rules
from pytest_promotion.migrations.rules.destructive_operation import ID as DESTRUCTIVE_OPERATION
from pytest_promotion.migrations.scan import (
    Finding,
    MigrationFileError,
    fingerprint,
    migration_files,
    scan_text,
)
from pytest_promotion.migrations.scan import scan as scan_sql_folder
from pytest_promotion.migrations.statement import Statement, name_key, normalize

ALTER_TYPE = "alter-type"
NOTE_TEXT = "destructive/data operation, not matched by a rule"


@dataclass(frozen=True)
class Note:
    """An operation Prisma classes as destructive or data that no selected rule matched."""

    migration: str
    line: int
    where: str
    op_class: str

    @property
    def path(self) -> str:
        """The file, relative to the migrations folder."""
        return f"{self.migration}/{OPS_FILE}"

    def text(self) -> str:
        """``op 2 "…" (id), class data: destructive/data operation, not matched by a rule``."""
        return f"{self.where}, class {self.op_class}: {NOTE_TEXT}"


@dataclass(frozen=True)
class PackageScan:
    """What one package holds: findings in ``ops.json`` order, and notes."""

    findings: list[Finding]
    notes: list[Note]


@dataclass(frozen=True)
class _Check:
    """``ADD CONSTRAINT name CHECK (column IN ('a', 'b'))`` on a table."""

    table: str
    name: str
    column: str
    column_text: str
    values: frozenset[str]
    statement: str


def _alter_actions(step: SqlStep) -> Iterator[tuple[str, list[Token], str]]:
    """``(table key, action tokens from the verb on, statement text of the action)`` of each ALTER TABLE action."""
    sql, dialect = step.sql, step.dialect
    for start, end in statement_spans(sql, dialect):
        stmt = Statement(tokenize(sql, dialect, start, end))
        alter = stmt.alter_table(0) if stmt.tokens else None
        if alter is None:
            continue
        for action in alter.actions:
            if not action.continuation:
                yield name_key(alter.table), [action.start, *action.args], alter.text(action)


def _dropped_constraint(tokens: list[Token]) -> Token | None:
    words = [t for t in tokens if not t.is_word("IF", "EXISTS")]
    if len(words) >= 3 and words[0].is_word("DROP") and words[1].is_word("CONSTRAINT"):
        return words[2]
    return None


def _enum_check(table: str, tokens: list[Token], statement: str) -> _Check | None:
    """The check of an ``ADD CONSTRAINT n CHECK ("col" IN ('a', …))`` action, or None."""
    t = tokens
    if not (len(t) >= 8 and t[0].is_word("ADD") and t[1].is_word("CONSTRAINT") and t[3].is_word("CHECK")):
        return None
    inner = t[4:]
    while len(inner) >= 2 and inner[0].text == "(" and inner[-1].text == ")":
        inner = inner[1:-1]
    if len(inner) < 4 or inner[0].kind not in (Kind.WORD, Kind.IDENT) or not inner[1].is_word("IN"):
        return None
    listed = inner[3:-1] if inner[2].text == "(" and inner[-1].text == ")" else []
    values = [tok.text[1:-1].replace("''", "'") for tok in listed if tok.kind is Kind.STRING]
    if not values or any(tok.kind is not Kind.STRING and tok.text != "," for tok in listed):
        return None
    return _Check(table, name_key(t[2]), name_key(inner[0]), inner[0].text, frozenset(values), statement)


def _checks_in_ops(ops: Sequence[SqlStep]) -> dict[str, _Check]:
    found: dict[str, _Check] = {}
    for step in ops:
        if step.phase != "execute":
            continue
        for table, tokens, statement in _alter_actions(step):
            check = _enum_check(table, tokens, statement)
            if check is not None:
                found[check.name] = check
    return found


def _earlier_definition(name: str, package: Package, before_op: int) -> _Check | None:
    """The latest ``ADD CONSTRAINT name CHECK …`` before this point: in this package, then older ones."""
    here = _checks_in_ops([s for s in package.steps if s.op_number < before_op])
    if name in here:
        return here[name]
    with os.scandir(package.folder.parent) as entries:
        older = sorted(e.name for e in entries if e.is_dir() and e.name < package.name)
    for folder_name in reversed(older):  # the nearest earlier definition wins
        folder = package.folder.parent / folder_name
        try:
            if name.encode() not in (folder / OPS_FILE).read_bytes().lower():
                continue
            earlier = read_package(folder, folder.name)
        except (OSError, ValueError):
            continue  # not a package, or its own item reports what is wrong with it
        checks = _checks_in_ops(earlier.steps)
        if name in checks:
            return checks[name]
    return None


def _is_check_drop(step: SqlStep, package: Package) -> bool:
    op = package.ops[step.op_number - 1]
    target = op.get("target", {}) if isinstance(op, dict) else {}
    details = target.get("details", {}) if isinstance(target, dict) else {}
    kind = details.get("objectType") if isinstance(details, dict) else None
    return kind == "checkConstraint" or step.op_id.startswith("dropCheckConstraint")


def enum_value_removals(package: Package) -> Iterator[tuple[SqlStep, int, str, str]]:
    """``(step, operation that dropped the old check, statement, detail)`` for each CHECK enum re-created with fewer values.

    A check that was dropped and is added again on the same table and column is an enum change;
    it is reported unless its old values are known and all still allowed (a value added).
    """
    if not any(_DROP_CONSTRAINT.search(s.sql) for s in package.steps if s.phase == "execute"):
        return  # the common case, decided without tokenizing anything
    drops: dict[str, list[tuple[SqlStep, Token]]] = {}
    for step in package.steps:
        if step.phase != "execute":
            continue
        for table, tokens, statement in _alter_actions(step):
            dropped = _dropped_constraint(tokens)
            if dropped is not None:
                drops.setdefault(table, []).append((step, dropped))
                continue
            check = _enum_check(table, tokens, statement)
            if check is None or table not in drops:
                continue
            for drop_step, dropped_name in drops[table]:
                name = dropped_name.text
                old = _earlier_definition(name_key(dropped_name), package, drop_step.op_number)
                if old is None and not _is_check_drop(drop_step, package):
                    continue
                if old is not None and old.column != check.column:
                    continue
                if old is None:
                    yield (
                        step,
                        drop_step.op_number,
                        statement,
                        f"replaces check {name} whose values are unknown here",
                    )
                elif removed := sorted(old.values - check.values):
                    values = ", ".join(repr(v) for v in removed)
                    yield (
                        step,
                        drop_step.op_number,
                        statement,
                        f"removes enum value {values} of {check.column_text} (check {name})",
                    )
                break


def _scan_step(step: SqlStep, rules: tuple[Rule, ...], migration: str) -> list[Finding]:
    return [
        replace(f, line=step.line, file=OPS_FILE, where=step.where)
        for f in scan_text(step.sql, step.dialect, rules, migration)
    ]


_DROP_CONSTRAINT = re.compile(r"\bDROP\s+CONSTRAINT\b", re.IGNORECASE)
_SEPARATOR = "\n;\n"
# Any word that could open a routine body, which the scanner keeps whole across ';' (and so could
# swallow the next step): broader than the scanner's own test, so joining is never wrong, only skipped.
_ROUTINE = re.compile(r"\b(?:TRIGGER|FUNCTION|PROCEDURE|PROC|RULE|EVENT)\b", re.IGNORECASE)


def _scan_joined(steps: Sequence[SqlStep], rules: tuple[Rule, ...], migration: str) -> list[Finding] | None:
    """Findings of all steps joined in order, as if one ``migration.sql``; None when joining is unsafe.

    One scan per package instead of one per string, and rules that exempt a table created earlier
    in the same migration see the steps before. The runner sends each string alone, though, so
    this is used only when joining changes nothing else: one dialect, every separator still ends a
    statement (no quote or comment runs across), and no routine body that could swallow the next step.
    """
    if not steps or len({s.dialect.name for s in steps}) != 1 or any(_ROUTINE.search(s.sql) for s in steps):
        return None
    dialect = steps[0].dialect
    text = _SEPARATOR.join(s.sql for s in steps) + _SEPARATOR
    starts, ends, offset = [], set(), 0
    for step in steps:
        starts.append(text.count("\n", 0, offset) + 1)
        ends.add(offset + len(step.sql) + 1)
        offset += len(step.sql) + len(_SEPARATOR)
    if not ends <= {end for _, end in statement_spans(text, dialect)}:
        return None
    found = []
    for f in scan_text(text, dialect, rules, migration):
        step = steps[bisect_right(starts, f.line) - 1]
        found.append(replace(f, line=step.line, file=OPS_FILE, where=step.where))
    return found


def _scan_steps(package: Package, rules: tuple[Rule, ...]) -> list[Finding]:
    """The joined steps in one scan when that is safe; otherwise each string alone, as the runner sends it.

    Alone, a rule that exempts tables created earlier in the migration sees no earlier step and
    reports more, never less.
    """
    joined = _scan_joined(package.steps, rules, package.name)
    if joined is not None:
        return joined
    order = {rule.id: k for k, rule in enumerate(RULES.values())}
    findings = [f for step in package.steps for f in _scan_step(step, rules, package.name)]
    return sorted(findings, key=lambda f: (f.line, order[f.rule]))


def _operation_statement(steps: Sequence[SqlStep]) -> str:
    """Identity text of a whole operation: its execute SQL, normalised, one statement after another."""
    chosen = [s for s in steps if s.phase == "execute"] or list(steps)
    parts = []
    for step in chosen:
        for start, end in statement_spans(step.sql, step.dialect):
            tokens = tokenize(step.sql, step.dialect, start, end)
            if tokens:
                parts.append(normalize(tokens))
    return "; ".join(parts)


def scan_package(package: Package, rules: tuple[Rule, ...]) -> PackageScan:
    """Findings of every SQL string the package runs, in ``ops.json`` order, and its notes."""
    findings: list[Finding] = []
    by_op: dict[int, list[Finding]] = {}
    op_at = {(s.line, s.where): s.op_number for s in package.steps}
    for finding in _scan_steps(package, rules):
        findings.append(finding)
        by_op.setdefault(op_at[(finding.line, finding.where)], []).append(finding)
    if RULES[ALTER_TYPE] in rules:
        for step, drop_op, statement, detail in enum_value_removals(package):
            finding = Finding(
                package.name,
                step.line,
                ALTER_TYPE,
                statement,
                fingerprint(ALTER_TYPE, statement),
                OPS_FILE,
                f"{step.where}; {printable(detail)}",  # names from the SQL may hold newlines
            )
            findings.append(finding)
            by_op.setdefault(step.op_number, []).append(finding)
            by_op.setdefault(drop_op, []).append(finding)  # the DROP CONSTRAINT half of the change
    notes: list[Note] = []
    opt_in = RULES[DESTRUCTIVE_OPERATION] in rules
    for number, op in enumerate(package.ops, start=1):
        op_class = op.get("operationClass") if isinstance(op, dict) else None
        if op_class not in RISKY_CLASSES or by_op.get(number):
            continue
        steps = [s for s in package.steps if s.op_number == number]
        first = next((s for s in steps if s.phase == "execute"), steps[0] if steps else None)
        line = first.line if first is not None else package.op_lines[number - 1]
        where = (
            first.where if first is not None else operation_name(number, op.get("label", ""), op.get("id"))
        )
        if opt_in:
            statement = _operation_statement(steps) or f"operation {op.get('id')}"
            findings.append(
                Finding(
                    package.name,
                    line,
                    DESTRUCTIVE_OPERATION,
                    statement,
                    fingerprint(DESTRUCTIVE_OPERATION, statement),
                    OPS_FILE,
                    f"{where}; class {op_class}",
                )
            )
        else:
            notes.append(Note(package.name, line, where, str(op_class)))
    findings.sort(key=lambda f: f.line)  # stable: the scanner's order within a line is kept
    return PackageScan(findings, notes)


def scan_migrations(directory: str | Path, rules: Sequence[str] = ("default",)) -> list[Finding]:
    """Scan a Prisma migrations folder of either layout and return every risky command, in order.

    ``<name>/migration.sql`` files are scanned as :func:`pytest_promotion.migrations.scan.scan` does,
    Prisma 8 packages (``<name>/ops.json``; ``migrations`` means its ``app/``) as the gate does; a
    package whose files disagree raises :class:`PackageIntegrityError`.

    >>> from pytest_promotion.migrations import scan
    >>> for finding in scan("migrations/app"):  # doctest: +SKIP
    ...     print(finding.path, finding.line, finding.rule, finding.where)
    """
    folder = gated_folder(Path(directory))
    findings = scan_sql_folder(folder, rules)  # <name>/migration.sql, if any
    sql = {f.migration for f in findings} | {p.parent.name for p in migration_files(folder)}
    selected = select_rules(rules)
    for path in package_dirs(folder):
        if path.name in sql:
            raise MigrationFileError(
                f"{path}: holds both migration.sql (Prisma <= 7) and ops.json (Prisma 8). Remove the one "
                "your Prisma does not run."
            )
        package = read_package(path, path.as_posix())
        problems = integrity_problems(package, path.as_posix())
        if problems:
            raise PackageIntegrityError("\n".join(problems))
        findings += scan_package(package, selected).findings
    return sorted(findings, key=lambda f: f.migration)  # stable: each file's own order is kept
