"""Prisma ORM 8 migration packages: the layout, the SQL each one runs, and their integrity.

Prisma 8 keeps a project's migrations in ``migrations/app/<YYYYMMDDTHHMM>_<slug>/``, each a
package of ``migration.ts`` (what the team edits), ``ops.json`` (the operations ``prisma db
migrate`` runs) and ``migration.json`` (the contract hashes and ``migrationHash``). The SQL that
runs is only in ``ops.json``, so that is what the gate reads: every ``sql`` string of every
operation's ``precheck``, ``execute`` and ``postcheck`` steps, located by the line of its key.

Prisma checks ``migrationHash`` only partly (``migration status`` exits 0 on an edit that was
re-emitted), so the hash is recomputed here, and an empty ``ops.json`` beside an unfilled
``placeholder(`` in ``migration.ts`` is refused: ``db migrate`` would run it as nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.core.text import printable
from pytest_promotion.migrations.dialects import POSTGRESQL, SQLITE, Dialect
from pytest_promotion.migrations.scan import MigrationFileError, decode_migration, migration_files

OPS_FILE = "ops.json"
META_FILE = "migration.json"
SOURCE_FILE = "migration.ts"
APP_SPACE = "app"
"""The folder (and the ledger's ``space``) of the application's own migrations."""
PHASES = ("precheck", "execute", "postcheck")
DIALECTS_BY_TARGET: dict[str, Dialect] = {"postgres": POSTGRESQL, "sqlite": SQLITE}
"""``ops[].target.id`` values Prisma 8 writes (SQLite is experimental there)."""
RISKY_CLASSES = frozenset({"destructive", "data"})
_PLACEHOLDER = re.compile(r"\bplaceholder\s*\(")
_LOCATED_KEYS = frozenset({"sql"})
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],]')


class PackageIntegrityError(MigrationFileError):
    """A package whose files disagree: a hand-edited ``ops.json``, or a placeholder never filled."""


@dataclass(frozen=True)
class SqlStep:
    """One ``sql`` string of one operation step, and where it is in ``ops.json``."""

    op_number: int
    """1-based position of the operation in ``ops.json``."""
    op_id: str
    label: str
    op_class: str
    phase: str
    """``precheck``, ``execute`` or ``postcheck``."""
    index: int
    line: int
    """Line of the step's ``"sql"`` key in ``ops.json``."""
    sql: str
    dialect: Dialect

    @property
    def where(self) -> str:
        """``op 2 "Set NOT NULL on "User"."name"" (alterNullability.setNotNull.User.name), execute[0]``.

        Every report prints this (terminal, summary, notes, annotations), so label and id are shown
        escaped (:func:`operation_name`): they come from the PR's migration.ts.
        """
        return f"{operation_name(self.op_number, self.label, self.op_id)}, {self.phase}[{self.index}]"


def operation_name(number: int, label: object, op_id: object) -> str:
    """``op 2 "label" (id)``, with control characters escaped: a raw newline could start a CI log line."""
    return f'op {number} "{printable(str(label))}" ({printable(str(op_id))})'


@dataclass(frozen=True)
class Package:
    """One Prisma 8 migration package, read and checked for shape."""

    name: str
    folder: Path
    ops: list[Any]
    meta: dict[str, Any]
    steps: tuple[SqlStep, ...]
    op_lines: tuple[int, ...]
    """Line where each operation's object starts in ``ops.json``."""
    source: str | None
    """``migration.ts``, when there is one."""

    @property
    def ops_path(self) -> Path:
        """The package's ``ops.json``."""
        return self.folder / OPS_FILE


def is_package(folder: Path) -> bool:
    """A folder holding ``ops.json``, ``migration.json`` or ``migration.ts``: a Prisma 8 package (maybe a broken one).

    ``migration.ts`` alone is a package never emitted: it must fail its item, not drop out of the gate.
    """
    return any((folder / name).is_file() for name in (OPS_FILE, META_FILE, SOURCE_FILE))


def package_dirs(directory: Path) -> list[Path]:
    """Every package folder directly under ``directory``, in name (migration) order."""
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.iterdir() if p.is_dir() and is_package(p)), key=lambda p: p.name)


def is_prisma8_dir(directory: Path) -> bool:
    """True for a folder of Prisma 8 packages, such as ``migrations/app``.

    A stray ``<name>/migration.sql`` among the packages does not make it a Prisma 7 folder: the
    gate reads both layouts in one folder (a package holding both fails its item), so no package
    drops out of the gate because of one extra file.
    """
    return bool(package_dirs(directory))


def migration_names(directory: Path) -> set[str]:
    """The migrations a gated folder holds, in either layout (or both)."""
    return {p.name for p in package_dirs(directory)} | {p.parent.name for p in migration_files(directory)}


def gated_folder(directory: Path) -> Path:
    """The folder to gate when ``directory`` is given: its ``app/`` when it is a Prisma 8 ``migrations``.

    A ``migrations`` folder holding migrations of its own beside ``app/`` packages would gate only
    one of them, so that is a configuration error.
    """
    app = directory / APP_SPACE
    if not is_prisma8_dir(app):
        return directory
    if migration_files(directory) or package_dirs(directory):
        raise ConfigError(
            f"{directory}: holds migrations of its own and Prisma 8 packages in {app}, so one of them "
            "would go ungated. Set migrations_dir in [tool.promotion] to the folder your Prisma runs "
            '(e.g. migrations_dir = "migrations/app"), and gate the other in a second run with '
            "--promotion-migrations-dir."
        )
    return app


def default_folder(project: Path, prisma7_default: Path) -> Path:
    """The folder gated when none is configured: ``prisma/migrations``, else Prisma 8's ``migrations/app``.

    Both present would gate only one of them silently, so that is a configuration error.
    """
    prisma8 = project / "migrations" / APP_SPACE
    if not is_prisma8_dir(prisma8):
        return prisma7_default
    if prisma7_default.is_dir():
        raise ConfigError(
            f"{project}: holds both {prisma7_default} (Prisma <= 7) and {prisma8} (Prisma 8 packages), and "
            "migrations_dir is not set, so one of them would go ungated. Set migrations_dir in "
            '[tool.promotion] (e.g. migrations_dir = "migrations/app") to the folder Prisma runs, '
            "and gate the other in a second run with --promotion-migrations-dir."
        )
    return prisma8


def canon(value: Any) -> str:
    """Prisma 8's canonical JSON: keys sorted at every level, no whitespace, as ``JSON.stringify`` writes it.

    Numbers must have been read by :func:`js_loads`, so that they print as JavaScript prints them;
    a lone surrogate is escaped, as ``JSON.stringify`` does.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if _MARK in text:
        text = _MARKED_NUMBER.sub(r"\1", text)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


_MARK = "\ue000"
_MARKED_NUMBER = re.compile(f'"{_MARK}([-+.e0-9]+){_MARK}"')
_SURROGATE = re.compile("[\ud800-\udfff]")


def js_number(x: float) -> str:
    """``Number.prototype.toString``: the shortest digits, fixed between 1e-7 and 1e21, else ``1.5e-7``."""
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), len(digits) + int(exponent)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    return f"{sign}{digits[0]}{'.' + digits[1:] if k > 1 else ''}e{'+' if e >= 0 else '-'}{abs(e)}"


class _NotADouble(ValueError):
    """A JSON number beyond a double (``1e400``): JavaScript reads Infinity, which Prisma 8 never writes."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _js_float(text: str) -> int | str:
    number = float(text)
    if not math.isfinite(number):
        raise _NotADouble(text)  # js_number cannot spell it, and JSON.stringify would write null
    if number.is_integer() and abs(number) <= _SAFE_INTEGER:
        return int(number)
    return f"{_MARK}{js_number(number)}{_MARK}"  # printed bare by canon


def _js_int(text: str) -> int | str:
    number = int(text)
    return number if abs(number) <= _SAFE_INTEGER else _js_float(text)  # a double in JavaScript


_SAFE_INTEGER = 2**53


def js_loads(text: str) -> Any:
    """``JSON.parse`` as far as the hash cares: ``1.0`` is ``1``; other non-integers keep JavaScript's spelling.

    Such a number comes back as a marked string that only :func:`canon` turns back into a number;
    ``ops.json`` holds numbers only in ``params``, which the gate does not read.
    """
    return json.loads(text, parse_float=_js_float, parse_int=_js_int)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def migration_hash(meta: dict[str, Any], ops: Any) -> str:
    """``sha256hex(canon([sha256hex(canon(meta minus migrationHash)), sha256hex(canon(ops))]))``."""
    rest = {key: value for key, value in meta.items() if key != "migrationHash"}
    return _sha256(canon([_sha256(canon(rest)), _sha256(canon(ops))]))


def locate(text: str) -> dict[tuple[str | int, ...], int]:
    """The line of each ``"sql"`` key, and of each operation of the top-level array, by path.

    ``json.loads`` keeps no positions. The document was already parsed by it, so it is valid JSON:
    one pass over its strings and punctuation is enough. A later duplicate key overwrites an
    earlier one here, as it does there (and in ``JSON.parse``, which Prisma runs).
    """
    lines: dict[tuple[str | int, ...], int] = {}
    frames: list[list[Any]] = []  # [kind, key or index, expecting a key]
    line, last = 1, 0
    for m in _JSON_TOKEN.finditer(text):
        start = m.start()
        line += text.count("\n", last, start)
        last = start
        token = m.group()
        char = token[0]
        top = frames[-1] if frames else None
        if char == '"':
            if top is not None and top[0] == "{" and top[2]:
                top[1] = key = json.loads(token) if "\\" in token else token[1:-1]
                top[2] = False
                if key in _LOCATED_KEYS:
                    lines[tuple(f[1] for f in frames)] = line
        elif char in "{[":
            if len(frames) == 1 and top is not None and top[0] == "[":  # an operation
                lines[(top[1],)] = line
            frames.append([char, 0 if char == "[" else None, char == "{"])
        elif char in "}]":
            frames.pop()
        elif char == "," and top is not None:
            if top[0] == "{":
                top[2] = True
            else:
                top[1] += 1
    return lines


def _read_text(path: Path, display: str) -> str | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MigrationFileError(
            f"{display}: cannot be read ({exc.strerror}). Check its permissions."
        ) from None
    return decode_migration(raw, display)


def _required_text(path: Path, display: str) -> str:
    text = _read_text(path, display)
    if text is None:
        raise MigrationFileError(
            f"{display}: is missing. A Prisma 8 package needs ops.json and migration.json: re-emit it "
            "from its migration.ts (`npx jiti migration.ts`), or restore it from version control."
        )
    return text


_JSON_NUMBER = re.compile(r'"(?:[^"\\]|\\.)*"|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)')


def _number_line(text: str, number: str) -> int:
    """The line of the first JSON number spelled ``number`` (outside strings), for the error message."""
    for m in _JSON_NUMBER.finditer(text):
        if m.group(1) == number:
            return text.count("\n", 0, m.start()) + 1
    return 0


def _load_json(text: str, display: str) -> Any:
    try:
        return js_loads(text)
    except _NotADouble as exc:
        shown = exc.text if len(exc.text) <= 40 else exc.text[:37] + "..."
        line = _number_line(text, exc.text)
        raise MigrationFileError(
            f"{display}: line {line} holds the number {shown}, which is beyond what a double can hold "
            "(JavaScript reads it as Infinity, and JSON.stringify writes that as null), so it is not a "
            "number Prisma 8 writes and the package's hash cannot be checked. Re-emit the package from "
            "its migration.ts (`npx jiti migration.ts`), or restore it from version control."
        ) from None
    except json.JSONDecodeError as exc:
        raise MigrationFileError(
            f"{display}: is not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}). "
            "Prisma 8 cannot run it either: re-emit the package from its migration.ts "
            "(`node migration.ts`, or `npx jiti migration.ts`), or restore it from version control."
        ) from None


def _shape_error(display: str, where: str, problem: str) -> MigrationFileError:
    return MigrationFileError(
        f"{display}: {where} {problem}, which is not how Prisma 8 writes ops.json, so its SQL cannot "
        "be gated. Re-emit the package from its migration.ts, or restore it from version control."
    )


def _surrogate_error(display: str, where: str, line: int, sql: str) -> MigrationFileError:
    """A lone surrogate (``\\ud800``) is valid JSON but no text: Node.js sends U+FFFD in its place."""
    char = _SURROGATE.search(sql)
    code = f"\\u{ord(char.group()):04x}" if char else "?"
    return MigrationFileError(
        f"{display}: {where} (line {line}) holds a lone surrogate ({code}) in its sql. That is not "
        "text: Node.js sends U+FFFD in its place, so the statement reviewed here is not the one that "
        "runs. Write the character you mean in migration.ts and re-emit the package "
        "(`npx jiti migration.ts`), or restore it from version control."
    )


def _steps(ops: list[Any], lines: dict[tuple[str | int, ...], int], display: str) -> Iterator[SqlStep]:
    for k, op in enumerate(ops):
        number = k + 1
        if not isinstance(op, dict):
            raise _shape_error(display, f"operation {number}", "is not an object")
        op_id, label = op.get("id"), op.get("label", "")
        if not isinstance(op_id, str) or not isinstance(label, str):
            raise _shape_error(display, f"operation {number}", 'has no string "id" and "label"')
        target = op.get("target")
        target_id = target.get("id") if isinstance(target, dict) else None
        dialect = DIALECTS_BY_TARGET.get(target_id) if isinstance(target_id, str) else None
        if dialect is None:
            known = ", ".join(DIALECTS_BY_TARGET)
            raise MigrationFileError(
                f"{display}: operation {number} ({printable(op_id)}) has target.id {target_id!r}, which this plugin "
                f"does not scan (it reads {known}). Gate this package with a supported target, or remove it."
            )
        op_class = op.get("operationClass", "")
        for phase in PHASES:
            steps = op.get(phase, [])
            if not isinstance(steps, list):
                raise _shape_error(
                    display, f"operation {number} ({printable(op_id)})", f'has a "{phase}" that is not a list'
                )
            for index, step in enumerate(steps):
                sql = step.get("sql") if isinstance(step, dict) else None
                if not isinstance(sql, str):
                    raise _shape_error(
                        display,
                        f"operation {number} ({printable(op_id)}) {phase}[{index}]",
                        'has no string "sql"',
                    )
                line = lines.get((k, phase, index, "sql"), 0)
                if _SURROGATE.search(sql):
                    raise _surrogate_error(
                        display, f"operation {number} ({printable(op_id)}) {phase}[{index}]", line, sql
                    )
                yield SqlStep(number, op_id, label, str(op_class), phase, index, line, sql, dialect)


def read_package(folder: Path, display: str) -> Package:
    """Read one package; ``display`` is its folder as the user sees it (project-relative).

    Raises :class:`MigrationFileError` naming the file when it is missing, not UTF-8, not JSON,
    or not shaped the way Prisma 8 writes it.
    """
    ops_display, meta_display = f"{display}/{OPS_FILE}", f"{display}/{META_FILE}"
    if not (folder / OPS_FILE).exists() and not (folder / META_FILE).exists():
        raise MigrationFileError(
            f"{display}: holds {SOURCE_FILE} but no {OPS_FILE} or {META_FILE}: the package was never "
            "emitted, so there is no SQL to gate and nothing `prisma db migrate` can run. Run the Prisma 8 "
            f"emit step in the folder (`npx jiti {SOURCE_FILE}`), review the {OPS_FILE} it writes, and "
            "commit both files."
        )
    ops_text = _required_text(folder / OPS_FILE, ops_display)
    meta_text = _required_text(folder / META_FILE, meta_display)
    ops = _load_json(ops_text, ops_display)
    meta = _load_json(meta_text, meta_display)
    if not isinstance(ops, list):
        raise _shape_error(ops_display, "the top level", "is not an array of operations")
    if not isinstance(meta, dict) or not isinstance(meta.get("migrationHash"), str):
        raise _shape_error(meta_display, "the top level", 'has no string "migrationHash"')
    lines = locate(ops_text)
    steps = tuple(_steps(ops, lines, ops_display))
    op_lines = tuple(lines.get((k,), 0) for k in range(len(ops)))
    source = _read_text(folder / SOURCE_FILE, f"{display}/{SOURCE_FILE}")
    return Package(folder.name, folder, ops, meta, steps, op_lines, source)


def integrity_problems(package: Package, display: str) -> list[str]:
    """What makes the package untrustworthy as it stands, each a sentence ending with the fix."""
    problems = []
    stored = package.meta["migrationHash"]
    computed = migration_hash(package.meta, package.ops)
    if computed != stored:
        problems.append(
            f"{display}/{OPS_FILE}: does not match its migration.json: migrationHash is {stored}, but "
            f"ops.json and migration.json hash to {computed}, so ops.json (or migration.json) was edited "
            "by hand. `prisma db migrate` refuses it, and the SQL reviewed here may not be what runs. "
            "Make the change in migration.ts and re-emit the package (`npx jiti migration.ts`), or "
            "restore both files from version control."
        )
    if not package.ops and package.source is not None and _PLACEHOLDER.search(package.source):
        problems.append(
            f"{display}/{OPS_FILE}: is empty ([]) while {SOURCE_FILE} still holds an unfilled "
            "placeholder(…). `prisma db migrate` would run it as zero operations and fail only later. "
            "Fill in the placeholder in migration.ts, re-emit the package, and review its ops.json."
        )
    return problems
