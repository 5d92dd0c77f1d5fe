"""The endpoint list of ``[tool.promotion.smoke]``: what to request and what counts as healthy.

An entry is a path (``"/api/health"``) or a table with ``method``, ``params``, ``expect``,
``requires``, ``json``, ``budget_ms`` and ``follow_redirects``. Each becomes one smoke item named
by method and path, so the names must be unique; ``params`` may use ``{organization_id}``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
Requirement = Literal["auth", "organization_id"]
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
ParamValue = str | int | float | bool
Status = Annotated[int, Field(ge=100, le=599)]


def _refusal(status: int) -> int:
    if not 400 <= status <= 599:
        raise ValueError(
            f"lists {status}, which is not a refusal: a deny list holds 4xx/5xx statuses only, "
            "or a caller who got in would pass the check"
        )
    return status


DenyStatus = Annotated[int, AfterValidator(_refusal)]


class Endpoint(BaseModel):
    """One smoke entry; validated so that a bad one is reported by index and field."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    path: str
    method: str = "GET"
    params: dict[str, ParamValue] = Field(default_factory=dict)
    expect: tuple[Status, ...] = (200,)
    requires: tuple[Requirement, ...] = ()
    json_keys: tuple[str, ...] = Field(default=(), alias="json")
    budget_ms: float | None = Field(default=None, gt=0)
    follow_redirects: bool = False

    @model_validator(mode="before")
    @classmethod
    def _path_alone(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/") or "://" in value or any(ch.isspace() for ch in value):
            raise ValueError("must be a path starting with '/' (the base URL comes from --base-url)")
        if "?" in value or "#" in value:
            raise ValueError("must not hold a query or fragment; put query parameters in 'params'")
        return value

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value.upper() not in METHODS:
            raise ValueError(f"must be one of {', '.join(METHODS)}")
        return value.upper()

    @field_validator("expect", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        if not isinstance(value, list | tuple):
            raise ValueError("must be a status code or a list of them, e.g. 200 or [200, 304]")
        return value

    @field_validator("expect")
    @classmethod
    def _some_status(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("lists no status code; leave it out for the default 200")
        return value

    @field_validator("params")
    @classmethod
    def _known_placeholders(cls, value: dict[str, ParamValue]) -> dict[str, ParamValue]:
        for key, param in value.items():
            for name in _PLACEHOLDER.findall(str(param)):
                if name != "organization_id":
                    raise ValueError(
                        f"parameter {key!r} uses {{{name}}}; the only placeholder is {{organization_id}}"
                    )
        return value

    @model_validator(mode="after")
    def _implied_requirements(self) -> Endpoint:
        if self.uses_organization and "organization_id" not in self.requires:
            object.__setattr__(self, "requires", (*self.requires, "organization_id"))
        return self

    @property
    def uses_organization(self) -> bool:
        """True when a parameter needs the organization id."""
        return any("{organization_id}" in str(value) for value in self.params.values())

    @property
    def name(self) -> str:
        """The item name: ``GET /api/health``, with the parameter template when there is one."""
        query = urlencode({key: _text(value) for key, value in self.params.items()}, safe="{}")
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")

    def query(self, organization_id: str | None) -> dict[str, str]:
        """The query parameters with ``{organization_id}`` filled in."""
        return {
            key: _text(value).replace("{organization_id}", organization_id or "")
            for key, value in self.params.items()
        }

    def expects_redirect(self) -> bool:
        """True when a 3xx answer is itself what the entry checks for."""
        return any(300 <= status < 400 for status in self.expect)


def _text(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def duplicate_names(endpoints: tuple[Endpoint, ...]) -> list[str]:
    """Names used by more than one entry: items must have unique ids."""
    counts = Counter(endpoint.name for endpoint in endpoints)
    return [name for name, count in counts.items() if count > 1]


class SmokeConfig(BaseModel):
    """``[tool.promotion.smoke]``: the endpoint list and how to call it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoints: tuple[Endpoint, ...] = ()
    """The endpoints to check, one smoke item each, in this order."""
    timeout: float = Field(default=10.0, gt=0, le=3600, allow_inf_nan=False)
    """Seconds one request may take in all: connecting, waiting and reading the whole body."""
    retries: int = Field(default=2, ge=0, le=10)
    """Retries of a transient failure: a connection error or 502/503/504."""
    backoff: float = Field(default=0.5, ge=0, le=60, allow_inf_nan=False)
    """Seconds before the first retry; doubled before each next one."""
    concurrency: int = Field(default=32, ge=1, le=256)
    """Smoke requests in flight at once, for the whole run (xdist workers share it out)."""
    wait_healthy: float | None = Field(default=None, gt=0, le=86400, allow_inf_nan=False)
    """Seconds to poll ``health_path`` for a 2xx answer before the smoke items run."""
    health_path: str = "/api/health"
    """The endpoint ``wait_healthy`` polls."""
    flags_path: str = "/api/dashboard/feature-flags/resolved"
    """Where the service reports its resolved feature flags (``pytest -m flags``)."""
    entitlements_path: str = "/api/dashboard/billing/readiness"
    """Where the service reports an organization's entitlements (``pytest -m entitlements``)."""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    """Bytes of a response body read at most; a larger body fails the check instead of filling memory."""
    samples: int = Field(default=5, ge=1, le=1000)
    """Timed requests per latency-budget item, after one warm-up request."""
    default_budget_ms: float | None = Field(default=None, gt=0)
    """Budget for entries without ``budget_ms``; unset, only entries with one get a budget item."""

    @field_validator("endpoints")
    @classmethod
    def _unique_names(cls, value: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
        duplicates = duplicate_names(value)
        if duplicates:
            raise ValueError(
                f"lists {duplicates[0]!r} more than once; every entry needs its own method, path and params"
            )
        return value

    @field_validator("health_path", "flags_path", "entitlements_path")
    @classmethod
    def _health_is_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be a path starting with '/'")
        return value


class PolicyConfig(BaseModel):
    """``[tool.promotion.policy]``: who may reach which endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    admin_only: tuple[Endpoint, ...] = ()
    """Endpoints only an admin may reach: member, anonymous and invalid-token callers are refused."""
    member: tuple[Endpoint, ...] = ()
    """Endpoints both an admin and a member may reach."""
    member_deny: tuple[DenyStatus, ...] = (403,)
    """Statuses that count as refusing a member."""
    anonymous_deny: tuple[DenyStatus, ...] = (401,)
    """Statuses that count as refusing a caller without credentials (add 403 if the service uses it)."""
    invalid_token_deny: tuple[DenyStatus, ...] = (401,)
    """Statuses that count as refusing a caller with a token nobody issued."""

    @field_validator("admin_only", "member")
    @classmethod
    def _unique_names(cls, value: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
        duplicates = duplicate_names(value)
        if duplicates:
            raise ValueError(f"lists {duplicates[0]!r} more than once")
        return value

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """Every endpoint the policy names."""
        return self.admin_only + self.member
