"""Which value a feature flag has for one organization, and which layer it came from.

The precedence is the one a deployed service must implement (see the README's contract):
the organization's override > the environment's override > the value stored in the database.
Reporting the source alongside the value lets a check tell "the service ignored the override"
from "the service has the same value by coincidence".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pytest_promotion.overrides.config import FlagValue, Overrides

Source = Literal["org", "env", "db"]
"""Where a resolved value came from: an organization's override, the environment's, or the store."""


@dataclass(frozen=True)
class ResolvedFlag:
    """A flag's effective value and the layer that decided it."""

    value: FlagValue
    source: Source

    def to_json(self) -> dict[str, FlagValue]:
        """``{"value": …, "source": …}``, as the resolved-flags endpoint reports it."""
        return {"value": self.value, "source": self.source}


def resolve_flags(
    db: Mapping[str, FlagValue], overrides: Overrides, organization_id: str | None
) -> dict[str, ResolvedFlag]:
    """Every flag known to the database or the overrides, resolved for one organization, by key.

    Only ``organization_id``'s own overrides apply; None (or an organization without overrides)
    gets the environment's overrides over the database. ``resolve_flags({}, overrides, org)`` is
    therefore exactly what the configuration overrides for that organization — what a check
    expects the service to report with source ``env`` or ``org``.
    """
    layers: tuple[tuple[Source, Mapping[str, FlagValue]], ...] = (
        ("db", db),
        ("env", overrides.flags_env),
        ("org", overrides.flags_for(organization_id)),
    )
    resolved: dict[str, ResolvedFlag] = {}
    for source, values in layers:  # least specific first, so a later layer replaces an earlier one
        for key, value in values.items():
            resolved[key] = ResolvedFlag(value=value, source=source)
    return dict(sorted(resolved.items()))
