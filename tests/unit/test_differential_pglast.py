"""The scanner against PostgreSQL's own grammar: per statement, the same default-rule findings.

The oracle reads pglast's parse tree (PostgreSQL 17's parser, and its PL/pgSQL parser for DO
and routine bodies) and decides what each default rule reports from the tree alone. It runs
over every PostgreSQL history in ``../shared/corpus`` and every PostgreSQL rule fixture, and
compares, for each top-level statement, the count of findings per rule.

Deliberate differences, encoded in the oracle below rather than patched over:

1. Statements PostgreSQL cannot parse (fixtures that test unterminated quotes, or other
   dialects' syntax) are not compared; they are counted as "not parsed".
2. ``DROP TABLE a, b`` is one finding (one statement to review), not one per table.
3. Tables created earlier in the file as TEMP (not ON COMMIT DROP), by ``CREATE TABLE … AS``
   or by ``SELECT … INTO`` (not IF NOT EXISTS) are scratch: dropping only such tables, named as
   they were created and not dropped before, is no finding.
4. The body of a function or procedure counts only when the same file calls it (``SELECT
   f()``, ``CALL p()``, ``PERFORM f()``), and then once per definition (a call after CREATE OR REPLACE runs the new body), as findings of the CREATE statement
   that holds the body (that is where the scanner's offsets point). A trigger created here
   on such a routine calls it when a later statement writes its table with one of its events
   (what PostgreSQL does; MERGE counts as every event, INSERT … ON CONFLICT DO UPDATE as both),
   a rule's actions run with a later statement of its event on its table (counted as findings
   of the CREATE RULE, once), and CREATE TABLE … AS (not WITH NO DATA) runs its query. Other
   CREATE statements (views, indexes) run nothing at migration time.
5. Plain ``EXPLAIN`` runs nothing; ``EXPLAIN ANALYZE`` runs its statement.
6. ``EXECUTE`` in PL/pgSQL runs its string now: a literal or a concatenation of literals is
   read as SQL; a computed string is the opt-in dynamic-sql rule, not a default one.
7. Every ``ALTER TYPE`` form is alter-type, and so is a later statement that uses a value that
   ``ADD VALUE`` added in the same file (PostgreSQL refuses it in that transaction).
8. A scratch table's name compares as PostgreSQL names tables (unquoted ASCII letters folded,
   quoted names exact, schema apart): ``"T"`` is not ``t``, and ``"s.t"`` is not ``s.t``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_promotion.migrations.dialects import POSTGRESQL, dialect_for
from pytest_promotion.migrations.rules import select_rules
from pytest_promotion.migrations.scan import iter_hits, migration_files

pglast = pytest.importorskip("pglast")
ast = pytest.importorskip("pglast.ast")
enums = pytest.importorskip("pglast.enums")

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
FIXTURES = REPO / "tests" / "rules" / "fixtures"
DEFAULT = select_rules(["default"])

_TYPES = {"OBJECT_TYPE", "OBJECT_DOMAIN", "OBJECT_EXTENSION"}
# pg_trigger.tgtype's event bits (PostgreSQL's catalog/pg_trigger.h), as CreateTrigStmt.events holds them.
_INSERT, _DELETE, _UPDATE, _TRUNCATE = 1 << 2, 1 << 3, 1 << 4, 1 << 5


def _files() -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    if CORPUS.is_dir():
        for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
            if (folder / "migration_lock.toml").exists() and dialect_for(folder) is POSTGRESQL:
                files += [(folder.name, path) for path in migration_files(folder)]
    for path in sorted(FIXTURES.glob("*/*.sql")):
        head = path.read_text(encoding="utf-8").split("\n", 3)[:3]
        if not any(line.startswith("-- dialect:") and "postgresql" not in line for line in head):
            files.append(("fixtures", path))
    return files


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, tuple | list):
        yield from node
    elif isinstance(node, ast.Node):
        for name in type(node).__slots__:
            value = getattr(node, name, None)
            if isinstance(value, ast.Node | tuple | list):
                yield value


def _name(parts: Any) -> str:
    return str(parts[-1].sval).casefold()


def _qualified(relation: Any) -> str:
    """``schema``, ``table`` of a RangeVar as PostgreSQL names them (unquoted parts already folded)."""
    parts = [relation.schemaname, relation.relname] if relation.schemaname else [relation.relname]
    return "\x1f".join(str(part) for part in parts)


def _scratch(relation: Any, if_not_exists: bool, on_commit: Any, made_as: bool) -> bool:
    """Does this CREATE make a table that a later DROP may drop with no data lost?

    A temp table, unless ON COMMIT DROP (outside a transaction it is gone at once, and a DROP
    meets a real table of that name); a table made by CREATE TABLE … AS or SELECT … INTO,
    unless IF NOT EXISTS (a real table may have been there, and nothing was made).
    """
    gone = on_commit == enums.OnCommitAction.ONCOMMIT_DROP
    temp = relation.relpersistence == "t"
    return not gone and (temp or (made_as and not if_not_exists))


@dataclass
class Oracle:
    """What the default rules report for one file, statement by statement, from pglast's tree."""

    found: list[Counter[str]] = field(default_factory=list)
    scratch: set[str] = field(default_factory=set)
    added_values: set[str] = field(default_factory=set)
    routines: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    """name -> (statement index, body, language)"""
    called: set[str] = field(default_factory=set)
    running: set[str] = field(default_factory=set)
    rules: dict[str, tuple[int, Any]] = field(default_factory=dict)
    """"rule <index>" -> (statement index, actions) of each rule created here"""
    triggers: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    """table -> (pg_trigger's event bits, routine) of triggers on routines created here"""
    current: int = 0

    def run_file(self, statements: Any) -> None:
        for index, raw in enumerate(statements):
            self.found.append(Counter())
            self.current = index
            self.statement(raw.stmt, text_of=raw)

    def statement(self, node: Any, text_of: Any = None) -> None:
        kind = type(node).__name__
        if kind == "CreateFunctionStmt":
            self.remember(node)
            return
        if kind == "CreateStmt" and _scratch(node.relation, node.if_not_exists, node.oncommit, False):
            self.scratch.add(_qualified(node.relation))
        if kind == "CreateTableAsStmt" and node.into is not None:
            if _scratch(node.into.rel, node.if_not_exists, node.into.onCommit, True):
                self.scratch.add(_qualified(node.into.rel))
            if not node.into.skipData:  # the query runs now, and the routines it calls
                self.visit(node.query)
            return
        if kind == "RuleStmt":
            if node.actions:
                event = {enums.CmdType.CMD_INSERT: _INSERT, enums.CmdType.CMD_UPDATE: _UPDATE}.get(
                    node.event, _DELETE if node.event == enums.CmdType.CMD_DELETE else 0
                )
                key = f"rule {self.current}"
                self.rules[key] = (self.current, node.actions)
                self.triggers.setdefault(node.relation.relname.casefold(), []).append((event, key))
            return
        if kind == "CreateTrigStmt":
            function = _name(node.funcname)
            if function in self.routines:
                self.triggers.setdefault(node.relation.relname.casefold(), []).append((node.events, function))
            return
        into = node.intoClause if kind == "SelectStmt" else None
        if into is not None and _scratch(into.rel, False, into.onCommit, True):
            self.scratch.add(_qualified(into.rel))
        if kind.startswith("Create") or kind in ("ViewStmt", "IndexStmt", "RuleStmt", "CreateTrigStmt"):
            return  # a definition: nothing in it runs now (difference 4)
        self.visit(node)
        if self.added_values and kind not in ("AlterEnumStmt",) and self.uses_added_value(node):
            self.found[self.current]["alter-type"] += 1

    def uses_added_value(self, node: Any) -> bool:
        stack = [node]
        while stack:
            n = stack.pop()
            if type(n).__name__ == "String" and getattr(n, "sval", None) in self.added_values:
                return True
            stack.extend(_children(n))
        return False

    def fire(self, relation: Any, events: int) -> None:
        """A write of ``relation`` runs its triggers' routines and its rules' actions on ``events``."""
        for bits, function in self.triggers.get(relation.relname.casefold(), ()):
            if not bits & events:
                continue
            if function in self.rules:
                if function in self.called:
                    continue
                self.called.add(function)
                index, actions = self.rules[function]
                current, self.current = self.current, index
                try:
                    for action in actions:
                        self.visit(action)
                finally:
                    self.current = current
            else:
                self.call(function)

    def visit(self, node: Any) -> None:
        found = self.found[self.current]
        kind = type(node).__name__
        if kind == "InsertStmt":
            conflict = node.onConflictClause is not None and node.onConflictClause.action == 2
            self.fire(node.relation, _INSERT | (_UPDATE if conflict else 0))
        elif kind in ("UpdateStmt", "DeleteStmt"):
            self.fire(node.relation, _UPDATE if kind == "UpdateStmt" else _DELETE)
        elif kind == "MergeStmt":
            self.fire(node.relation, _INSERT | _UPDATE | _DELETE)
        elif kind == "CopyStmt" and node.is_from and node.relation is not None:
            self.fire(node.relation, _INSERT)
        elif kind == "TruncateStmt":
            for relation in node.relations:
                self.fire(relation, _TRUNCATE)
        if kind == "DeleteStmt":
            found["delete-from"] += 1
        elif kind == "MergeStmt":
            for clause in node.mergeWhenClauses or ():
                if clause.commandType == enums.CmdType.CMD_DELETE:
                    found["delete-from"] += 1
        elif kind == "TruncateStmt":
            found["truncate"] += 1
        elif kind == "DropOwnedStmt":
            found["drop-table"] += 1  # every table the roles own
        elif kind == "DropStmt":
            remove = enums.ObjectType(node.removeType).name
            if remove == "OBJECT_TABLE":
                names = {"\x1f".join(str(part.sval) for part in obj) for obj in node.objects}
                if not names <= self.scratch:  # difference 3
                    found["drop-table"] += 1  # difference 2: one per statement
                self.scratch -= names  # a second DROP meets a real table
            elif remove in _TYPES and node.behavior == enums.DropBehavior.DROP_CASCADE:
                found["drop-cascade"] += 1
        elif kind == "AlterTableStmt":
            objtype = enums.ObjectType(node.objtype).name
            if objtype == "OBJECT_TYPE":
                found["alter-type"] += 1
            elif objtype == "OBJECT_TABLE":
                for cmd in node.cmds:
                    if cmd.subtype == enums.AlterTableType.AT_DropColumn:
                        found["drop-column"] += 1
        elif kind == "AlterEnumStmt":
            found["alter-type"] += 1
            if node.newVal and not node.oldVal:
                self.added_values.add(node.newVal)
        elif kind in ("RenameStmt", "AlterOwnerStmt", "AlterObjectSchemaStmt"):
            obj = getattr(node, "renameType", None) or getattr(node, "objectType", None)
            if kind == "RenameStmt" and enums.ObjectType(obj).name == "OBJECT_TABLE":
                # The scratch table moves with its name; a real one renamed to a scratch name is real.
                old, new = _qualified(node.relation), node.newname
                was = old in self.scratch
                self.scratch = {
                    n for n in self.scratch if n.rsplit("\x1f", 1)[-1] not in (node.relation.relname, new)
                }
                if was:
                    self.scratch.add(new)
            relation = getattr(node, "relationType", None)
            if enums.ObjectType(obj).name == "OBJECT_TYPE" or (
                kind == "RenameStmt"
                and enums.ObjectType(obj).name == "OBJECT_ATTRIBUTE"
                and enums.ObjectType(relation).name == "OBJECT_TYPE"
            ):
                found["alter-type"] += 1
        elif kind == "AlterTypeStmt":
            found["alter-type"] += 1
        elif kind == "ExplainStmt":
            analyze = any(
                opt.defname == "analyze" and (opt.arg is None or _truthy(opt.arg))
                for opt in node.options or ()
            )
            if analyze:  # difference 5
                self.visit(node.query)
            return
        elif kind == "DoStmt":
            body = next(opt.arg.sval for opt in node.args if opt.defname == "as")
            language = next((opt.arg.sval for opt in node.args if opt.defname == "language"), "plpgsql")
            self.body(body, language)
            return
        elif kind == "AlterTableCmd" and node.subtype == enums.AlterTableType.AT_ColumnDefault:
            return  # SET DEFAULT stores the expression for later rows; it runs nothing now
        elif kind == "FuncCall":
            self.call(_name(node.funcname))
        for child in _children(node):
            if isinstance(child, tuple | list):
                for item in child:
                    if isinstance(item, ast.Node):
                        self.visit(item)
            else:
                self.visit(child)

    def remember(self, node: Any) -> None:
        language = next((opt.arg.sval for opt in node.options or () if opt.defname == "language"), "sql")
        body = next((opt.arg[0].sval for opt in node.options or () if opt.defname == "as"), None)
        name = _name(node.funcname)
        if body is not None:
            self.routines[name] = (self.current, body, language)
        elif node.sql_body is not None:
            self.routines[name] = (self.current, node.sql_body, "atomic")
        else:
            return
        if name not in self.running:
            self.called.discard(name)  # re-created: the next call runs the new body

    def call(self, name: str) -> None:
        if name not in self.routines or name in self.called or name in self.running:
            return
        self.called.add(name)
        self.running.add(name)
        index, body, language = self.routines[name]
        current, self.current = self.current, index  # difference 4: findings of the CREATE
        try:
            if language == "atomic":
                for stmt in body[0] if isinstance(body[0], tuple) else body:
                    self.statement(stmt)
            else:
                self.body(body, language)
        finally:
            self.current = current
            self.running.discard(name)

    def body(self, body: str, language: str) -> None:
        if language.lower() == "plpgsql":
            wrapped = (
                f"CREATE FUNCTION __oracle() RETURNS void LANGUAGE plpgsql AS $__oracle$\n{body}\n$__oracle$"
            )
            self.plpgsql(pglast.parse_plpgsql(wrapped))
        elif language.lower() == "sql":
            self.sql(body)

    def sql(self, text: str) -> None:
        for raw in pglast.parse_sql(text):
            self.statement(raw.stmt)

    def plpgsql(self, tree: Any) -> None:
        if isinstance(tree, list):
            for item in tree:
                self.plpgsql(item)
            return
        if not isinstance(tree, dict):
            return
        for key, value in tree.items():
            if key in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"):
                literal = _literal_sql(value["query"]["PLpgSQL_expr"]["query"])
                if literal is not None:  # difference 6
                    self.sql(literal)
                self.plpgsql({k: v for k, v in value.items() if k != "query"})
            elif key == "PLpgSQL_expr":
                query, mode = value["query"], value.get("parseMode", 0)
                self.sql(query if mode == 0 else f"SELECT {query}")
            else:
                self.plpgsql(value)


def _truthy(arg: Any) -> bool:
    text = str(getattr(arg, "sval", getattr(arg, "boolval", getattr(arg, "ival", "true")))).lower()
    return text not in ("false", "off", "0")


def _literal_sql(expression: str) -> str | None:
    """The SQL of ``'a' || 'b'`` (string constants only), else None."""
    node = pglast.parse_sql(f"SELECT {expression}")[0].stmt.targetList[0].val
    parts: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        kind = type(n).__name__
        if kind == "A_Const" and type(n.val).__name__ == "String":
            parts.append(n.val.sval)
        elif kind == "A_Expr" and n.name[0].sval == "||":
            stack += [n.rexpr, n.lexpr]
        else:
            return None
    return "".join(parts)


@dataclass
class Figures:
    files: int = 0
    unparsed: list[str] = field(default_factory=list)
    statements: int = 0
    agreeing: int = 0
    differing: list[str] = field(default_factory=list)
    findings: Counter[str] = field(default_factory=Counter)


def compare() -> Figures:
    """Scan every file both ways and count agreement statement by statement."""
    figures = Figures()
    for source, path in _files():
        text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
        figures.files += 1
        try:
            statements = pglast.parse_sql(text)
            oracle = Oracle()
            oracle.run_file(statements)
        except pglast.parser.ParseError:
            figures.unparsed.append(f"{source}/{path.parent.name}/{path.name}")  # difference 1
            continue
        starts = [raw.stmt_location for raw in statements]
        scanner: list[Counter[str]] = [Counter() for _ in statements]
        for offset, rule, _ in iter_hits(text, POSTGRESQL, DEFAULT):
            index = max(0, _last_at_or_before(starts, offset))
            scanner[index][rule.id] += 1
        for index, raw in enumerate(statements):
            figures.statements += 1
            figures.findings.update(oracle.found[index])
            if scanner[index] == oracle.found[index]:
                figures.agreeing += 1
            else:
                end = raw.stmt_location + raw.stmt_len if raw.stmt_len else len(text)
                snippet = " ".join(text[raw.stmt_location : end].split())[:160]
                figures.differing.append(
                    f"{source}/{path.parent.name}/{path.name}: scanner {dict(scanner[index])} "
                    f"pglast {dict(oracle.found[index])}: {snippet}"
                )
    return figures


def _last_at_or_before(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


def test_default_rules_agree_with_the_postgresql_grammar() -> None:
    figures = compare()
    print(
        json.dumps(
            {
                "files": figures.files,
                "not parsed": len(figures.unparsed),
                "statements compared": figures.statements,
                "agreeing": figures.agreeing,
                "differing": len(figures.differing),
                "findings by rule": dict(sorted(figures.findings.items())),
            }
        )
    )
    assert figures.differing == []
    assert figures.statements > 100
