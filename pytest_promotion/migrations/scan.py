"""The scan engine: a migration's text in, the risky commands it holds out.

Only statements whose raw text could hold a risky keyword are tokenized (see ``lexer``), so a
history of thousands of ``CREATE TABLE`` statements costs one regex pass. Routine bodies
(triggers, procedures, rules) are kept whole and never scanned: they run later, not when the
migration does. ``DO`` blocks run at migration time, so their bodies are scanned like a file.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pytest_promotion.migrations.dialects import Dialect, dialect_for
from pytest_promotion.migrations.lexer import Kind, Token, statement_spans, tokenize
from pytest_promotion.migrations.rules import RULES, Rule, select_rules
from pytest_promotion.migrations.statement import FileContext, Statement

MIGRATION_FILE = "migration.sql"

_ROUTINE_HEAD = re.compile(
    # Possessive: leading comments are skipped once, never re-split (no backtracking blow-up).
    r"(?:\s|--[^\n]*|/\*(?:[^*]|\*(?!/))*\*/)*+CREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?"
    r"(?:(?:TEMP|TEMPORARY|CONSTRAINT|DEFINER\s*=\s*\S+)\s+)*(?:TRIGGER|FUNCTION|PROCEDURE|PROC|RULE|EVENT)\b",
    re.IGNORECASE | re.DOTALL,
)
_CONTEXT_TRIGGER = re.compile(r"\b(?:CREATE|DROP)\b", re.IGNORECASE)
_NOT_BLOCKS = frozenset({"TRAN", "TRANSACTION", "WORK", "DISTRIBUTED"})
_END_OF_STATEMENT_BLOCKS = frozenset({"IF", "LOOP", "WHILE", "REPEAT", "FOR"})
_HEAD_CHARS = 256


@dataclass(frozen=True, order=True)
class Finding:
    """One risky command in one migration, as reported and as recorded in the baseline."""

    migration: str
    """The migration's folder name, e.g. ``20240105093000_init``."""
    line: int
    """1-based line where the command (or ALTER TABLE action) starts."""
    rule: str
    statement: str
    """Normalised text: whitespace, comments and keyword case do not change it."""
    fingerprint: str
    """Short hash of rule and statement: the identity a baseline entry matches."""
    file: str = MIGRATION_FILE
    """The file inside the migration's folder (``ops.json`` for a Prisma 8 package)."""
    where: str = ""
    """Where in that file, beyond the line: a Prisma 8 operation and step, e.g. ``op 2 "…" (id), execute[0]``."""

    @property
    def path(self) -> str:
        """The file, relative to the migrations folder, with forward slashes."""
        return f"{self.migration}/{self.file}"


class MigrationFileError(Exception):
    """A migration file that cannot be scanned; the message says which and what to do."""


def fingerprint(rule: str, statement: str) -> str:
    """Identity of a finding: changes when the statement changes, not when it moves."""
    return hashlib.sha256(f"{rule}\n{statement}".encode()).hexdigest()[:16]


def decode_migration(raw: bytes, path: Path | str) -> str:
    """Text of a migration file; a BOM is dropped, non-UTF-8 bytes are a clear error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise MigrationFileError(
            f"{path}: is not valid UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}). "
            "Prisma reads migrations as UTF-8: re-save the file as UTF-8, then run again."
        ) from None
    return text.removeprefix("\ufeff")


@dataclass(frozen=True)
class _Prefilter:
    """Where a rule could fire: rule keywords found in one fast pass over upper-cased text."""

    words: re.Pattern[str]
    refine: dict[str, tuple[re.Pattern[str], ...] | None]

    def marks(self, text: str, start: int, end: int) -> list[int]:
        """Offsets of keywords that pass their refinement, in order."""
        upper = text.upper()
        if len(upper) != len(text):  # a few characters grow when upper-cased ("ß" -> "SS")
            upper = "".join(c if len(c.upper()) != 1 else c.upper() for c in text)
        found: list[int] = []
        for m in self.words.finditer(upper, start, end):
            pos = m.start()
            if pos > 0 and (upper[pos - 1].isalnum() or upper[pos - 1] in "_$"):
                continue
            narrow = self.refine[m.group()]
            if narrow is None or any(p.match(upper, pos, end) for p in narrow):
                found.append(pos)
        return found


@cache
def _prefilter(rules: tuple[Rule, ...], dialect: Dialect) -> _Prefilter:
    refine: dict[str, list[re.Pattern[str]] | None] = {}
    for rule in rules:
        keywords = {**rule.keywords, **rule.dialect_keywords.get(dialect.name, {})}
        for word, pattern in keywords.items():
            if pattern is None:
                refine[word] = None
            elif refine.setdefault(word, []) is not None:
                refine[word].append(re.compile(pattern))  # type: ignore[union-attr]
    words = re.compile("(?:" + "|".join(sorted(refine, key=len, reverse=True)) + r")\b")
    return _Prefilter(words, {w: None if p is None else tuple(p) for w, p in refine.items()})


def _open_blocks(tokens: Sequence[Token]) -> int:
    """Parentheses and BEGIN/CASE … END blocks still open at the end of ``tokens``."""
    depth = 0
    for k, tok in enumerate(tokens):
        nxt = tokens[k + 1] if k + 1 < len(tokens) else None
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        elif tok.is_word("CASE") or (tok.is_word("BEGIN") and not (nxt and nxt.is_word(*_NOT_BLOCKS))):
            depth += 1
        elif tok.is_word("END") and not (nxt and nxt.is_word(*_END_OF_STATEMENT_BLOCKS)):
            depth -= 1
    return depth


def _head_tokens(text: str, dialect: Dialect, start: int, end: int) -> list[Token]:
    """The first few tokens of a statement, without tokenizing a long CREATE TABLE body."""
    limit = start + _HEAD_CHARS
    while True:
        tokens = tokenize(text, dialect, start, min(end, limit))
        if len(tokens) >= 6 or limit >= end:
            return tokens
        limit += limit - start


def _dollar_body(tok: Token) -> tuple[int, int]:
    tag = tok.text[: tok.text.index("$", 1) + 1]
    closed = len(tok.text) >= 2 * len(tag) and tok.text.endswith(tag)
    return tok.start + len(tag), tok.start + len(tok.text) - (len(tag) if closed else 0)


def iter_hits(
    text: str,
    dialect: Dialect,
    rules: tuple[Rule, ...],
    start: int = 0,
    end: int | None = None,
    ctx: FileContext | None = None,
    marks: list[int] | None = None,
) -> Iterator[tuple[int, Rule, str]]:
    """Yield ``(offset, rule, statement)`` for every risky command in ``text[start:end]``.

    ``marks`` are the pre-filter's hits over the whole text; a DO body reuses its file's.
    """
    end = len(text) if end is None else end
    if marks is None:
        # One regex pass over the whole text: most migrations hold no risky keyword at all and
        # stop here; in the others only statements holding a match are tokenized.
        marks = _prefilter(rules, dialect).marks(text, start, end)
    first = bisect_left(marks, start)
    if first == len(marks) or marks[first] >= end:
        return
    ctx = FileContext(dialect) if ctx is None else ctx
    needs_context = any(rule.uses_context for rule in rules)
    spans = list(statement_spans(text, dialect, start, end))
    idx = 0
    while idx < len(spans):
        s, e = spans[idx]
        idx += 1
        if _ROUTINE_HEAD.match(text, s, e):
            # A body of BEGIN … END holds ';' of its own: keep the definition whole, scan none of it.
            tokens = tokenize(text, dialect, s, e)
            while _open_blocks(tokens) > 0 and idx < len(spans):
                tokens += tokenize(text, dialect, e, spans[idx][1])
                e = spans[idx][1]
                idx += 1
            continue
        mark = bisect_left(marks, s)
        candidate = mark < len(marks) and marks[mark] < e
        if candidate:
            stmt = Statement(tokenize(text, dialect, s, e))
        elif needs_context and _CONTEXT_TRIGGER.search(text, s, e):
            stmt = Statement(_head_tokens(text, dialect, s, e))
        else:
            continue
        if candidate:
            for rule in rules:
                for hit in rule.check(stmt, ctx):
                    yield hit.offset, rule, hit.statement
            if stmt.tokens and stmt.tokens[0].is_word("DO"):
                for tok in stmt.tokens:
                    if tok.kind is Kind.DOLLAR:
                        body_start, body_end = _dollar_body(tok)
                        yield from iter_hits(text, dialect, rules, body_start, body_end, ctx, marks)
        if needs_context:
            ctx.observe(stmt)


_VERSIONED_COMMENT = re.compile(r"/\*!\d*(.*?)\*/", re.DOTALL)


def _unwrap_versioned_comments(text: str) -> str:
    """MySQL runs the body of ``/*!50503 … */``: blank out only the wrapper, keeping offsets."""
    return _VERSIONED_COMMENT.sub(lambda m: " " * (m.start(1) - m.start()) + m.group(1) + "  ", text)


def scan_text(text: str, dialect: Dialect, rules: tuple[Rule, ...], migration: str) -> list[Finding]:
    """Findings of one migration's text, ordered by position, then by rule."""
    if dialect.hash_comments and "/*!" in text:
        text = _unwrap_versioned_comments(text)
    order = {rule.id: k for k, rule in enumerate(RULES.values())}
    hits = sorted(iter_hits(text, dialect, rules), key=lambda h: (h[0], order[h[1].id]))
    findings: list[Finding] = []
    line, counted = 1, 0
    for offset, rule, statement in hits:
        line += text.count("\n", counted, offset)
        counted = offset
        findings.append(
            Finding(
                migration=migration,
                line=line,
                rule=rule.id,
                statement=statement,
                fingerprint=fingerprint(rule.id, statement),
            )
        )
    return findings


def migration_files(directory: Path) -> list[Path]:
    """Every ``<name>/migration.sql`` under ``directory``, in migration (folder name) order."""
    return sorted(
        (p for p in directory.glob(f"*/{MIGRATION_FILE}") if p.is_file()), key=lambda p: p.parent.name
    )


def scan(directory: str | Path, rules: Sequence[str] = ("default",)) -> list[Finding]:
    """Scan a Prisma migrations folder and return every risky command found, in order.

    ``rules`` takes rule ids, ``"default"`` (the five default rules) or ``"all"``. The dialect
    comes from the folder's ``migration_lock.toml``. A file that is not UTF-8 raises
    :class:`MigrationFileError`.

    >>> from pytest_promotion.migrations import scan
    >>> for finding in scan("prisma/migrations"):  # doctest: +SKIP
    ...     print(finding.path, finding.line, finding.rule, finding.statement)
    """
    directory = Path(directory)
    dialect = dialect_for(directory)
    selected = select_rules(rules)
    findings: list[Finding] = []
    for path in migration_files(directory):
        text = decode_migration(path.read_bytes(), path)
        findings.extend(scan_text(text, dialect, selected, path.parent.name))
    return findings
