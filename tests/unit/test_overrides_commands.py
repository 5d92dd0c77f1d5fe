"""``pytest-promotion overrides show``: the configured overrides of one organization, as tables or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_promotion.cli import main

SECRET = "customer-4711-secret"
CONFIGURED = {
    "FEATURE_FLAG_ENV_OVERRIDES_JSON": '{"new_editor": true, "banner": "true"}',
    "FEATURE_FLAG_ORG_OVERRIDES_JSON": '{"org_acme": {"export_limit": 20000}, "org_globex": {"new_editor": false}}',
    "ENTITLEMENT_ENV_OVERRIDES_JSON": '{"features": ["sso"], "usage_caps": {"exports": null}}',
    "ENTITLEMENT_ORG_OVERRIDES_JSON": '{"org_acme": {"seat_limit": 50, "usage_caps": {"api_calls": 5}}}',
}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty folder (no pyproject.toml) and none of the relevant variables set."""
    monkeypatch.chdir(tmp_path)
    for variable in [*CONFIGURED, "SMOKE_ORGANIZATION_ID"]:
        monkeypatch.delenv(variable, raising=False)


def rows(out: str) -> list[str]:
    """The output's lines with runs of spaces collapsed, for checks that ignore column widths."""
    return [" ".join(line.split()) for line in out.splitlines()]


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in CONFIGURED.items():
        monkeypatch.setenv(variable, value)


@pytest.mark.usefixtures("configured")
def test_show_prints_aligned_tables_with_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overrides", "show", "--organization", "org_acme"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "Overrides configured for organization org_acme (org wins over env):",
        "",
        "flag          value (JSON)  source",
        'banner        "true"        env',
        "export_limit  20000         org",
        "new_editor    true          env",
        "",
        "entitlement           value             source",
        "seat_limit            50                org",
        'features              "sso"             env',
        "usage_caps.exports    null (unlimited)  env",
        "usage_caps.api_calls  5                 org",
    ]


@pytest.mark.usefixtures("configured")
def test_the_organization_defaults_to_smoke_organization_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMOKE_ORGANIZATION_ID", "org_globex")
    assert main(["overrides", "show"]) == 0
    out = capsys.readouterr().out
    assert "organization org_globex" in out
    assert "new_editor false org" in rows(out)
    assert "seat_limit" not in out


@pytest.mark.usefixtures("configured")
def test_without_an_organization_only_env_overrides_are_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overrides", "show"]) == 0
    out = capsys.readouterr().out
    assert "No organization given (--organization or SMOKE_ORGANIZATION_ID)" in out
    assert "Organizations with their own overrides: org_acme, org_globex." in out
    assert "export_limit" not in out
    assert "new_editor true env" in rows(out)


def test_nothing_configured(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overrides", "show", "--organization", "org_acme"]) == 0
    out = capsys.readouterr().out
    assert "no flag overrides configured" in out
    assert "no entitlement overrides configured" in out


@pytest.mark.usefixtures("configured")
def test_json_output_for_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overrides", "show", "--organization", "org_acme", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("}\n")
    assert json.loads(out) == {
        "organization_id": "org_acme",
        "flags": {
            "banner": {"value": "true", "source": "env"},
            "export_limit": {"value": 20000, "source": "org"},
            "new_editor": {"value": True, "source": "env"},
        },
        "entitlements": {
            "seat_limit": {"value": 50, "source": "org"},
            "features": {"sso": "env"},
            "usage_caps": {
                "exports": {"value": None, "source": "env"},
                "api_calls": {"value": 5, "source": "org"},
            },
        },
    }


def test_a_configuration_error_is_one_paragraph_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEATURE_FLAG_ORG_OVERRIDES_JSON", f'{{"org_acme": {{"new_editor": ["{SECRET}"]}}}}')
    assert main(["overrides", "show", "--organization", "org_acme"]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: Invalid promotion configuration: environment variable ")
    assert "FEATURE_FLAG_ORG_OVERRIDES_JSON at org_acme.new_editor: must be a JSON scalar" in captured.err
    assert SECRET not in captured.err
    assert "Traceback" not in captured.err


def test_the_pyproject_of_the_current_folder_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.promotion]\nfeature_flag_env_overrides = {}\n")
    assert main(["overrides", "show"]) == 3
    assert "set FEATURE_FLAG_ENV_OVERRIDES_JSON instead" in capsys.readouterr().err


def test_show_is_listed_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["overrides", "--help"]) == 0
    assert "show" in capsys.readouterr().out
