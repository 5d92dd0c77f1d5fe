"""Endpoint entries: names, implied requirements, filled-in parameters."""

from __future__ import annotations

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
