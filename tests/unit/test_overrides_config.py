"""The ``*_OVERRIDES_JSON`` variables: valid shapes load, every mistake is one paragraph without the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.overrides.config import OVERRIDE_FIELDS, EntitlementOverride, Overrides
from pytest_promotion.settings import TABLE_KEYS, env_name, load_settings, source_of

SECRET = "customer-4711-secret"
VARIABLES = [env_name(field) for field in OVERRIDE_FIELDS]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the override variables set, whatever the developer's shell holds."""
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def load() -> Overrides:
    return load_settings(pyproject=None, options={}).overrides()


def error_for(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> str:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as excinfo:
        load()
    message = str(excinfo.value)
    assert SECRET not in message
    assert "\n" not in message
    return message


def test_the_variables_are_the_documented_ones() -> None:
    assert VARIABLES == [
        "FEATURE_FLAG_ENV_OVERRIDES_JSON",
        "FEATURE_FLAG_ORG_OVERRIDES_JSON",
        "ENTITLEMENT_ENV_OVERRIDES_JSON",
        "ENTITLEMENT_ORG_OVERRIDES_JSON",
    ]


def test_nothing_configured_is_empty() -> None:
    overrides = load()
    assert overrides == Overrides()
    assert overrides.is_empty_flags
    assert overrides.is_empty_entitlements


@pytest.mark.parametrize("blank", ["", "  ", "\n"])
def test_a_blank_variable_means_not_configured(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    for variable in VARIABLES:
        monkeypatch.setenv(variable, blank)
    assert load() == Overrides()


def test_valid_values_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "FEATURE_FLAG_ENV_OVERRIDES_JSON", '{"new_editor": true, "theme": "dark", "ratio": 0.5}'
    )
    monkeypatch.setenv("FEATURE_FLAG_ORG_OVERRIDES_JSON", '{"org_acme": {"export_limit": 20000}}')
    monkeypatch.setenv(
        "ENTITLEMENT_ENV_OVERRIDES_JSON", '{"features": ["sso"], "usage_caps": {"exports": null}}'
    )
    monkeypatch.setenv("ENTITLEMENT_ORG_OVERRIDES_JSON", '{"org_acme": {"seat_limit": 0}}')
    overrides = load()
    assert overrides.flags_env == {"new_editor": True, "theme": "dark", "ratio": 0.5}
    assert overrides.flags_org == {"org_acme": {"export_limit": 20000}}
    assert overrides.entitlements_env == EntitlementOverride(features=("sso",), usage_caps={"exports": None})
    assert overrides.entitlements_org == {"org_acme": EntitlementOverride(seat_limit=0)}
    assert not overrides.is_empty_flags
    assert not overrides.is_empty_entitlements


def test_scalars_keep_their_json_type(monkeypatch: pytest.MonkeyPatch) -> None:
    # true is not 1 and "true" is not true: a check compares them as the service reports them.
    monkeypatch.setenv("FEATURE_FLAG_ENV_OVERRIDES_JSON", '{"a": true, "b": 1, "c": 1.0, "d": "true"}')
    values = load().flags_env
    assert [type(values[key]) for key in "abcd"] == [bool, int, float, str]


def test_empty_objects_configure_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURE_FLAG_ORG_OVERRIDES_JSON", '{"org_acme": {}}')
    monkeypatch.setenv("ENTITLEMENT_ENV_OVERRIDES_JSON", "{}")
    monkeypatch.setenv("ENTITLEMENT_ORG_OVERRIDES_JSON", '{"org_acme": {}}')
    overrides = load()
    assert overrides.is_empty_flags
    assert overrides.is_empty_entitlements


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        pytest.param(
            "FEATURE_FLAG_ORG_OVERRIDES_JSON",
            f'{{"org_acme": {{"new_editor": ["{SECRET}"]}}}}',
            "environment variable FEATURE_FLAG_ORG_OVERRIDES_JSON at org_acme.new_editor: "
            "must be a JSON scalar (true/false, a number or a string)",
            id="list-as-flag-value",
        ),
        pytest.param(
            "FEATURE_FLAG_ENV_OVERRIDES_JSON",
            '{"new_editor": null}',
            "environment variable FEATURE_FLAG_ENV_OVERRIDES_JSON at new_editor: must be a JSON scalar",
            id="null-flag-value",
        ),
        pytest.param(
            "FEATURE_FLAG_ORG_OVERRIDES_JSON",
            f'{{"org_acme": "{SECRET}"}}',
            "environment variable FEATURE_FLAG_ORG_OVERRIDES_JSON at org_acme: must be a JSON object of flag key",
            id="org-entry-not-an-object",
        ),
        pytest.param(
            "FEATURE_FLAG_ORG_OVERRIDES_JSON",
            f'{{"org_acme": {{"new_editor": {SECRET}}}}}',
            "environment variable FEATURE_FLAG_ORG_OVERRIDES_JSON is not valid JSON (line 1, column 29: "
            "Expecting value)",
            id="bad-json",
        ),
        pytest.param(
            "FEATURE_FLAG_ENV_OVERRIDES_JSON",
            f'{{"ratio": NaN, "x": "{SECRET}"}}',
            "environment variable FEATURE_FLAG_ENV_OVERRIDES_JSON is not valid JSON (NaN and Infinity",
            id="nan",
        ),
        pytest.param(
            "FEATURE_FLAG_ENV_OVERRIDES_JSON",
            f'{{"new_editor": true, "new_editor": "{SECRET}"}}',
            "environment variable FEATURE_FLAG_ENV_OVERRIDES_JSON has the key 'new_editor' twice",
            id="duplicate-key",
        ),
        pytest.param(
            "FEATURE_FLAG_ENV_OVERRIDES_JSON",
            f'["{SECRET}"]',
            "environment variable FEATURE_FLAG_ENV_OVERRIDES_JSON at $: must be a JSON object of flag key → value",
            id="top-level-list",
        ),
        pytest.param(
            "ENTITLEMENT_ENV_OVERRIDES_JSON",
            f'"{SECRET}"',
            "environment variable ENTITLEMENT_ENV_OVERRIDES_JSON at $: must be a JSON object with any of "
            "seat_limit, features, usage_caps",
            id="top-level-string",
        ),
        pytest.param(
            "ENTITLEMENT_ENV_OVERRIDES_JSON",
            f'{{"seat_limit": "{SECRET}"}}',
            "environment variable ENTITLEMENT_ENV_OVERRIDES_JSON at seat_limit: must be an integer ≥ 0.",
            id="string-seat-limit",
        ),
        pytest.param(
            "ENTITLEMENT_ENV_OVERRIDES_JSON",
            '{"seat_limit": true}',
            "environment variable ENTITLEMENT_ENV_OVERRIDES_JSON at seat_limit: must be an integer ≥ 0.",
            id="bool-seat-limit",
        ),
        pytest.param(
            "ENTITLEMENT_ENV_OVERRIDES_JSON",
            '{"seat_limit": 25.0}',
            "environment variable ENTITLEMENT_ENV_OVERRIDES_JSON at seat_limit: must be an integer ≥ 0.",
            id="float-seat-limit",
        ),
        pytest.param(
            "ENTITLEMENT_ORG_OVERRIDES_JSON",
            '{"org_acme": {"seat_limit": -4711}}',
            "environment variable ENTITLEMENT_ORG_OVERRIDES_JSON at org_acme.seat_limit: must be an integer ≥ 0.",
            id="negative-seats",
        ),
        pytest.param(
            "ENTITLEMENT_ENV_OVERRIDES_JSON",
            '{"seat_limit": null}',
            "environment variable ENTITLEMENT_ENV_OVERRIDES_JSON at seat_limit: must be an integer ≥ 0; "
            "leave the key out to keep the plan's limit",
            id="null-seat-limit",
        ),
        pytest.param(
            "ENTITLEMENT_ORG_OVERRIDES_JSON",
            '{"org_acme": {"usage_caps": {"exports": -4711}}}',
            "environment variable ENTITLEMENT_ORG_OVERRIDES_JSON at org_acme.usage_caps.exports: "
            "must be an integer ≥ 0, or null for unlimited",
            id="negative-cap",
        ),
        pytest.param(
            "ENTITLEMENT_ENV_OVERRIDES_JSON",
            '{"usage_caps": null}',
            "environment variable ENTITLEMENT_ENV_OVERRIDES_JSON at usage_caps: must be a JSON object of cap "
            "name → integer ≥ 0 or null; leave the key out",
            id="null-caps",
        ),
        pytest.param(
            "ENTITLEMENT_ENV_OVERRIDES_JSON",
            f'{{"features": ["sso", "audit_log", {{"name": "{SECRET}"}}]}}',
            "environment variable ENTITLEMENT_ENV_OVERRIDES_JSON at features[2]: must be a string",
            id="feature-not-a-string",
        ),
        pytest.param(
            "ENTITLEMENT_ENV_OVERRIDES_JSON",
            f'{{"features": "{SECRET}"}}',
            "environment variable ENTITLEMENT_ENV_OVERRIDES_JSON at features: must be a JSON list of feature names",
            id="features-not-a-list",
        ),
        pytest.param(
            "ENTITLEMENT_ENV_OVERRIDES_JSON",
            f'{{"seats": "{SECRET}"}}',
            "environment variable ENTITLEMENT_ENV_OVERRIDES_JSON has an unknown key 'seats' at $ "
            "(known: seat_limit, features, usage_caps)",
            id="unknown-key",
        ),
        pytest.param(
            "ENTITLEMENT_ORG_OVERRIDES_JSON",
            f'{{"org_acme": {{"seat_limit": 5, "seats": "{SECRET}"}}}}',
            "environment variable ENTITLEMENT_ORG_OVERRIDES_JSON has an unknown key 'seats' at org_acme",
            id="unknown-key-of-an-org",
        ),
        pytest.param(
            "ENTITLEMENT_ORG_OVERRIDES_JSON",
            f'["{SECRET}"]',
            "environment variable ENTITLEMENT_ORG_OVERRIDES_JSON at $: must be a JSON object of organization id",
            id="org-top-level-list",
        ),
    ],
)
def test_each_mistake_is_one_error_naming_variable_and_path(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    message = error_for(monkeypatch, variable, value)
    assert message.startswith("Invalid promotion configuration: ")
    assert expected in message
    assert message.count(variable) == 1  # one problem, one clause
    assert message.endswith("Fix it and run again.")


def test_union_errors_are_one_message_per_location(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(monkeypatch, "FEATURE_FLAG_ENV_OVERRIDES_JSON", f'{{"a": {{"b": "{SECRET}"}}}}')
    assert message.count("at a:") == 1
    assert "Input should be" not in message


def test_every_problem_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURE_FLAG_ENV_OVERRIDES_JSON", f'{{"a": [1], "b": {{"c": "{SECRET}"}}}}')
    monkeypatch.setenv("ENTITLEMENT_ENV_OVERRIDES_JSON", '{"seat_limit": -1}')
    with pytest.raises(ConfigError) as excinfo:
        load()
    message = str(excinfo.value)
    assert "FEATURE_FLAG_ENV_OVERRIDES_JSON at a: must be a JSON scalar" in message
    assert "FEATURE_FLAG_ENV_OVERRIDES_JSON at b: must be a JSON scalar" in message
    assert "ENTITLEMENT_ENV_OVERRIDES_JSON at seat_limit: must be an integer ≥ 0" in message
    assert SECRET not in message


@pytest.mark.parametrize("field", OVERRIDE_FIELDS)
def test_overrides_are_environment_only(tmp_path: Path, field: str) -> None:
    assert field not in TABLE_KEYS
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.promotion]\n{field} = {{}}\n")
    with pytest.raises(ConfigError, match="read from the environment only") as excinfo:
        load_settings(pyproject=pyproject, options={})
    assert f"set {env_name(field)} instead" in str(excinfo.value)


def test_source_of_names_a_path_inside_the_variable() -> None:
    assert (
        source_of(("feature_flag_org_overrides", "org_acme", "new_editor"), {}, None)
        == "environment variable FEATURE_FLAG_ORG_OVERRIDES_JSON at org_acme.new_editor"
    )
    assert (
        source_of("entitlement_env_overrides", {}, None)
        == "environment variable ENTITLEMENT_ENV_OVERRIDES_JSON at $"
    )


def test_explicit_python_none_is_rejected_like_json_null() -> None:
    # One rule for both: None would otherwise read as "unlimited" to one person and "unset" to another.
    with pytest.raises(ValueError, match="leave the key out"):
        EntitlementOverride.model_validate({"seat_limit": None})
    assert EntitlementOverride().is_empty
