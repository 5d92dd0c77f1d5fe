"""Turning validated settings into paths and the migration gate's run: what the run builder needs."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.core.redact import url_secrets
from pytest_promotion.migrations.baseline import load_baseline
from pytest_promotion.migrations.cache import CACHE_KEY
from pytest_promotion.migrations.dialects import dialect_for
from pytest_promotion.migrations.gate import GateConfig, GateRun
from pytest_promotion.migrations.prisma8 import default_folder, gated_folder
from pytest_promotion.migrations.rules import select_rules
from pytest_promotion.probe import project_file as pyproject_for
from pytest_promotion.service.endpoints import secrets_of
from pytest_promotion.settings import OPTION_NAMES, PromotionSettings, source_of

_OPTION_FIELDS = {
    "promotion_migrations_dir": "migrations_dir",
    "promotion_baseline": "baseline",
    "promotion_rules": "rules",
    "strict_baseline": "strict_baseline",
    "migrations_report": "migrations_report",
    "migrations_sarif": "migrations_sarif",
    "wait_healthy": "smoke.wait_healthy",
    "promotion_concurrency": "smoke.concurrency",
    "promotion_timeout": "smoke.timeout",
    "promotion_strict_retries": "smoke.strict_retries",
    "expect_revision": "expected_revision",
}


def given_options(config: pytest.Config) -> dict[str, Any]:
    """The settings fields set on the command line (unset options are left to env and TOML)."""
    given: dict[str, Any] = {}
    for dest, field in _OPTION_FIELDS.items():
        value = config.getoption(dest)
        if value is None:
            continue
        top, _, nested = field.partition(".")
        if nested:
            given.setdefault(top, {})[nested] = value
        else:
            given[field] = value
    return given


def secret_values(settings: PromotionSettings, base_url: str | None) -> list[SecretStr | str]:
    """Every secret this run knows: tokens, passwords in URLs, whole database URLs."""
    found: list[SecretStr | str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found += [value, *url_secrets(value.get_secret_value())]
    for endpoint in settings.smoke.endpoints + settings.policy.endpoints:
        found += endpoint.secret_headers  # header values read from { env = "..." }
    found += secrets_of(settings.smoke.flags_headers)
    return found + url_secrets(base_url)


def _accept_command(options: dict[str, Any]) -> str:
    words = ["pytest", "-m", "migrations", "--update-baseline"]
    for field in ("migrations_dir", "baseline", "rules"):
        if field in options:
            words += [OPTION_NAMES[field], str(options[field])]
    return shlex.join(words)


def gate_run(config: pytest.Config, settings: PromotionSettings) -> GateRun | None:
    """The migration gate's run; None when there is nothing to gate.

    A migrations folder that was configured explicitly but does not exist is an error; the
    default ``prisma/migrations`` missing just means this project has no Prisma migrations.
    """
    options = given_options(config)
    project = (pyproject_for(config) or config.rootpath / "pyproject.toml").parent
    here = config.invocation_params.dir

    def resolve(field: str, path: Path) -> Path:
        return ((here if field in options else project) / path).resolve()

    migrations_dir = resolve("migrations_dir", settings.migrations_dir)
    if "migrations_dir" in settings.model_fields_set:  # Prisma 8's migrations/ means its app/ packages
        migrations_dir = gated_folder(migrations_dir)
    else:  # no prisma/migrations: Prisma 8's migrations/app
        migrations_dir = default_folder(project, migrations_dir)
    if not migrations_dir.is_dir():
        if "migrations_dir" in settings.model_fields_set:
            source = source_of("migrations_dir", options, pyproject_for(config))
            raise ConfigError(
                f"{source}: the migrations folder {migrations_dir} does not exist. "
                "Point it at the folder holding your Prisma migrations (prisma/migrations by default)."
            )
        return None
    baseline_path = resolve("baseline", settings.baseline)
    gate = GateConfig(
        root=config.rootpath,
        migrations_dir=migrations_dir,
        baseline_path=baseline_path,
        dialect=dialect_for(migrations_dir),
        rules=select_rules(settings.rules),
        update=bool(config.getoption("update_baseline")),
        strict=settings.strict_baseline,
        report_path=None
        if settings.migrations_report is None
        else resolve("migrations_report", settings.migrations_report),
        annotations=settings.github_actions,
        accept_command=_accept_command(options),
        require_reasons=settings.require_reasons,
        sarif_path=None
        if settings.migrations_sarif is None
        else resolve("migrations_sarif", settings.migrations_sarif),
    )
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    cached = cache.get(CACHE_KEY, {}) if cache is not None else {}
    return GateRun(
        config=gate, entries=load_baseline(baseline_path), cached=cached if isinstance(cached, dict) else {}
    )
