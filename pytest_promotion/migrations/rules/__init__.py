"""The rule registry: the seed's five default rules and the opt-in ones, and rule selection."""

from __future__ import annotations

from collections.abc import Iterable

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.migrations.rules import (
    add_required_column,
    alter_column_type,
    alter_type,
    create_index_blocking,
    delete_from,
    destructive_operation,
    drop_column,
    drop_schema,
    drop_table,
    rename_column,
    rename_table,
    set_not_null,
    truncate,
)
from pytest_promotion.migrations.rules.base import Hit, Rule

__all__ = ["RULES", "Hit", "Rule", "select_rules"]

RULES: dict[str, Rule] = {
    module.RULE.id: module.RULE
    for module in (
        drop_table,
        drop_column,
        truncate,
        alter_type,
        delete_from,
        alter_column_type,
        rename_table,
        rename_column,
        set_not_null,
        add_required_column,
        create_index_blocking,
        drop_schema,
        destructive_operation,
    )
}


def select_rules(names: Iterable[str], source: str = "rules") -> tuple[Rule, ...]:
    """Resolve ``default``, ``all`` and rule ids into rules, in registry order.

    ``source`` names where the list came from, for the error message.
    """
    chosen: set[str] = set()
    for name in names:
        if name == "all":
            chosen.update(RULES)
        elif name == "default":
            chosen.update(rule_id for rule_id, rule in RULES.items() if rule.default)
        elif name in RULES:
            chosen.add(name)
        else:
            known = ", ".join(["default", "all", *RULES])
            raise ConfigError(f"{source}: unknown rule {name!r}. Use any of: {known}.")
    return tuple(rule for rule_id, rule in RULES.items() if rule_id in chosen)
