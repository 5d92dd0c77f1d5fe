"""The shapes of the four ``*_OVERRIDES_JSON`` variables, and how their mistakes are worded.

The values are per-environment configuration (staging may switch a flag on that production keeps
off), so they are read from the environment only, never from the committed ``[tool.promotion]``
table. They may hold customer names or contract terms, so no error message ever repeats a value:
errors name the variable, the JSON path inside it and what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeAlias

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError


def _json_scalar(value: object) -> object:
    # Checked before the union so a list or null gives one message, not one per union member.
    if isinstance(value, bool | int | float | str):
        return value
    raise ValueError("must be a JSON scalar (true/false, a number or a string)")


FlagValue: TypeAlias = Annotated[
    StrictBool | StrictInt | StrictFloat | StrictStr, BeforeValidator(_json_scalar)
]
"""A flag's value: a JSON scalar. null, lists and objects are rejected (a service cannot serve them)."""


def _is_count(value: object) -> bool:
    # bool is an int subclass, and 5.0 or "5" in a limit is a typo worth stopping for.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _usage_cap(value: object) -> object:
    if value is None or _is_count(value):
        return value
    raise ValueError("must be an integer ≥ 0, or null for unlimited")


UsageCap: TypeAlias = Annotated[int | None, BeforeValidator(_usage_cap)]
"""A usage cap: an integer ≥ 0, or None (JSON null) for unlimited."""

FeatureName: TypeAlias = Annotated[StrictStr, StringConstraints(min_length=1)]


class EntitlementOverride(BaseModel):
    """One layer of entitlement overrides (the environment's, or one organization's).

    A field left at None is not set by this layer, so the plan's (or a less specific layer's)
    value stands. An explicit JSON null is rejected rather than read as "not set": for a seat
    limit or the caps it would look like "unlimited", and guessing wrong there changes billing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seat_limit: int | None = None
    """Replaces the plan's seat limit."""
    features: tuple[FeatureName, ...] | None = None
    """Features added to the plan's (never removed: an override grants, the plan is the floor)."""
    usage_caps: dict[str, UsageCap] | None = None
    """Cap name → limit, replacing the plan's cap of that name; None means unlimited."""

    @field_validator("seat_limit", mode="before")
    @classmethod
    def _seat_limit(cls, value: object) -> object:
        if value is None:
            raise ValueError("must be an integer ≥ 0; leave the key out to keep the plan's limit")
        if not _is_count(value):
            raise ValueError("must be an integer ≥ 0")
        return value

    @field_validator("features", mode="before")
    @classmethod
    def _features(cls, value: object) -> object:
        if value is None:
            raise ValueError("must be a JSON list of feature names; leave the key out to add none")
        if not isinstance(value, list | tuple):
            raise ValueError("must be a JSON list of feature names")
        return value

    @field_validator("usage_caps", mode="before")
    @classmethod
    def _usage_caps(cls, value: object) -> object:
        if value is None:
            raise ValueError(
                "must be a JSON object of cap name → integer ≥ 0 or null; "
                "leave the key out to keep the plan's caps"
            )
        return value

    @property
    def is_empty(self) -> bool:
        """True when this layer sets nothing (``{}``)."""
        return self.seat_limit is None and not self.features and not self.usage_caps


# Settings field -> what its JSON must look like, for the top-level "must be a JSON object" message.
SHAPES: dict[str, str] = {
    "feature_flag_env_overrides": "of flag key → value",
    "feature_flag_org_overrides": "of organization id → {flag key → value}",
    "entitlement_env_overrides": "with any of seat_limit, features, usage_caps",
    "entitlement_org_overrides": "of organization id → {seat_limit, features, usage_caps}",
}
OVERRIDE_FIELDS: tuple[str, ...] = tuple(SHAPES)
"""The settings fields read from ``*_OVERRIDES_JSON`` variables (environment only)."""


class _Duplicate(Exception):
    """A JSON object names one key twice; json.loads would silently keep the last."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _NotJson(Exception):
    """NaN or Infinity: Python's json accepts them, JSON (and the service's parser) does not."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise _NotJson


def decode_json_env(value: object, field_name: str) -> object:
    """A ``*_OVERRIDES_JSON`` string decoded for validation; other values pass through.

    A blank string means "not configured" (CI expands an undefined secret to ""). Errors are raised
    as pydantic errors whose text never contains the value: ``JSONDecodeError`` only contributes
    its message, line and column, never ``.doc``.
    """
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None if field_name == "entitlement_env_overrides" else {}
    try:
        decoded = json.loads(value, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise PydanticCustomError(
            "invalid_json",
            "is not valid JSON (line {line}, column {column}: {reason})",
            {"line": exc.lineno, "column": exc.colno, "reason": exc.msg},
        ) from None
    except _Duplicate as exc:
        raise PydanticCustomError(
            "invalid_json",
            "has the key '{key}' twice in one object (JSON keeps only the last); remove one",
            {"key": exc.key},
        ) from None
    except _NotJson:
        raise PydanticCustomError(
            "invalid_json", "is not valid JSON (NaN and Infinity are not JSON numbers)"
        ) from None
    if not isinstance(decoded, dict):
        raise ValueError(f"must be a JSON object {SHAPES[field_name]}")
    return decoded


def json_path(loc: tuple[str | int, ...]) -> str:
    """A location inside a JSON value: ``$`` for the root, ``org_acme.features[2]`` below it."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "$"


def _message(field_name: str, loc: tuple[str | int, ...], error: ErrorDetails) -> str:
    """Pydantic's message in the words of the JSON the user wrote."""
    kind = error["type"]
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        if loc and loc[-1] == "usage_caps":
            return "must be a JSON object of cap name → integer ≥ 0 or null"
        if field_name == "feature_flag_org_overrides" and len(loc) == 1:
            return "must be a JSON object of flag key → value"
        if field_name == "entitlement_org_overrides" and len(loc) == 1:
            return "must be a JSON object with any of seat_limit, features, usage_caps"
        return f"must be a JSON object {SHAPES[field_name]}" if not loc else "must be a JSON object"
    if kind in {"tuple_type", "list_type"}:
        return "must be a JSON list"
    if kind == "string_type":
        return "must be a string"
    if kind == "string_too_short":
        return "must not be empty"
    return error["msg"].removeprefix("Value error, ")


def describe_error(variable: str, field_name: str, loc: tuple[str | int, ...], error: ErrorDetails) -> str:
    """One problem in an override variable, as a clause of the configuration error paragraph.

    ``loc`` is the location inside the JSON value (without the field). The result names the
    variable and the JSON path and never includes the value, e.g.
    ``environment variable ENTITLEMENT_ENV_OVERRIDES_JSON at seat_limit: must be an integer ≥ 0``.
    """
    if error["type"] == "invalid_json":
        return f"environment variable {variable} {error['msg']}"
    if error["type"] == "extra_forbidden":
        known = ", ".join(EntitlementOverride.model_fields)
        return (
            f"environment variable {variable} has an unknown key {loc[-1]!r} "
            f"at {json_path(loc[:-1])} (known: {known})"
        )
    return f"environment variable {variable} at {json_path(loc)}: {_message(field_name, loc, error)}"


@dataclass(frozen=True)
class Overrides:
    """All configured overrides of this environment, taken from validated settings.

    The resolution functions take this instead of the settings so they (and their tests) need no
    environment.
    """

    flags_env: Mapping[str, FlagValue] = field(default_factory=dict)
    """Flag key → value, for every organization."""
    flags_org: Mapping[str, Mapping[str, FlagValue]] = field(default_factory=dict)
    """Organization id → flag key → value; wins over ``flags_env`` for that organization."""
    entitlements_env: EntitlementOverride | None = None
    """The environment's entitlement layer, over every organization's plan."""
    entitlements_org: Mapping[str, EntitlementOverride] = field(default_factory=dict)
    """Organization id → its entitlement layer, over the environment's."""

    def flags_for(self, organization_id: str | None) -> Mapping[str, FlagValue]:
        """The organization's own flag overrides ({} for None or an organization without any)."""
        return self.flags_org.get(organization_id, {}) if organization_id is not None else {}

    def entitlements_for(self, organization_id: str | None) -> EntitlementOverride | None:
        """The organization's own entitlement layer (None for None or an organization without one)."""
        return self.entitlements_org.get(organization_id) if organization_id is not None else None

    @property
    def is_empty_flags(self) -> bool:
        """True when no flag is overridden, for any organization."""
        return not self.flags_env and not any(self.flags_org.values())

    @property
    def is_empty_entitlements(self) -> bool:
        """True when no entitlement is overridden, for any organization."""
        layers = [self.entitlements_env, *self.entitlements_org.values()]
        return all(layer is None or layer.is_empty for layer in layers)
