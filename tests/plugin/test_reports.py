"""JUnit XML, GitHub annotations and the JSON report carry the same findings."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import DROP_BIO, add_migration


def test_junit_has_one_testcase_per_migration_with_file_and_line(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", "\n" + DROP_BIO)
    project.runpytest("-m", "migrations", "--junitxml=reports/junit.xml")
    tree = ET.parse(project.path / "reports" / "junit.xml")
    cases = {case.get("name"): case for case in tree.iter("testcase")}
    assert set(cases) == {"20240101000000_init", "20240201000000_drop_bio"}
    assert cases["20240101000000_init"].find("failure") is None
    failure = cases["20240201000000_drop_bio"].find("failure")
    assert failure is not None
    text = (failure.get("message") or "") + (failure.text or "")
    assert "prisma/migrations/20240201000000_drop_bio/migration.sql" in text
    assert 'line 2: drop-column — ALTER TABLE "User" DROP COLUMN "bio"' in text
    assert "Traceback" not in text


def test_github_annotations_only_when_running_in_actions(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_migration(project, "20240201000000_drop_bio", "\n" + DROP_BIO)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert "::error" not in project.runpytest("-m", "migrations").stdout.str()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = project.runpytest("-m", "migrations")
    result.stdout.fnmatch_lines(
        [
            "::error file=prisma/migrations/20240201000000_drop_bio/migration.sql,line=2,title=drop-column::"
            'ALTER TABLE "User" DROP COLUMN "bio" — Dropping a column*Accept after review: pytest -m migrations'
            " --update-baseline"
        ]
    )


def test_annotation_escapes_newlines_and_percent() -> None:
    from pathlib import Path

    from pytest_promotion.migrations.dialects import POSTGRESQL
    from pytest_promotion.migrations.gate import GateConfig, Outcome
    from pytest_promotion.migrations.report import github_annotations
    from pytest_promotion.migrations.scan import Finding

    config = GateConfig(
        root=Path("/p"),
        migrations_dir=Path("/p/m,x"),
        baseline_path=Path("/p/b.json"),
        dialect=POSTGRESQL,
        rules=(),
        update=False,
        strict=False,
        report_path=None,
        annotations=True,
        accept_command="pytest",
    )
    finding = Finding("a:b", 3, "delete-from", "DELETE FROM t WHERE x = '100%\nok'", "f")
    (line,) = github_annotations(Outcome([finding], [], [], [], None), config)
    assert line.startswith("::error file=m%2Cx/a%3Ab/migration.sql,line=3,title=delete-from::")
    assert "\n" not in line
    assert "100%25 ok" in line  # statements are flattened to one line, % escaped


def test_json_report_lists_new_baselined_and_stale(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    stale = add_migration(project, "20240301000000_cleanup", 'DELETE FROM "User";\n')
    project.runpytest("-m", "migrations", "--update-baseline")
    stale.write_text("SELECT 1;\n")
    add_migration(project, "20240401000000_truncate", '\n\nTRUNCATE "Session";\n')
    project.runpytest("-m", "migrations", "--migrations-report", "out/report.json")
    report = json.loads((project.path / "out" / "report.json").read_text())
    assert report["version"] == 1
    assert [(f["path"], f["line"], f["rule"], f["status"]) for f in report["findings"]] == [
        ("20240201000000_drop_bio/migration.sql", 1, "drop-column", "baselined"),
        ("20240401000000_truncate/migration.sql", 3, "truncate", "new"),
    ]
    assert report["findings"][1]["statement"] == 'TRUNCATE "Session"'
    assert len(report["findings"][1]["fingerprint"]) == 16
    assert [(s["migration"], s["rule"]) for s in report["stale"]] == [
        ("20240301000000_cleanup", "delete-from")
    ]
