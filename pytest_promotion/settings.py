"""The one place configuration is read: ``[tool.promotion]``, environment variables and options.

Precedence, highest first: command-line options > environment variables > the
``[tool.promotion]`` table of ``pyproject.toml`` > defaults. Nothing else in the package reads
``os.environ``. Bad values become one :class:`~pytest_promotion.errors.ConfigError` paragraph that
names the key, variable or option and says what to do — never a pydantic traceback.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from pytest_promotion.errors import ConfigError
from pytest_promotion.migrations.rules import RULES

TABLE = "[tool.promotion]"

# The TOML table being loaded; pydantic-settings builds sources from the class, not the call.
_table: ContextVar[Mapping[str, Any]] = ContextVar("promotion_table")


class _TableSource(PydanticBaseSettingsSource):
    """``[tool.promotion]`` as a settings source, below env and options."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return _table.get({}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_table.get({}))


class PromotionSettings(BaseSettings):
    """Everything the plugin is configured with, validated once per run."""

    model_config = SettingsConfigDict(
        env_prefix="PROMOTION_", extra="forbid", frozen=True, populate_by_name=True
    )

    migrations_dir: Path = Path("prisma/migrations")
    """The Prisma migrations folder, relative to the project root."""
    baseline: Path = Path("baselines/migration-safety-baseline.json")
    """The reviewed baseline of accepted risky statements."""
    rules: Annotated[tuple[str, ...], NoDecode] = ("default",)
    """Rule ids, ``default`` (the five seed rules) or ``all``."""
    strict_baseline: bool = False
    """Baseline entries that match nothing fail the run instead of only being listed."""
    migrations_report: Path | None = None
    """Where to write the JSON findings report."""
    github_actions: bool = Field(default=False, validation_alias=AliasChoices("GITHUB_ACTIONS"))
    """Set by GitHub Actions: findings are also printed as ``::error`` annotations."""

    @field_validator("rules", mode="before")
    @classmethod
    def _split_rules(cls, value: object) -> object:
        if isinstance(value, str):  # "default,set-not-null" from an option or env var, or a JSON list
            if value.lstrip().startswith("["):
                try:
                    return tuple(json.loads(value))
                except (ValueError, TypeError):
                    raise ValueError("is not a JSON list of rule names") from None
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = {"default", "all", *RULES}
        unknown = [name for name in value if name not in known]
        if unknown:
            raise ValueError(
                f"unknown rule {unknown[0]!r}; use any of: {', '.join(['default', 'all', *RULES])}"
            )
        if not value:
            raise ValueError("lists no rule; use default, all, or rule ids")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Options (passed to the constructor) > environment > ``[tool.promotion]``."""
        return init_settings, env_settings, _TableSource(settings_cls)


# Command-line option for each field that has one, for error messages.
OPTION_NAMES: dict[str, str] = {
    "migrations_dir": "--promotion-migrations-dir",
    "baseline": "--promotion-baseline",
    "rules": "--promotion-rules",
    "strict_baseline": "--strict-baseline",
    "migrations_report": "--migrations-report",
}


def read_table(pyproject: Path | None) -> dict[str, Any]:
    """The ``[tool.promotion]`` table of ``pyproject`` ({} when there is none)."""
    if pyproject is None or not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: is not valid TOML ({exc}). Fix the file and run again.") from None
    table = data.get("tool", {}).get("promotion", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: {TABLE} must be a table. Write it as a [tool.promotion] section.")
    return table


def source_of(field: str, options: Mapping[str, Any], pyproject: Path | None) -> str:
    """Where a field's value came from, for an error message: option, variable or key."""
    if field in options:
        return f"option {OPTION_NAMES.get(field, field)}"
    env_name = "GITHUB_ACTIONS" if field == "github_actions" else f"PROMOTION_{field.upper()}"
    if env_name in os.environ:
        return f"environment variable {env_name}"
    return f"key {field!r} of {TABLE} in {pyproject or 'pyproject.toml'}"


def load_settings(*, pyproject: Path | None, options: Mapping[str, Any]) -> PromotionSettings:
    """Validate the table, environment and options into settings, or raise one clear ConfigError.

    ``options`` holds only the options given on the command line.
    """
    table = read_table(pyproject)
    token = _table.set(table)
    try:
        return PromotionSettings(**options)
    except SettingsError as exc:  # a PROMOTION_* variable pydantic-settings could not decode
        raise ConfigError(
            f"Invalid promotion configuration: {exc}. Fix the variable and run again."
        ) from None
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            field = ".".join(str(part) for part in error["loc"])
            if error["type"] == "extra_forbidden":
                known = ", ".join(
                    sorted(name for name in PromotionSettings.model_fields if name in OPTION_NAMES)
                )
                problems.append(f"{TABLE} in {pyproject} has an unknown key {field!r} (known keys: {known})")
            else:
                where = source_of(field.split(".")[0], options, pyproject)
                problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError(
            "Invalid promotion configuration: " + "; ".join(problems) + ". Fix it and run again."
        ) from None
    finally:
        _table.reset(token)
