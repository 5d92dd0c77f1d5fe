"""Reading an OFREP bulk answer, and which reasons fit which override."""

from __future__ import annotations

import pytest

from pytest_promotion.core.redact import Redactor
from pytest_promotion.overrides.ofrep import Evaluation, parse_bulk, reason_problem
from pytest_promotion.service.endpoints import SmokeConfig

SECRET = "tok-4f1d9c2a77"
cut = Redactor.of([SECRET]).cut


def test_a_bulk_answer_is_read_by_key_with_value_reason_and_variant() -> None:
    flags = parse_bulk(
        {
            "flags": [
                {"key": "a", "value": True, "reason": "STATIC", "variant": "on", "metadata": {}},
                {"key": "b", "reason": "DEFAULT", "variant": "control"},  # defers to the code default
                {"key": "c", "errorCode": "FLAG_NOT_FOUND", "errorDetails": f"no flag c for {SECRET}"},
            ]
        },
        cut,
    )
    assert flags["a"] == Evaluation(
        "a", has_value=True, value=True, value_text="true", reason="STATIC", variant="on"
    )
    assert flags["a"].described() == "true (reason STATIC, variant on)"
    assert not flags["b"].has_value
    assert flags["b"].described() == "no value (the code's default) (reason DEFAULT, variant control)"
    assert flags["c"].described() == "error FLAG_NOT_FOUND: no flag c for ***"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({}, "answered without a 'flags' array"),
        ({"flags": {"a": True}}, "answered without a 'flags' array"),
        ([{"key": "a"}], "answered without a 'flags' array"),
        ({"flags": ["a"]}, "answered a 'flags' entry without a key (entry 0)"),
        (
            {"flags": [{"key": "a", "value": 1}, {"value": 2}]},
            "answered a 'flags' entry without a key (entry 1)",
        ),
        ({"flags": [{"key": "a", "value": 1}, {"key": "a", "value": 2}]}, "answered flag 'a' twice"),
    ],
)
def test_an_answer_that_breaks_the_protocol_says_how(document: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_bulk(document, cut)


def test_a_long_or_secret_value_is_shown_scrubbed_and_cut() -> None:
    flags = parse_bulk(
        {"flags": [{"key": "a", "value": {"note": SECRET + "x" * 500}, "reason": "STATIC"}]}, cut
    )
    assert flags["a"].value == {"note": SECRET + "x" * 500}  # compared whole
    shown = flags["a"].described()
    assert SECRET not in shown
    assert shown.startswith('{"note": "***xxx')
    assert len(shown) < 260


def test_an_error_entry_with_a_value_is_an_error_not_a_value() -> None:
    flags = parse_bulk({"flags": [{"key": "a", "value": True, "errorCode": "GENERAL"}]}, cut)
    assert not flags["a"].has_value
    assert flags["a"].described() == "error GENERAL"


@pytest.mark.parametrize(
    ("layer", "reason", "fits"),
    [
        ("org", "TARGETING_MATCH", True),
        ("org", "STATIC", False),
        ("org", "DEFAULT", False),
        ("org", "SPLIT", False),
        ("org", "DISABLED", False),
        ("env", "STATIC", True),
        ("env", "DEFAULT", True),
        ("env", "TARGETING_MATCH", False),
        ("env", "ERROR", False),
        ("env", "STALE", False),
        # OFREP leaves these open: shown, never judged
        ("org", None, True),
        ("org", "UNKNOWN", True),
        ("env", "CACHED", True),
        ("env", "VENDOR_RULE_7", True),
        ("org", "targeting_match", True),  # a service that does not capitalise
        ("org", "split", False),
    ],
)
def test_a_reason_fits_the_override_layer_or_says_why_not(layer: str, reason: str | None, fits: bool) -> None:
    problem = reason_problem(layer, reason, "org_acme")
    assert (problem is None) is fits, problem


def test_the_flag_source_picks_its_usual_path_unless_one_is_given() -> None:
    assert SmokeConfig().flag_report_path == "/api/dashboard/feature-flags/resolved"
    assert SmokeConfig(flag_source="ofrep").flag_report_path == "/ofrep/v1/evaluate/flags"
    assert SmokeConfig(flag_source="ofrep", flags_path="/flags/bulk").flag_report_path == "/flags/bulk"


def test_flags_headers_go_with_the_flag_report_only() -> None:
    from pydantic import SecretStr

    from pytest_promotion.overrides.items import ServiceReport
    from pytest_promotion.overrides.ofrep import OfrepReport
    from pytest_promotion.service.client import Credentials
    from pytest_promotion.service.run import ServiceRun, Target
    from pytest_promotion.service.store import ExchangeStore

    target = Target(
        base_url="http://127.0.0.1:9",
        base_url_source="--base-url",
        organization_id="org_acme",
        admin=Credentials(bearer=SecretStr(SECRET)),
        config=SmokeConfig(flag_source="ofrep", flags_headers={"X-Flag-Client": "release-gate"}),
    )
    run = ServiceRun(target=target, store=ExchangeStore.create(), redactor=Redactor.of([SECRET]))
    ofrep = OfrepReport(run, "/ofrep/v1/evaluate/flags").call()
    flags = ServiceReport(run, "/flags", "flags").call()
    entitlements = ServiceReport(run, "/billing", "entitlements").call()
    assert ofrep.headers["X-Flag-Client"] == flags.headers["X-Flag-Client"] == "release-gate"
    assert ofrep.headers["Authorization"] == f"Bearer {SECRET}"
    assert ofrep.headers["Content-Type"] == "application/json"
    assert ofrep.content == b'{"context": {"targetingKey": "org_acme"}}'
    assert "X-Flag-Client" not in entitlements.headers
    assert entitlements.headers["Authorization"] == f"Bearer {SECRET}"
