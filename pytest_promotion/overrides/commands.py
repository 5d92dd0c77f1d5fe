"""``pytest-promotion overrides show``: what this environment's configuration overrides, and where from.

Before a promotion, the person running it can see exactly what the checks will expect the deployed
service to report for an organization, without a service or pytest: the flags and entitlement
fields the ``*_OVERRIDES_JSON`` variables set, each with the layer (``org`` or ``env``) that wins.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.database.exit_codes import ExitCode
from pytest_promotion.overrides.config import Overrides
from pytest_promotion.overrides.entitlements import Configured, configured_entitlements
from pytest_promotion.overrides.flags import ResolvedFlag, resolve_flags
from pytest_promotion.settings import load_settings


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``overrides show`` on the ``pytest-promotion`` parser."""
    overrides = subparsers.add_parser(
        "overrides", help="feature-flag and entitlement overrides of this environment"
    )
    actions = overrides.add_subparsers(dest="overrides_command", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="print the flag and entitlement overrides configured for an organization",
        description="Resolve FEATURE_FLAG_ENV/ORG_OVERRIDES_JSON and ENTITLEMENT_ENV/ORG_OVERRIDES_JSON "
        "for one organization and print each overridden flag and entitlement field with the layer "
        "that sets it (org wins over env). Needs no service: this is what the flags and "
        "entitlements checks expect the deployed service to report.",
    )
    show.add_argument(
        "--organization",
        metavar="ORG",
        help="the organization id (default: SMOKE_ORGANIZATION_ID; without either, env overrides only)",
    )
    show.add_argument("--json", action="store_true", help="print the overrides as JSON, for scripts")
    show.set_defaults(handler=run_show)


def run_show(args: argparse.Namespace) -> int:
    """``pytest-promotion overrides show``: configuration errors exit 3 with the paragraph on stderr."""
    candidate = Path.cwd() / "pyproject.toml"
    try:
        settings = load_settings(pyproject=candidate if candidate.is_file() else None, options={})
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    organization: str | None = args.organization or settings.organization_id
    overrides = settings.overrides()
    flags = resolve_flags({}, overrides, organization)
    entitlements = configured_entitlements(overrides, organization)
    if args.json:
        sys.stdout.write(to_json(organization, flags, entitlements))
    else:
        print("\n".join(show_lines(organization, overrides, flags, entitlements)))
    return ExitCode.OK


def to_json(organization: str | None, flags: dict[str, ResolvedFlag], entitlements: Configured) -> str:
    """The ``--json`` document: sorted keys, indented, one trailing newline."""
    seat_limit = entitlements.seat_limit
    document: dict[str, Any] = {
        "organization_id": organization,
        "flags": {key: flag.to_json() for key, flag in flags.items()},
        "entitlements": {
            "seat_limit": None if seat_limit is None else {"value": seat_limit[0], "source": seat_limit[1]},
            "features": dict(entitlements.features),
            "usage_caps": {
                name: {"value": cap, "source": source}
                for name, (cap, source) in entitlements.usage_caps.items()
            },
        },
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def show_lines(
    organization: str | None, overrides: Overrides, flags: dict[str, ResolvedFlag], entitlements: Configured
) -> list[str]:
    """The plain-text report: a heading, then the flags table and the entitlements table."""
    if organization is not None:
        lines = [f"Overrides configured for organization {organization} (org wins over env):"]
    else:
        lines = [
            "No organization given (--organization or SMOKE_ORGANIZATION_ID): "
            "showing the environment's overrides only."
        ]
        with_own = sorted(
            org
            for org in {*overrides.flags_org, *overrides.entitlements_org}
            if overrides.flags_for(org) or not _layer_empty(overrides, org)
        )
        if with_own:
            lines.append(f"Organizations with their own overrides: {', '.join(with_own)}.")
    lines.append("")
    if flags:
        lines += _table(
            ("flag", "value (JSON)", "source"), [(k, _json(f.value), f.source) for k, f in flags.items()]
        )
    else:
        lines.append("no flag overrides configured")
    lines.append("")
    rows: list[tuple[str, str, str]] = []
    if entitlements.seat_limit is not None:
        rows.append(("seat_limit", _json(entitlements.seat_limit[0]), entitlements.seat_limit[1]))
    rows += [("features", _json(feature), source) for feature, source in entitlements.features.items()]
    rows += [
        (f"usage_caps.{name}", _json(cap), source) for name, (cap, source) in entitlements.usage_caps.items()
    ]
    if rows:
        lines += _table(("entitlement", "value", "source"), rows)
    else:
        lines.append("no entitlement overrides configured")
    return lines


def _layer_empty(overrides: Overrides, organization: str) -> bool:
    layer = overrides.entitlements_for(organization)
    return layer is None or layer.is_empty


def _json(value: object) -> str:
    # JSON, so the string "true" and the boolean true read differently; null caps mean unlimited.
    return "null (unlimited)" if value is None else json.dumps(value, ensure_ascii=False)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
