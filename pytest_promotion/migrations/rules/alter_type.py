"""alter-type: ``ALTER TYPE`` statements (PostgreSQL enums) and MySQL enum column changes.

Each form is a promotion hazard of its own, and gets the explanation and safer alternative that
fit it:

- ``ADD VALUE`` (form ``add-value``): instances of the previous release that are still running
  cannot read rows holding the new value (an ORM client generated before it rejects the unknown
  value), and PostgreSQL cannot use the value in the transaction that adds it. A team that
  accepts this can leave the form out with ``rules = ["default", "-alter-type:add-value"]``.
- A later statement of the same migration that uses a value added in it (form
  ``new-value-use``) fails the migration: "unsafe use of new value".
- ``RENAME VALUE`` (``rename-value``) breaks every running query that uses the old name.
- ``RENAME TO`` (``rename``) is how Prisma removes a value: rename the type, create the new one,
  cast the column — which fails rows and running queries holding the removed value.
- Other ``ALTER TYPE`` forms (``OWNER TO``, ``SET SCHEMA``, attributes) and MySQL's
  ``MODIFY … ENUM(…)``, which rejects or blanks rows holding a removed value (``other``).

Prisma 8 enums are CHECK constraints, not types: a value removal there is ``DROP CONSTRAINT`` +
``ADD CONSTRAINT … CHECK (col IN (…))``, and fails existing rows and old app versions alike. It is
reported under this rule too, by the package scan (``migrations/prisma8_scan.py``), not by ``check``.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_promotion.migrations.lexer import Kind
from pytest_promotion.migrations.rules.base import Hit, Rule, action_hits
from pytest_promotion.migrations.statement import Action, FileContext, Statement

_ADVICE = {
    "add-value": (
        "Running instances of the previous release cannot read rows holding the new value, and "
        "PostgreSQL cannot use it in the transaction that adds it.",
        "Add the value in a release of its own, deploy code that reads it everywhere, then start "
        "writing it — never in the migration that adds it.",
    ),
    "new-value-use": (
        "This uses an enum value added earlier in the same migration: PostgreSQL refuses it in the "
        "transaction that added it (unsafe use of new value), and the migration fails.",
        "Add the value in one migration and use it in a later one.",
    ),
    "rename-value": (
        "Renaming an enum value breaks every running instance and query that still uses the old name.",
        "Add the new value, migrate rows and code to it, and remove the old value in a later migration.",
    ),
    "rename": (
        "Renaming the type is Prisma's enum swap: the new type drops values, and casting the column "
        "fails rows and running queries that still hold them.",
        "Migrate rows and deploy code that no longer uses the value first; swap the type in a later migration.",
    ),
    "other": (
        "Changing an enum type can fail rows and running queries that use a removed or renamed value.",
        "Add the new value first, migrate rows and code, and remove the old value in a later migration.",
    ),
}


def form_of(statement: str) -> str:
    """The form of an alter-type finding, read from its statement text."""
    if not statement.startswith("ALTER "):
        return "new-value-use"
    if not statement.startswith("ALTER TYPE "):
        return "other"  # MySQL MODIFY … ENUM(…)
    for needle, form in (
        (" ADD VALUE ", "add-value"),
        (" RENAME VALUE ", "rename-value"),
        (" RENAME TO ", "rename"),
    ):
        if needle in statement:
            return form
    return "other"


def explain(statement: str) -> tuple[str, str]:
    """Why and instead for the form ``statement`` has."""
    return _ADVICE[form_of(statement)]


def is_enum_change(action: Action) -> bool:
    """MySQL ``MODIFY``/``CHANGE`` of a column to an ``ENUM(...)`` type."""
    if action.continuation or action.verb not in ("MODIFY", "CHANGE"):
        return False
    args = action.args
    return any(
        tok.is_word("ENUM") and k + 1 < len(args) and args[k + 1].text == "(" for k, tok in enumerate(args)
    )


def _alter_type_form(stmt: Statement, i: int, ctx: FileContext) -> str:
    toks = stmt.tokens
    j = i + 3  # past ALTER TYPE name, or a qualified name
    if j < len(toks) and toks[j].text == ".":
        j += 2
    words = [t.upper for t in toks[j : j + 2]]
    if words[:2] == ["ADD", "VALUE"]:
        value = next((t for t in toks[i + 3 :] if t.kind is Kind.STRING), None)
        if value is not None:
            ctx.added_enum_values.add(value.text)
        return "add-value"
    if words[:2] == ["RENAME", "VALUE"]:
        return "rename-value"
    if words[:2] == ["RENAME", "TO"]:
        return "rename"
    return "other"


def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    """ALTER TYPE commands, uses of a value added earlier in the file; on MySQL enum MODIFY/CHANGE."""
    toks = stmt.tokens
    altered = False
    for i in stmt.command_starts():
        if (
            stmt.words_at(i, "ALTER", "TYPE")
            and i + 2 < len(toks)
            and toks[i + 2].kind in (Kind.WORD, Kind.IDENT)
        ):
            altered = True
            yield Hit(toks[i].start, stmt.command_text(i), _alter_type_form(stmt, i, ctx))
    uses_new_value = bool(ctx.added_enum_values) and any(
        t.kind is Kind.STRING and t.text in ctx.added_enum_values for t in toks
    )
    if uses_new_value and not altered and not stmt.is_definition:
        yield Hit(toks[0].start, stmt.text, "new-value-use")
    if ctx.dialect.name == "mysql":
        yield from action_hits(stmt, ctx, lambda action, _: is_enum_change(action))


RULE = Rule(
    id="alter-type",
    default=True,
    reason=_ADVICE["other"][0],
    instead=_ADVICE["other"][1],
    keywords={"ALTER": r"ALTER(?:\s+TYPE\b|\s*(?:/\*|--|#))"},
    dialect_keywords={"mysql": {"MODIFY": None, "CHANGE": None}},
    check=check,
    starts=frozenset({"ALTER"}),
    reads_all_when=lambda ctx: bool(ctx.added_enum_values),
    forms={
        "add-value": "ALTER TYPE … ADD VALUE",
        "rename-value": "ALTER TYPE … RENAME VALUE",
        "rename": "ALTER TYPE … RENAME TO (Prisma's enum swap)",
        "new-value-use": "a statement using a value added earlier in the same migration",
        "other": "other ALTER TYPE forms and MySQL MODIFY … ENUM(…)",
    },
    explain=explain,
)
