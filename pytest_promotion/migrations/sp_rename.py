"""SQL Server renames through ``EXEC sp_rename 'old', 'new'[, 'COLUMN']`` — shared by the rename rules."""

from __future__ import annotations

from pytest_promotion.migrations.lexer import Kind
from pytest_promotion.migrations.statement import Statement


def sp_rename_kind(stmt: Statement, i: int) -> str | None:
    """The object type an ``EXEC sp_rename`` at ``i`` renames (``OBJECT`` when not given), else None."""
    toks = stmt.tokens
    j = i + 1 if toks[i].is_word("EXEC", "EXECUTE") else i
    if j >= len(toks) or not toks[j].is_word("SP_RENAME"):
        return None
    strings = [t.text for t in toks[j + 1 :] if t.kind is Kind.STRING]
    if len(strings) < 3:
        return "OBJECT"
    kind = strings[2]
    return kind[kind.index("'") + 1 : -1].upper()
