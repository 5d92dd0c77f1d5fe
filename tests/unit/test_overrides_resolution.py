"""Precedence of flag and entitlement overrides: organization > environment > database or plan."""

from __future__ import annotations

from pytest_promotion.overrides.config import EntitlementOverride, Overrides
from pytest_promotion.overrides.entitlements import (
    Configured,
    Entitlements,
    configured_entitlements,
    overlay,
    resolve_entitlements,
)
from pytest_promotion.overrides.flags import ResolvedFlag, resolve_flags

DB = {"new_editor": False, "ai_summaries": False, "export_limit": 1000}
FLAGS = Overrides(
    flags_env={"new_editor": True, "export_limit": 5000, "beta_banner": "on"},
    flags_org={
        "org_acme": {"export_limit": 20000, "ai_summaries": True},
        "org_globex": {"new_editor": False},
    },
)
GROWTH = Entitlements(
    seat_limit=25, features=("sso", "audit_log"), usage_caps={"api_calls": 100000, "exports": 50}
)


def values(resolved: dict[str, ResolvedFlag]) -> dict[str, tuple[object, str]]:
    return {key: (flag.value, flag.source) for key, flag in resolved.items()}


def test_flag_precedence_is_org_then_env_then_db() -> None:
    assert values(resolve_flags(DB, FLAGS, "org_acme")) == {
        "ai_summaries": (True, "org"),
        "beta_banner": ("on", "env"),
        "export_limit": (20000, "org"),
        "new_editor": (True, "env"),
    }


def test_flags_are_sorted_by_key_and_include_keys_only_in_overrides() -> None:
    resolved = resolve_flags({"zeta": 1}, FLAGS, "org_acme")
    assert list(resolved) == sorted(resolved)
    assert resolved["beta_banner"] == ResolvedFlag(value="on", source="env")


def test_another_organizations_flag_override_is_not_applied() -> None:
    # org_globex switches new_editor off; org_acme keeps the environment's value.
    assert resolve_flags(DB, FLAGS, "org_acme")["new_editor"] == ResolvedFlag(True, "env")
    assert resolve_flags(DB, FLAGS, "org_globex")["new_editor"] == ResolvedFlag(False, "org")


def test_an_unknown_or_absent_organization_gets_only_the_environments_flags() -> None:
    expected = {
        "ai_summaries": (False, "db"),
        "beta_banner": ("on", "env"),
        "export_limit": (5000, "env"),
        "new_editor": (True, "env"),
    }
    assert values(resolve_flags(DB, FLAGS, "org_unknown")) == expected
    assert values(resolve_flags(DB, FLAGS, None)) == expected


def test_empty_configuration_reports_the_database() -> None:
    assert values(resolve_flags(DB, Overrides(), "org_acme")) == {
        key: (value, "db") for key, value in DB.items()
    }
    assert resolve_flags({}, Overrides(), "org_acme") == {}


def test_resolving_an_empty_database_gives_exactly_the_configured_flags() -> None:
    assert values(resolve_flags({}, FLAGS, "org_acme")) == {
        "ai_summaries": (True, "org"),
        "beta_banner": ("on", "env"),
        "export_limit": (20000, "org"),
        "new_editor": (True, "env"),
    }


def test_a_flag_is_reported_as_json() -> None:
    assert ResolvedFlag(value=20000, source="org").to_json() == {"value": 20000, "source": "org"}


def test_overlay_replaces_seats_unions_features_and_merges_caps() -> None:
    env = EntitlementOverride(seat_limit=30, features=("sandbox", "sso"), usage_caps={"exports": 100})
    org = EntitlementOverride(
        seat_limit=50, features=("priority_support", "sandbox"), usage_caps={"webhooks": 10}
    )
    assert overlay(GROWTH, env, org) == Entitlements(
        seat_limit=50,
        features=("sso", "audit_log", "sandbox", "priority_support"),
        usage_caps={"api_calls": 100000, "exports": 100, "webhooks": 10},
    )


def test_overlay_keeps_what_a_layer_does_not_set() -> None:
    assert overlay(GROWTH) == GROWTH
    assert overlay(GROWTH, None, EntitlementOverride()) == GROWTH
    assert overlay(GROWTH, EntitlementOverride(usage_caps={"exports": 5})).seat_limit == 25


def test_overlay_may_lower_the_seat_limit_to_zero() -> None:
    assert overlay(GROWTH, EntitlementOverride(seat_limit=0)).seat_limit == 0


def test_null_caps_mean_unlimited_and_the_most_specific_layer_wins() -> None:
    unlimited_env = EntitlementOverride(usage_caps={"exports": None})
    capped_org = EntitlementOverride(usage_caps={"exports": 10})
    assert overlay(GROWTH, unlimited_env).usage_caps["exports"] is None
    assert overlay(GROWTH, unlimited_env, capped_org).usage_caps["exports"] == 10
    assert overlay(GROWTH, capped_org, unlimited_env).usage_caps["exports"] is None


def test_entitlements_to_json() -> None:
    assert overlay(GROWTH, EntitlementOverride(usage_caps={"exports": None})).to_json() == {
        "seat_limit": 25,
        "features": ["sso", "audit_log"],
        "usage_caps": {"api_calls": 100000, "exports": None},
    }


ENTITLEMENTS = Overrides(
    entitlements_env=EntitlementOverride(
        features=("sso", "sandbox"), usage_caps={"exports": None, "api_calls": 5}
    ),
    entitlements_org={
        "org_acme": EntitlementOverride(seat_limit=50, features=("sso",), usage_caps={"exports": 10}),
        "org_globex": EntitlementOverride(seat_limit=1),
    },
)


def test_resolve_entitlements_applies_env_then_that_organizations_layer() -> None:
    assert resolve_entitlements(GROWTH, ENTITLEMENTS, "org_acme") == Entitlements(
        seat_limit=50,
        features=("sso", "audit_log", "sandbox"),
        usage_caps={"api_calls": 5, "exports": 10},
    )


def test_an_unknown_organization_gets_only_the_environments_entitlements() -> None:
    expected = Entitlements(
        seat_limit=25, features=("sso", "audit_log", "sandbox"), usage_caps={"api_calls": 5, "exports": None}
    )
    assert resolve_entitlements(GROWTH, ENTITLEMENTS, "org_unknown") == expected
    assert resolve_entitlements(GROWTH, ENTITLEMENTS, None) == expected


def test_empty_configuration_gives_the_plan() -> None:
    assert resolve_entitlements(GROWTH, Overrides(), "org_acme") == GROWTH
    assert configured_entitlements(Overrides(), "org_acme").is_empty


def test_configured_entitlements_name_the_most_specific_source() -> None:
    assert configured_entitlements(ENTITLEMENTS, "org_acme") == Configured(
        seat_limit=(50, "org"),
        features={"sso": "org", "sandbox": "env"},
        usage_caps={"exports": (10, "org"), "api_calls": (5, "env")},
    )


def test_configured_entitlements_of_another_organization_are_not_applied() -> None:
    assert configured_entitlements(ENTITLEMENTS, "org_globex").seat_limit == (1, "org")
    assert configured_entitlements(ENTITLEMENTS, "org_unknown") == Configured(
        seat_limit=None,
        features={"sso": "env", "sandbox": "env"},
        usage_caps={"exports": (None, "env"), "api_calls": (5, "env")},
    )


def test_an_org_null_cap_replaces_an_env_cap() -> None:
    overrides = Overrides(
        entitlements_env=EntitlementOverride(usage_caps={"exports": 10}),
        entitlements_org={"org_acme": EntitlementOverride(usage_caps={"exports": None})},
    )
    assert configured_entitlements(overrides, "org_acme").usage_caps == {"exports": (None, "org")}
    assert resolve_entitlements(GROWTH, overrides, "org_acme").usage_caps["exports"] is None


def test_emptiness_of_overrides() -> None:
    assert Overrides().is_empty_flags
    assert Overrides(flags_org={"org_acme": {}}).is_empty_flags
    assert not FLAGS.is_empty_flags
    assert FLAGS.is_empty_entitlements
    assert not ENTITLEMENTS.is_empty_entitlements
    assert Overrides(entitlements_env=EntitlementOverride()).is_empty_entitlements
