"""``--migrations-sarif``: SARIF 2.1.0 that the official schema accepts, new and baselined findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import DROP_BIO, add_migration

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)
TRUNCATE = 'TRUNCATE TABLE "Audit";\n'


def _validate(document: Any) -> None:
    jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document)


def test_the_schema_rejects_what_sarif_does_not_allow() -> None:
    """The validation can fail: a result without a message is not SARIF."""
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "a"}]}]}
    with pytest.raises(jsonschema.ValidationError):
        _validate(bad)


@pytest.mark.parametrize("workers", [None, "2"])
def test_sarif_has_new_and_suppressed_results_and_validates(
    project: pytest.Pytester, workers: str | None
) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    project.runpytest("-m", "migrations", "--update-baseline").assert_outcomes(passed=2)
    baseline = project.path / "baselines" / "migration-safety-baseline.json"
    data = json.loads(baseline.read_text())
    data["entries"][0]["reason"] = "bio was unused since March"
    baseline.write_text(json.dumps(data))
    add_migration(project, "20240301000000_truncate", "-- a comment\n" + TRUNCATE)
    args = ["-m", "migrations", "--migrations-sarif", "out/findings.sarif"]
    result = project.runpytest(*args, *(["-n", workers] if workers else []))
    result.assert_outcomes(passed=2, failed=1)

    document = json.loads((project.path / "out" / "findings.sarif").read_text())
    _validate(document)
    run = document["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"drop-column", "truncate"}
    assert rules["truncate"]["fullDescription"]["text"]
    assert rules["truncate"]["help"]["text"].startswith("Instead: ")
    by_rule = {r["ruleId"]: r for r in run["results"]}
    new = by_rule["truncate"]
    location = new["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "prisma/migrations/20240301000000_truncate/migration.sql"
    assert location["region"]["startLine"] == 2
    assert "suppressions" not in new
    assert by_rule["drop-column"]["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "bio was unused since March"}
    ]


def test_sarif_is_deterministic_and_written_only_when_asked(project: pytest.Pytester) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    project.runpytest("-m", "migrations")
    assert not list(project.path.rglob("*.sarif"))
    project.runpytest("-m", "migrations", "--migrations-sarif", "a.sarif")
    first = (project.path / "a.sarif").read_bytes()
    project.runpytest("-m", "migrations", "--migrations-sarif", "a.sarif", "-p", "no:cacheprovider")
    assert (project.path / "a.sarif").read_bytes() == first
    _validate(json.loads(first))
