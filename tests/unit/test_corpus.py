"""The scanner on real public Prisma histories (../shared/corpus; absent in a user's clone).

Each expected finding below was checked by reading the migration's SQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promotion.migrations import scan

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
FOLDERS = sorted(p for p in CORPUS.glob("*") if p.is_dir()) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not FOLDERS, reason=f"shared corpus not found at {CORPUS}")


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
@pytest.mark.parametrize("rules", [("default",), ("all",)])
def test_whole_history_scans_without_error(folder: Path, rules: tuple[str, ...]) -> None:
    found = scan(folder, rules=rules)
    assert all(f.line >= 1 and f.statement for f in found)


VERIFIED = [
    # Prisma's multi-action ALTER TABLE: two dropped columns next to two added ones.
    (
        "langfuse__langfuse",
        "20230530204241_auth_api_ui",
        56,
        "drop-column",
        'ALTER TABLE "Session" DROP COLUMN "sessionToken"',
    ),
    (
        "langfuse__langfuse",
        "20230530204241_auth_api_ui",
        57,
        "drop-column",
        'ALTER TABLE "Session" DROP COLUMN "userId"',
    ),
    # A hand-written data fix with lower-case names (they keep their case).
    (
        "langfuse__langfuse",
        "20251013134801_drop_atla_llm_keys",
        1,
        "delete-from",
        "DELETE FROM \"llm_api_keys\" WHERE adapter = 'atla'",
    ),
    # Prisma's enum value removal renames the type twice.
    (
        "ghostfolio__ghostfolio",
        "20221225084546_removed_rakuten_from_data_source",
        6,
        "alter-type",
        'ALTER TYPE "DataSource" RENAME TO "DataSource_old"',
    ),
    (
        "ghostfolio__ghostfolio",
        "20220302184222_removed_data_source_from_order",
        2,
        "drop-column",
        'ALTER TABLE "Order" DROP COLUMN "dataSource"',
    ),
    # SQLite RedefineTables drops the old table after copying it.
    ("spacedriveapp__spacedrive", "20230619032753_p2p", 13, "drop-table", 'DROP TABLE "node"'),
]


@pytest.mark.parametrize(("folder", "migration", "line", "rule", "statement"), VERIFIED)
def test_verified_findings(folder: str, migration: str, line: int, rule: str, statement: str) -> None:
    found = {(f.migration, f.line, f.rule, f.statement) for f in scan(CORPUS / folder)}
    assert (migration, line, rule, statement) in found


def test_foreign_key_actions_are_never_deletes() -> None:
    for folder in FOLDERS:
        for f in scan(folder):
            assert "ON DELETE" not in f.statement or f.rule != "delete-from", f
