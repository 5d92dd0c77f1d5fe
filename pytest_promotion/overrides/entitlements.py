"""An organization's entitlements: its plan with the environment's and its own overrides laid over.

Layers apply least specific first (plan, environment, organization), and each kind of field
combines in the way that keeps an override from taking away what the plan sells:

- ``seat_limit``: the most specific layer that sets it wins (it may lower or raise the limit);
- ``features``: a union, so an override grants features and never removes one the plan includes;
- ``usage_caps``: key by key, the most specific layer wins; ``None`` (JSON null) means unlimited
  and is a value like any other, so an organization's cap can replace the environment's
  "unlimited" and the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_promotion.overrides.config import EntitlementOverride, Overrides
from pytest_promotion.overrides.flags import Source


@dataclass(frozen=True)
class Entitlements:
    """What an organization may use: seats, features and usage caps (None: unlimited)."""

    seat_limit: int | None
    features: tuple[str, ...]
    usage_caps: Mapping[str, int | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """``{"seat_limit": …, "features": […], "usage_caps": {…}}``, as the readiness endpoint reports it."""
        return {
            "seat_limit": self.seat_limit,
            "features": list(self.features),
            "usage_caps": dict(self.usage_caps),
        }


def overlay(base: Entitlements, *layers: EntitlementOverride | None) -> Entitlements:
    """``base`` with ``layers`` applied in order (later is more specific); None layers are skipped.

    Features keep the base's order, then each new one in layer order, without duplicates, so the
    result is the same every time the same configuration is resolved.
    """
    seat_limit = base.seat_limit
    features = dict.fromkeys(base.features)
    usage_caps = dict(base.usage_caps)
    for layer in layers:
        if layer is None:
            continue
        if layer.seat_limit is not None:
            seat_limit = layer.seat_limit
        features.update(dict.fromkeys(layer.features or ()))
        usage_caps.update(layer.usage_caps or {})
    return Entitlements(seat_limit=seat_limit, features=tuple(features), usage_caps=usage_caps)


def resolve_entitlements(
    plan: Entitlements, overrides: Overrides, organization_id: str | None
) -> Entitlements:
    """The effective entitlements: ``plan``, then the environment's overrides, then the organization's.

    Another organization's overrides never apply; None gets only the environment's.
    """
    return overlay(plan, overrides.entitlements_env, overrides.entitlements_for(organization_id))


@dataclass(frozen=True)
class Configured:
    """What the configuration itself sets for one organization, each with the layer that set it.

    This is the part of the resolved entitlements a check can predict without knowing the plan:
    the service must report these values whatever the organization's plan says.
    """

    seat_limit: tuple[int, Source] | None
    """The overriding seat limit and ``"org"`` or ``"env"``; None when no layer sets one."""
    features: dict[str, Source]
    """Each added feature and the most specific layer that adds it (in both layers: ``"org"``)."""
    usage_caps: dict[str, tuple[int | None, Source]]
    """Each overridden cap (None: unlimited) and the most specific layer that sets it."""

    @property
    def is_empty(self) -> bool:
        """True when the configuration sets no entitlement for this organization."""
        return self.seat_limit is None and not self.features and not self.usage_caps


def configured_entitlements(overrides: Overrides, organization_id: str | None) -> Configured:
    """The entitlement fields the environment's and ``organization_id``'s overrides set, by source.

    The order follows :func:`overlay`: the environment's features and caps first, then new ones
    from the organization's layer.
    """
    seat_limit: tuple[int, Source] | None = None
    features: dict[str, Source] = {}
    usage_caps: dict[str, tuple[int | None, Source]] = {}
    layers: tuple[tuple[Source, EntitlementOverride | None], ...] = (
        ("env", overrides.entitlements_env),
        ("org", overrides.entitlements_for(organization_id)),
    )
    for source, layer in layers:
        if layer is None:
            continue
        if layer.seat_limit is not None:
            seat_limit = (layer.seat_limit, source)
        for feature in layer.features or ():
            features[feature] = source
        for name, cap in (layer.usage_caps or {}).items():
            usage_caps[name] = (cap, source)
    return Configured(seat_limit=seat_limit, features=features, usage_caps=usage_caps)
