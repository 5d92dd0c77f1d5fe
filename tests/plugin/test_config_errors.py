"""Bad configuration and bad baseline files stop the run with one clear paragraph."""

from __future__ import annotations

import pytest

from tests.conftest import DROP_BIO, PYPROJECT, add_migration

BASELINE = "baselines/migration-safety-baseline.json"


def usage_error(result: pytest.RunResult) -> str:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "Traceback" not in err + result.stdout.str()
    return err


def test_unknown_key_is_named(project: pytest.Pytester) -> None:
    project.makefile(".toml", pyproject=PYPROJECT + 'migration_dir = "x"\n')
    err = usage_error(project.runpytest("-m", "migrations"))
    assert "[tool.promotion] in" in err
    assert "unknown key 'migration_dir'" in err


def test_wrong_type_is_named(project: pytest.Pytester) -> None:
    project.makefile(".toml", pyproject=PYPROJECT + "rules = 5\n")
    err = usage_error(project.runpytest("-m", "migrations"))
    assert "key 'rules' of [tool.promotion]" in err


def test_unknown_rule_lists_the_known_ones(project: pytest.Pytester) -> None:
    err = usage_error(project.runpytest("-m", "migrations", "--promotion-rules", "default,drop-everything"))
    assert "option --promotion-rules: unknown rule 'drop-everything'" in err
    assert "create-index-blocking" in err


def test_configured_folder_that_does_not_exist(project: pytest.Pytester) -> None:
    err = usage_error(project.runpytest("--promotion-migrations-dir", "db/migrations"))
    assert "option --promotion-migrations-dir: the migrations folder" in err
    assert "does not exist" in err


def test_unknown_provider_in_lock_file(project: pytest.Pytester) -> None:
    (project.path / "prisma" / "migrations" / "migration_lock.toml").write_text('provider = "oracle"\n')
    err = usage_error(project.runpytest())
    assert "migration_lock.toml: provider 'oracle' is not one this plugin scans" in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"version": 1, "entries": [}', "is not valid JSON at line 1, column 28"),
        ('{"version": 2, "entries": []}', "has version 2, but this plugin reads version 1"),
        (
            '{"version": 1, "entries": [{"migration": "m"}]}',
            "is not a baseline (entries/0/rule: Field required)",
        ),
        ("[]", "is not a baseline"),
    ],
)
def test_malformed_baseline_is_a_usage_error_and_never_overwritten(
    project: pytest.Pytester, content: str, expected: str
) -> None:
    add_migration(project, "20240201000000_drop_bio", DROP_BIO)
    path = project.path / BASELINE
    path.parent.mkdir()
    path.write_text(content)
    err = usage_error(project.runpytest("-m", "migrations", "--update-baseline"))
    assert f"{path}: {expected}" in err
    assert "not overwritten" in err or "Upgrade pytest-promotion" in err
    assert path.read_text() == content


def test_environment_variables_are_parsed_and_named(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_migration(project, "20240201000000_index", 'CREATE INDEX "i" ON "User"("email");\n')
    monkeypatch.setenv("PROMOTION_RULES", "default,create-index-blocking")
    project.runpytest("-m", "migrations").assert_outcomes(passed=1, failed=1)
    monkeypatch.setenv("PROMOTION_RULES", "[default")
    assert "environment variable PROMOTION_RULES: is not a JSON list" in usage_error(project.runpytest())
    monkeypatch.delenv("PROMOTION_RULES")
    monkeypatch.setenv("PROMOTION_MIGRATIONS_DIR", "elsewhere")
    assert "environment variable PROMOTION_MIGRATIONS_DIR: the migrations folder" in usage_error(
        project.runpytest()
    )


# Each error names the source the mistake is in: a variable is never blamed on pyproject.toml.


def test_a_misspelt_nested_variable_is_named_not_the_file(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMOTION_SMOKE__RETRY", "3")
    err = usage_error(project.runpytest("-m", "migrations"))
    assert "environment variable PROMOTION_SMOKE__RETRY is not a setting" in err
    assert "PROMOTION_SMOKE__RETRIES" in err
    assert "pyproject.toml" not in err


def test_a_misspelt_top_level_variable_is_not_ignored(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMOTION_MIGRATION_DIR", "db/migrations")
    err = usage_error(project.runpytest("-m", "migrations"))
    assert "environment variable PROMOTION_MIGRATION_DIR is not a pytest-promotion setting" in err
    assert "PROMOTION_MIGRATIONS_DIR" in err


def test_an_endpoints_variable_error_names_the_variable_and_the_place(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMOTION_SMOKE__ENDPOINTS", '[{"path": 5}]')
    err = usage_error(project.runpytest("-m", "migrations"))
    assert "environment variable PROMOTION_SMOKE__ENDPOINTS at [0].path" in err


def test_an_unknown_endpoint_key_lists_the_known_ones(project: pytest.Pytester) -> None:
    project.makefile(
        ".toml",
        pyproject=PYPROJECT + '\n[tool.promotion.smoke]\nendpoints = [{ path = "/a", retries = 1 }]\n',
    )
    err = usage_error(project.runpytest("-m", "migrations"))
    assert "endpoints[0]" in err
    assert "unknown key 'retries' (known keys: path, method, params, expect" in err


def test_a_table_key_with_a_variable_yields_to_the_variable(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makefile(".toml", pyproject=PYPROJECT + 'organization_id = "org_file"\n')
    monkeypatch.setenv("SMOKE_ORGANIZATION_ID", "org_env")
    config = project.parseconfigure("-m", "migrations")
    from pytest_promotion.stash import RUN_KEY

    assert config.stash[RUN_KEY].settings.organization_id == "org_env"
