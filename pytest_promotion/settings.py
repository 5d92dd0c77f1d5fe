"""The one place configuration is read: ``[tool.promotion]``, environment variables and options.

Precedence, highest first: command-line options > environment variables > the
``[tool.promotion]`` table of ``pyproject.toml`` > defaults. Nothing else in the package reads
``os.environ``. Bad values become one :class:`~pytest_promotion.core.errors.ConfigError` paragraph that
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

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.overrides.config import (
    OVERRIDE_FIELDS,
    EntitlementOverride,
    FlagValue,
    Overrides,
    decode_json_env,
    describe_error,
    json_path,
)
from pytest_promotion.service.endpoints import ENVIRONMENT, PolicyConfig, SmokeConfig

TABLE = "[tool.promotion]"

# The TOML table being loaded; pydantic-settings builds sources from the class, not the call.
_table: ContextVar[Mapping[str, Any]] = ContextVar("promotion_table")


class _TableSource(PydanticBaseSettingsSource):
    """``[tool.promotion]`` as a settings source, below env and options."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return _table.get({}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        # A key whose variable is also set (organization_id and SMOKE_ORGANIZATION_ID) yields to it,
        # as every table key yields to its variable; kept, it would reach the model as an extra key.
        return {key: value for key, value in _table.get({}).items() if not _alias_is_set(key)}


def _alias_is_set(field: str) -> bool:
    info = PromotionSettings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    return isinstance(alias, AliasChoices) and any(str(name) in os.environ for name in alias.choices)


class PromotionSettings(BaseSettings):
    """Everything the plugin is configured with, validated once per run."""

    model_config = SettingsConfigDict(
        env_prefix="PROMOTION_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    migrations_dir: Path = Path("prisma/migrations")
    """The Prisma migrations folder, relative to the project root."""
    baseline: Path = Path("baselines/migration-safety-baseline.json")
    """The reviewed baseline of accepted risky statements."""
    rules: Annotated[tuple[str, ...], NoDecode] = ("default",)
    """Rule ids, ``default`` (the five seed rules) or ``all``."""
    strict_baseline: bool = False
    """Baseline entries that match nothing fail the run instead of only being listed."""
    require_reasons: bool = False
    """Baseline entries with an empty ``reason`` fail the run (outside ``--update-baseline``)."""
    migrations_report: Path | None = None
    """Where to write the JSON findings report."""
    migrations_sarif: Path | None = None
    """Where to write the findings as SARIF 2.1.0 (GitHub code scanning)."""
    github_actions: bool = Field(default=False, validation_alias=AliasChoices("GITHUB_ACTIONS"))
    """Set by GitHub Actions: findings are also printed as ``::error`` annotations."""
    github_step_summary: Path | None = Field(
        default=None, validation_alias=AliasChoices("GITHUB_STEP_SUMMARY")
    )
    """Set by GitHub Actions: the file the run appends its Markdown summary to."""

    @field_validator("github_step_summary", mode="before")
    @classmethod
    def _blank_path_is_unset(cls, value: object) -> object:
        # An empty variable would otherwise become Path("."), the current folder.
        return None if isinstance(value, str) and not value.strip() else value

    smoke: SmokeConfig = SmokeConfig()
    """``[tool.promotion.smoke]``: endpoints, timeouts, retries, concurrency, budgets."""
    policy: PolicyConfig = PolicyConfig()
    """``[tool.promotion.policy]``: admin-only and member endpoints, and the deny statuses."""
    smoke_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SMOKE_BASE_URL"), repr=False
    )
    """The seed's name for the deployed app's URL, below ``--base-url`` and ``PYTEST_BASE_URL``."""
    organization_id: str | None = Field(default=None, validation_alias=AliasChoices("SMOKE_ORGANIZATION_ID"))
    expected_revision: str | None = Field(
        default=None, validation_alias=AliasChoices("SMOKE_EXPECTED_REVISION")
    )
    """The revision the deployed service must report before the checks run (``--expect-revision``)."""
    """The organization the ``{organization_id}`` endpoints are checked for."""
    admin_bearer_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LAUNCH_ADMIN_BEARER_TOKEN")
    )
    """An admin's bearer token, sent as ``Authorization: Bearer …``; wins over the session token."""
    admin_session_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LAUNCH_ADMIN_SESSION_TOKEN")
    )
    """An admin's session token, sent in the ``session_cookie`` cookie."""
    member_bearer_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LAUNCH_MEMBER_BEARER_TOKEN")
    )
    """A member's (non-admin's) bearer token; wins over the session token."""
    member_session_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LAUNCH_MEMBER_SESSION_TOKEN")
    )
    """A member's session token."""
    session_cookie: str = "session_token"
    launch_post_deploy_smoke: bool = Field(
        default=False, validation_alias=AliasChoices("LAUNCH_POST_DEPLOY_SMOKE")
    )
    """``--launch-gate`` requires the smoke stage."""
    launch_validate_admin_controls: bool = Field(
        default=False, validation_alias=AliasChoices("LAUNCH_VALIDATE_ADMIN_CONTROLS")
    )
    """``--launch-gate`` requires the access-policy stage."""

    @field_validator("launch_post_deploy_smoke", "launch_validate_admin_controls", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in {"true", "1", "yes"}:
                return True
            if word in {"false", "0", "no", ""}:
                return False
            raise ValueError("must be true/false, 1/0 or yes/no")
        return value

    """The cookie a session token travels in."""

    database_url: SecretStr | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    """The PostgreSQL database that backup, rollback, status and the restore drill work on."""
    backups_dir: Path = Path("backups")
    """Where ``pytest-promotion backup`` writes and ``rollback`` looks for ``*.sql.gz`` backups."""

    # Per-environment overrides, JSON in one variable each. NoDecode: pydantic-settings' own JSON
    # decoding would put the raw value into its SettingsError; _decode_overrides names only the path.
    feature_flag_env_overrides: Annotated[dict[str, FlagValue], NoDecode] = Field(
        default_factory=dict, validation_alias=AliasChoices("FEATURE_FLAG_ENV_OVERRIDES_JSON")
    )
    """Flag key → value for every organization in this environment; wins over the database."""
    feature_flag_org_overrides: Annotated[dict[str, dict[str, FlagValue]], NoDecode] = Field(
        default_factory=dict, validation_alias=AliasChoices("FEATURE_FLAG_ORG_OVERRIDES_JSON")
    )
    """Organization id → flag key → value; wins over the environment's overrides."""
    entitlement_env_overrides: Annotated[EntitlementOverride | None, NoDecode] = Field(
        default=None, validation_alias=AliasChoices("ENTITLEMENT_ENV_OVERRIDES_JSON")
    )
    """Seat limit, extra features and usage caps over every organization's plan."""
    entitlement_org_overrides: Annotated[dict[str, EntitlementOverride], NoDecode] = Field(
        default_factory=dict, validation_alias=AliasChoices("ENTITLEMENT_ORG_OVERRIDES_JSON")
    )
    """Organization id → its entitlement overrides, over the environment's."""

    def overrides(self) -> Overrides:
        """The overrides these settings hold, as the resolution functions take them."""
        return Overrides(
            flags_env=dict(self.feature_flag_env_overrides),
            flags_org={org: dict(flags) for org, flags in self.feature_flag_org_overrides.items()},
            entitlements_env=self.entitlement_env_overrides,
            entitlements_org=dict(self.entitlement_org_overrides),
        )

    @field_validator(*OVERRIDE_FIELDS, mode="before")
    @classmethod
    def _decode_overrides(cls, value: object, info: ValidationInfo) -> object:
        assert info.field_name is not None
        return decode_json_env(value, info.field_name)

    @field_validator(
        "smoke_base_url",
        "organization_id",
        "expected_revision",
        "admin_bearer_token",
        "admin_session_token",
        "member_bearer_token",
        "member_session_token",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # CI systems expand an undefined secret to an empty string: that means "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "admin_bearer_token", "admin_session_token", "member_bearer_token", "member_session_token"
    )
    @classmethod
    def _header_safe(cls, value: SecretStr | None) -> SecretStr | None:
        # A token travels in a header: whitespace, control characters or non-ASCII would either
        # break the request (with the header, token included, quoted in the error) or be sent mangled.
        # The message names the problem, never the value.
        if value is None:
            return None
        secret = value.get_secret_value()
        if secret != secret.strip():
            raise ValueError(
                "has leading or trailing whitespace (often a newline pasted into a CI secret); remove it"
            )
        if not secret.isascii() or not secret.isprintable() or any(ch.isspace() for ch in secret):
            raise ValueError(
                "holds a space, a control character or a non-ASCII character, which an HTTP header "
                "cannot carry; check the secret's value"
            )
        return value

    @field_validator("smoke_base_url", mode="after")
    @classmethod
    def _url_trimmed(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

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
        # Imported here: the rule registry loads every rule and the SQL lexer, which the database
        # commands (an incident's rollback above all) never need unless rules are configured.
        from pytest_promotion.migrations.rules import known_names, unknown_rule

        unknown = unknown_rule(value)
        if unknown is not None:
            raise ValueError(f"unknown rule {unknown!r}; use any of: {', '.join(known_names())}")
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


# Keys [tool.promotion] may hold: secrets and CI-provided values come from the environment only.
TABLE_KEYS = tuple(
    sorted(
        name
        for name, info in PromotionSettings.model_fields.items()
        if info.annotation != SecretStr | None
        and name not in {"github_actions", "github_step_summary", *OVERRIDE_FIELDS}
    )
)

# Command-line option for each field that has one, for error messages.
OPTION_NAMES: dict[str, str] = {
    "migrations_dir": "--promotion-migrations-dir",
    "baseline": "--promotion-baseline",
    "rules": "--promotion-rules",
    "strict_baseline": "--strict-baseline",
    "migrations_report": "--migrations-report",
    "migrations_sarif": "--migrations-sarif",
    "smoke.concurrency": "--promotion-concurrency",
    "smoke.wait_healthy": "--wait-healthy",
    "smoke.timeout": "--promotion-timeout",
    "smoke.strict_retries": "--promotion-strict-retries",
    "expected_revision": "--expect-revision",
    "backups_dir": "--backups-dir",
}


def read_table(pyproject: Path | None) -> dict[str, Any]:
    """The ``[tool.promotion]`` table of ``pyproject`` ({} when there is none)."""
    if pyproject is None or not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: is not valid TOML ({exc}). Fix the file and run again.") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{pyproject}: [tool] must be a table. Write it as [tool.*] sections.")
    table = tool.get("promotion", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: {TABLE} must be a table. Write it as a [tool.promotion] section.")
    return table


def env_name(field: str) -> str:
    """The environment variable a field reads: its alias (``SMOKE_BASE_URL``) or ``PROMOTION_<FIELD>``."""
    info = PromotionSettings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"PROMOTION_{field.upper()}"


def _field_named(name: str) -> str:
    """The field an error location names, by field name or by its variable (``SMOKE_BASE_URL``)."""
    if name in PromotionSettings.model_fields:
        return name
    return next((field for field in PromotionSettings.model_fields if env_name(field) == name), name)


def _dotted(loc: tuple[str | int, ...]) -> str:
    """``("endpoints", 3, "expect")`` as ``endpoints[3].expect``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def source_of(field: str | tuple[str | int, ...], options: Mapping[str, Any], pyproject: Path | None) -> str:
    """Where a value came from, for an error message: option, variable or key.

    ``field`` is a field name, a dotted name (``smoke.concurrency``), or pydantic's error location.
    """
    loc = tuple(field.split(".")) if isinstance(field, str) else field
    top, rest = _field_named(str(loc[0])), loc[1:]
    given = options.get(top)
    if top in options and not isinstance(given, Mapping):
        return f"option {OPTION_NAMES.get(top, top)}"
    if isinstance(given, Mapping) and rest and rest[0] in given:
        name = f"{top}.{rest[0]}"
        return f"option {OPTION_NAMES.get(name, name)}"
    variable = env_name(top)
    if top in OVERRIDE_FIELDS:  # one JSON value: the rest of the location is a path inside it
        return f"environment variable {variable} at {json_path(rest)}"
    if rest and f"{variable}__{str(rest[0]).upper()}" in os.environ:
        inside = f" at {_dotted(rest[1:])}" if rest[1:] else ""
        return f"environment variable {variable}__{str(rest[0]).upper()}{inside}"
    if variable in os.environ:
        return f"environment variable {variable}" + (f" ({_dotted(rest)})" if rest else "")
    where = pyproject or "pyproject.toml"
    if rest:
        return f"[tool.promotion.{top}] {_dotted(rest)} in {where}"
    return f"key {top!r} of {TABLE} in {where}"


def _nested_variable(loc: tuple[str | int, ...]) -> str | None:
    """``PROMOTION_SMOKE__RETRY`` when that variable is what put the unknown key at ``loc``."""
    if not loc or not all(isinstance(part, str) for part in loc):
        return None
    name = "__".join([env_name(_field_named(str(loc[0]))), *(str(part).upper() for part in loc[1:])])
    return name if name in os.environ else None


def _known_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys a nested table at ``loc`` accepts (``smoke``, ``policy``, an endpoint entry)."""
    from pytest_promotion.service.endpoints import Endpoint

    model: Any = PromotionSettings
    for part in loc:
        if isinstance(part, int):
            model = Endpoint if model is not None else None
            continue
        info = getattr(model, "model_fields", {}).get(
            _field_named(str(part)) if model is PromotionSettings else part
        )
        annotation = getattr(info, "annotation", None)
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if info is not None and model is None and "Endpoint" in str(annotation):
            model = Endpoint
    if model is None:
        return []
    return [(f.alias or name) for name, f in model.model_fields.items()]


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """``PROMOTION_*`` variables that name no setting (a typo would otherwise be ignored)."""
    known = {env_name(name) for name in PromotionSettings.model_fields}
    found = []
    for name in sorted(environ):
        if not name.startswith("PROMOTION_"):
            continue
        top = name.split("__", 1)[0]
        if top not in known:
            found.append(name)
    return found


def load_settings(*, pyproject: Path | None, options: Mapping[str, Any]) -> PromotionSettings:
    """Validate the table, environment and options into settings, or raise one clear ConfigError.

    ``options`` holds only the options given on the command line.
    """
    table = read_table(pyproject)
    secrets = [key for key in table if key in PromotionSettings.model_fields and key not in TABLE_KEYS]
    if secrets:
        raise ConfigError(
            f"{TABLE} in {pyproject} sets {secrets[0]!r}, which is read from the environment only: "
            f"remove it from the file and set {env_name(secrets[0])} instead (set per environment, e.g. as a CI secret, never in a committed file)."
        )
    typos = unknown_variables(os.environ)
    if typos:
        known = ", ".join(
            sorted(
                env_name(name)
                for name in PromotionSettings.model_fields
                if env_name(name).startswith("PROMOTION_")
            )
        )
        raise ConfigError(
            f"environment variable {typos[0]} is not a pytest-promotion setting (known: {known}; nested "
            "keys as PROMOTION_SMOKE__<KEY>). Fix the name or unset it: a misspelt setting would "
            "otherwise be ignored."
        )
    token = _table.set(table)
    environment = ENVIRONMENT.set(dict(os.environ))  # secret header references are read from it
    try:
        return PromotionSettings(**options)
    except SettingsError as exc:  # a PROMOTION_* variable pydantic-settings could not decode
        raise ConfigError(
            f"Invalid promotion configuration: {exc}. Fix the variable and run again."
        ) from None
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            loc = tuple(error["loc"])
            if _field_named(str(loc[0])) in OVERRIDE_FIELDS:
                field = _field_named(str(loc[0]))
                problems.append(describe_error(env_name(field), field, loc[1:], error))
            elif error["type"] == "extra_forbidden" and len(loc) == 1:
                problems.append(
                    f"{TABLE} in {pyproject} has an unknown key {loc[0]!r} (known keys: {', '.join(TABLE_KEYS)})"
                )
            elif error["type"] == "extra_forbidden" and (variable := _nested_variable(loc)) is not None:
                known = ", ".join(
                    f"{variable.rsplit('__', 1)[0]}__{k.upper()}" for k in _known_keys(loc[:-1])
                )
                problems.append(f"environment variable {variable} is not a setting (known: {known})")
            elif error["type"] == "extra_forbidden":
                known = ", ".join(_known_keys(loc[:-1]))
                problems.append(
                    f"{source_of(loc[:-1], options, pyproject)} has an unknown key {loc[-1]!r}"
                    + (f" (known keys: {known})" if known else "")
                )
            else:
                where = source_of(loc, options, pyproject)
                problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError(
            "Invalid promotion configuration: "
            + "; ".join(dict.fromkeys(problems))
            + ". Fix it and run again."
        ) from None
    finally:
        _table.reset(token)
        ENVIRONMENT.reset(environment)
