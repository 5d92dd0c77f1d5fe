"""Endpoint entries: names, implied requirements, filled-in parameters."""

from __future__ import annotations

import re

import pytest

from pytest_promotion.service.endpoints import Endpoint
from pytest_promotion.service.latency import Latency, latency_lines


def test_a_bare_path_is_a_get_expecting_200() -> None:
    endpoint = Endpoint.model_validate("/api/health")
    assert (endpoint.method, endpoint.expect, endpoint.name) == ("GET", (200,), "GET /api/health")


def test_an_organization_placeholder_implies_the_requirement_and_is_filled_in() -> None:
    endpoint = Endpoint.model_validate(
        {"path": "/s", "params": {"organization_id": "{organization_id}", "all": True}}
    )
    assert endpoint.requires == ("organization_id",)
    assert endpoint.name == "GET /s?organization_id={organization_id}&all=true"
    assert endpoint.query("org_1") == {"organization_id": "org_1", "all": "true"}


def test_the_latency_table_puts_the_slowest_first_and_flags_budgets() -> None:
    lines = latency_lines([Latency("a", 10.0, None), Latency("b", 300.0, 200.0), Latency("c", 50.0, 100.0)])
    assert [line.split()[-1] for line in lines[1:]] == ["b", "c", "a"]
    assert "OVER" in lines[1]
    assert "OVER" not in lines[2]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "/a", "body": "x", "body_json": {"a": 1}}, "sets both body_json and body"),
        ({"path": "/a", "body_json": 3}, "must be a table or an array"),
        ({"path": "/a", "headers": {"Bad Name": "x"}}, "not a valid HTTP header name"),
        ({"path": "/a", "headers": {"X-A": "line\nbreak"}}, "control character"),
        ({"path": "/a", "headers": {"X-A": "x", "x-a": "y"}}, "names a header twice"),
        ({"path": "/a", "headers": {"Authorization": "Bearer abc"}}, "must not be written in the file"),
        (
            {"path": "/a", "headers": {"X-Key": {"env": "NOT_SET_ANYWHERE"}}},
            "NOT_SET_ANYWHERE, which is not set",
        ),
        ({"path": "/a", "headers": {"X-Key": {"env": "A", "value": "x"}}}, "must be a text value or { env ="),
        ({"path": "/a", "timeout_ms": 0}, "greater than 0"),
        ({"path": "/a", "timeout_ms": 3_600_001}, "less than or equal to 3600000"),
        ({"path": "/a", "timeout_ms": float("inf")}, "finite number"),
    ],
)
def test_a_bad_request_key_is_refused(entry: dict[str, object], message: str) -> None:
    from pydantic import ValidationError

    from pytest_promotion.service.endpoints import Endpoint

    with pytest.raises(ValidationError, match=re.escape(message)):
        Endpoint.model_validate(entry)


def test_a_policy_entry_cannot_carry_credentials_of_its_own() -> None:
    from pydantic import ValidationError

    from pytest_promotion.service.endpoints import ENVIRONMENT, PolicyConfig

    token = ENVIRONMENT.set({"K": "v"})
    try:
        with pytest.raises(ValidationError, match="sets a credential header"):
            PolicyConfig.model_validate({"member": [{"path": "/a", "headers": {"Cookie": {"env": "K"}}}]})
    finally:
        ENVIRONMENT.reset(token)


def test_json_equality_follows_json_not_python() -> None:
    from pytest_promotion.service.assertions import same

    assert same(1, 1.0)
    assert same({"a": [1, "x"]}, {"a": [1.0, "x"]})
    for expected, actual in ((True, 1), (1, True), ("1", 1), (None, 0)):
        assert not same(expected, actual)
    assert not same({"a": 1}, {"a": 1, "b": 2})


def test_an_actual_value_is_scrubbed_then_cut() -> None:
    from pytest_promotion.core.redact import Redactor
    from pytest_promotion.service.assertions import json_mismatches

    secret = "SECRET-VALUE-0123456789"
    redactor = Redactor.of([secret])
    [line] = json_mismatches({"token": "x"}, {"token": "y" * 110 + secret}, redactor)
    assert "SECRET" not in line
    [line] = json_mismatches({"items.1.id": 2}, {"items": [{"id": 1}, {"id": 3}]}, redactor)
    assert line == "json items.1.id: expected 2, got 3"
