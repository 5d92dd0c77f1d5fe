"""The endpoint list of ``[tool.promotion.smoke]``: what to request and what counts as healthy.

An entry is a path (``"/api/health"``) or a table with ``method``, ``params``, ``expect``,
``requires``, ``json``, ``budget_ms``, ``follow_redirects``, the request's ``body_json`` or
``body``, ``headers``, ``timeout_ms`` and ``retry``. Each becomes one smoke item named by method
and path, so the names must be unique; ``params`` may use ``{organization_id}``.

A secret header value is never written in the file: it names an environment variable
(``{ env = "SMOKE_API_KEY" }``), which is read when the settings are read (the settings module
hands the environment in through :data:`ENVIRONMENT`), held as ``SecretStr`` and scrubbed from
every output like a token.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from pytest_promotion.service.assertions import Expectations, compile_check

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
Requirement = Literal["auth", "organization_id"]
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
ParamValue = str | int | float | bool
FlagSource = Literal["resolved", "ofrep"]
FLAG_PATHS: dict[str, str] = {
    "resolved": "/api/dashboard/feature-flags/resolved",
    "ofrep": "/ofrep/v1/evaluate/flags",
}
"""Where each flag source answers by default: the contract's report, OFREP's bulk evaluation."""
Status = Annotated[int, Field(ge=100, le=599)]
JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]

ENVIRONMENT: ContextVar[Mapping[str, str]] = ContextVar("promotion_environment")
"""The environment secret header references are read from; set by ``settings.load_settings``."""
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 field-name characters
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
"""Headers that carry credentials: only by reference to a variable, never inline in the file."""
MAX_TIMEOUT_MS = 3_600_000


class SecretHeader(BaseModel):
    """``{ env = "SMOKE_API_KEY" }``: a header value read from the environment, never shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str
    _value: SecretStr = PrivateAttr(default=SecretStr(""))

    @property
    def value(self) -> SecretStr:
        """The variable's value, read when the settings were read."""
        return self._value


def _resolved(name: str, raw: Mapping[str, Any]) -> SecretHeader:
    """The reference read from the environment, or a ValueError naming the header and variable."""
    if set(raw) != {"env"} or not isinstance(raw["env"], str):
        raise ValueError(
            f'header {name!r} must be a text value or {{ env = "VARIABLE" }} naming the variable that holds it'
        )
    variable = raw["env"]
    if not _VARIABLE.match(variable):
        raise ValueError(f"header {name!r}: env = {variable!r} is not an environment variable name")
    found = ENVIRONMENT.get({}).get(variable)
    if found is None or not found.strip():
        raise ValueError(
            f"header {name!r} reads the environment variable {variable}, which is not set; set it "
            "(e.g. as a CI secret) or remove the header"
        )
    if not _header_value_ok(found):
        raise ValueError(
            f"header {name!r}: the environment variable {variable} holds leading or trailing whitespace, "
            "a control character or a non-ASCII character, which an HTTP header cannot carry; check its value"
        )
    reference = SecretHeader(env=variable)
    reference._value = SecretStr(found)
    return reference


def _header_value_ok(value: str) -> bool:
    return value == value.strip() and value.isascii() and value.isprintable()


HeaderValue = str | SecretHeader


def read_references(value: Any) -> Any:
    """A ``headers`` table with each ``{ env = "VARIABLE" }`` read from the environment."""
    if not isinstance(value, Mapping):
        raise ValueError('must be a table of header names to values, e.g. { "X-Client" = "smoke" }')
    return {
        name: _resolved(str(name), header) if isinstance(header, Mapping) else header
        for name, header in value.items()
    }


def valid_headers(value: dict[str, HeaderValue]) -> dict[str, HeaderValue]:
    """Header names and inline values an HTTP request can carry; no credential written inline."""
    for name, header in value.items():
        if not _TOKEN.match(name):
            raise ValueError(f"header name {name!r} is not a valid HTTP header name")
        if isinstance(header, str):
            if not _header_value_ok(header):
                raise ValueError(
                    f"header {name!r} has leading or trailing whitespace, a control character or a "
                    "non-ASCII character, which an HTTP header cannot carry"
                )
            if name.lower() in CREDENTIAL_HEADERS:
                raise ValueError(
                    f"header {name!r} carries credentials and must not be written in the file: "
                    f'write {name} = {{ env = "VARIABLE" }} and set the variable as a secret'
                )
    lowered = [name.lower() for name in value]
    if len(set(lowered)) != len(lowered):
        raise ValueError("names a header twice (header names are case-insensitive)")
    return value


Headers = Annotated[dict[str, HeaderValue], BeforeValidator(read_references), AfterValidator(valid_headers)]
"""A table of request headers, secrets only by ``{ env = "VARIABLE" }``."""


def sent_headers(headers: Mapping[str, HeaderValue]) -> dict[str, str]:
    """The headers to send, secrets resolved (never keep the result where a repr could show it)."""
    return {
        name: value.value.get_secret_value() if isinstance(value, SecretHeader) else value
        for name, value in headers.items()
    }


def secrets_of(headers: Mapping[str, HeaderValue]) -> tuple[SecretStr, ...]:
    """The secret header values, for the run's redactor."""
    return tuple(value.value for value in headers.values() if isinstance(value, SecretHeader))


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
    body_json: JsonValue = None
    """A request body sent as JSON (a table or an array)."""
    body: str | None = None
    """A request body sent as text."""
    headers: Headers = Field(default_factory=dict)
    """Request headers; a secret value is ``{ env = "VARIABLE" }``."""
    timeout_ms: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT_MS, allow_inf_nan=False)
    """This entry's deadline per attempt, instead of the table's ``timeout``."""
    retry: bool | None = None
    """Retry transient failures: by default only for idempotent methods (never POST or PATCH)."""
    json_values: dict[str, JsonValue] = Field(default_factory=dict)
    """``json`` written as a table: dotted path -> expected value (``re:`` starts a regular expression)."""
    headers_expect: dict[str, str] = Field(default_factory=dict)
    """Response header (any case) -> glob its value must match."""
    body_contains: tuple[str, ...] = ()
    """Text the response body must contain."""

    @model_validator(mode="before")
    @classmethod
    def _path_alone(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"path": value}
        if isinstance(value, Mapping) and isinstance(value.get("json"), Mapping):
            # `json = { status = "ok" }` checks values; `json = ["status"]` checks keys are there
            value = {**value, "json_values": value["json"]}
            del value["json"]
        return value

    @field_validator("json_values")
    @classmethod
    def _usable_values(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        for path, expected in value.items():
            if not path or any(not part for part in path.split(".")):
                raise ValueError(f"path {path!r} is not a dotted path like 'checks.db'")
            problem = compile_check(expected)
            if problem is not None:
                raise ValueError(f"at {path!r}: {problem}")
        return value

    @field_validator("body_contains", mode="before")
    @classmethod
    def _text_or_texts(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("body_contains")
    @classmethod
    def _no_empty_text(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not text for text in value):
            raise ValueError("holds an empty text, which every body contains")
        return value

    @field_validator("headers_expect")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _TOKEN.match(name):
                raise ValueError(f"header name {name!r} is not a valid HTTP header name")
        return value

    def expectations(self) -> Expectations:
        """What the answer must hold beyond its status."""
        return Expectations(self.json_values, self.headers_expect, self.body_contains)

    @field_validator("body_json")
    @classmethod
    def _table_or_array(cls, value: JsonValue) -> JsonValue:
        if value is not None and not isinstance(value, dict | list):
            raise ValueError("must be a table or an array (for a text body use 'body')")
        return value

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
        if self.body_json is not None and self.body is not None:
            raise ValueError("sets both body_json and body; a request has one body")
        if "auth" in self.requires and CREDENTIAL_HEADERS & {name.lower() for name in self.headers}:
            raise ValueError(
                "requires auth and sets a credential header too; the admin credentials would be "
                "overwritten. Use one or the other"
            )
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

    @property
    def secret_headers(self) -> tuple[SecretStr, ...]:
        """The secret header values, for the run's redactor."""
        return secrets_of(self.headers)

    def request_headers(self) -> dict[str, str]:
        """The headers to send, secrets resolved (never keep the result where a repr could show it)."""
        sent = sent_headers(self.headers)
        named = {name.lower() for name in sent}
        if self.body_json is not None and "content-type" not in named:
            sent["Content-Type"] = "application/json"
        elif self.body is not None and "content-type" not in named:
            sent["Content-Type"] = "text/plain; charset=utf-8"
        return sent

    def content(self) -> bytes | None:
        """The request body's bytes, or None."""
        if self.body_json is not None:
            return json.dumps(self.body_json, separators=(",", ":")).encode()
        return self.body.encode() if self.body is not None else None

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


class RevisionSource(BaseModel):
    """``revision = { path = "/api/health", json = "version.commit" }`` (or ``header = "X-Revision"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = "/api/health"
    json_path: str | None = Field(default=None, alias="json")
    header: str | None = None
    consecutive: int = Field(default=3, ge=1, le=100)
    """Answers in a row that must report the expected revision (a rollout answers with both)."""

    @field_validator("path")
    @classmethod
    def _is_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be a path starting with '/'")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> RevisionSource:
        if (self.json_path is None) == (self.header is None):
            raise ValueError('needs exactly one of json = "dotted.path" or header = "X-Revision"')
        return self

    @property
    def where(self) -> str:
        """``GET /api/health json version.commit``."""
        found = f"json {self.json_path}" if self.json_path else f"header {self.header}"
        return f"GET {self.path} {found}"


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
    strict_retries: bool = False
    """A smoke check that passed only after retries fails instead (``--promotion-strict-retries``)."""
    revision: RevisionSource | None = None
    """Where the service reports its deployed revision (``--expect-revision`` waits for it)."""
    concurrency: int = Field(default=32, ge=1, le=256)
    """Smoke requests in flight at once, for the whole run (xdist workers share it out)."""
    wait_healthy: float | None = Field(default=None, gt=0, le=86400, allow_inf_nan=False)
    """Seconds to poll ``health_path`` for a 2xx answer before the smoke items run."""
    health_path: str = "/api/health"
    """The endpoint ``wait_healthy`` polls."""
    flag_source: FlagSource = "resolved"
    """How the flags are read: the service's resolved-flags report, or OpenFeature's OFREP."""
    flags_path: str | None = None
    """Where the flag report is (default: :data:`FLAG_PATHS` of ``flag_source``)."""
    flags_headers: Headers = Field(default_factory=dict)
    """Headers the flag report is asked with (an OFREP service's ``X-API-Key = { env = "…" }``)."""
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
    def _health_is_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must be a path starting with '/'")
        return value

    @property
    def flag_report_path(self) -> str:
        """``flags_path``, else the usual path of the configured flag source."""
        return self.flags_path or FLAG_PATHS[self.flag_source]


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
        for endpoint in value:
            if CREDENTIAL_HEADERS & {name.lower() for name in endpoint.headers}:
                raise ValueError(
                    f"{endpoint.name!r} sets a credential header; the policy checks send each role's "
                    "own credentials (and none for anonymous), so an entry cannot add its own"
                )
        return value

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """Every endpoint the policy names."""
        return self.admin_only + self.member
