"""The folder walk behind ``init`` and the header hint: both layouts, and what it never enters."""

from __future__ import annotations

from pathlib import Path

from pytest_promotion.migrations.discover import choose, find_migration_folders


def _prisma(folder: Path, migrations: int) -> None:
    for i in range(migrations):
        (folder / f"2024010100000{i}_m").mkdir(parents=True)
        (folder / f"2024010100000{i}_m" / "migration.sql").write_text("SELECT 1;\n")
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')


def test_finds_both_layouts_and_skips_node_modules_hidden_and_deep_folders(tmp_path: Path) -> None:
    _prisma(tmp_path / "packages" / "db" / "prisma" / "migrations", 2)
    app = tmp_path / "services" / "api" / "migrations" / "app" / "20250101T0000_init"
    app.mkdir(parents=True)
    (app / "ops.json").write_text("[]\n")
    _prisma(tmp_path / "node_modules" / "pkg" / "prisma" / "migrations", 1)
    _prisma(tmp_path / ".cache" / "prisma" / "migrations", 1)
    _prisma(tmp_path / "a" / "b" / "c" / "d" / "e" / "f" / "prisma" / "migrations", 1)
    found = find_migration_folders(tmp_path)
    assert [(f.setting, f.layout, f.migrations) for f in found] == [
        ("packages/db/prisma/migrations", "prisma", 2),
        ("services/api/migrations/app", "prisma8", 1),
    ]
    chosen, why = choose(found)
    assert chosen.setting == "packages/db/prisma/migrations"
    assert "most migrations (2)" in why


def test_the_walk_stops_at_its_folder_bound(tmp_path: Path) -> None:
    for i in range(50):
        (tmp_path / f"pkg{i:02d}").mkdir()
    _prisma(tmp_path / "pkg49" / "prisma" / "migrations", 1)
    assert find_migration_folders(tmp_path, max_folders=20) == []
    assert len(find_migration_folders(tmp_path)) == 1
