"""The rule registry: the default rules (the seed's five and drop-cascade) and the opt-in ones, and rule selection.

Every module in this package but ``base`` is a rule and is registered here: the list of rules
is the list of modules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import cache

from pytest_promotion.core.errors import ConfigError
from pytest_promotion.migrations.rules import (
    add_required_column,
    alter_column_type,
    alter_type,
    create_index_blocking,
    delete_from,
    destructive_operation,
    drop_cascade,
    drop_column,
    drop_schema,
    drop_table,
    dynamic_sql,
    rename_column,
    rename_table,
    set_not_null,
    truncate,
)
from pytest_promotion.migrations.rules.base import Hit, Rule

__all__ = ["RULES", "Hit", "Rule", "known_names", "select_rules", "unknown_rule"]

RULES: dict[str, Rule] = {
    module.RULE.id: module.RULE
    for module in (
        drop_table,
        drop_column,
        truncate,
        alter_type,
        delete_from,
        drop_cascade,
        alter_column_type,
        rename_table,
        rename_column,
        set_not_null,
        add_required_column,
        create_index_blocking,
        drop_schema,
        dynamic_sql,
        destructive_operation,
    )
}


def unknown_rule(names: Iterable[str]) -> str | None:
    """The first entry of a rules list that names no rule, form or group; None when all do.

    Entries: ``default``, ``all``, a rule id, ``-<rule id>`` (leave it out) and
    ``-<rule id>:<form>`` (leave out one form, e.g. ``-alter-type:add-value``).
    """
    for name in names:
        rule_id, _, form = name.removeprefix("-").partition(":")
        if name in ("default", "all"):
            continue
        if rule_id not in RULES or (form and (not name.startswith("-") or form not in RULES[rule_id].forms)):
            return name
    return None


def known_names() -> list[str]:
    """Every entry a rules list may hold, for error messages."""
    forms = [f"-{rule.id}:{form}" for rule in RULES.values() for form in rule.forms]
    return ["default", "all", *RULES, *forms]


def select_rules(names: Iterable[str], source: str = "rules") -> tuple[Rule, ...]:
    """Resolve ``default``, ``all``, rule ids and ``-`` exclusions into rules, in registry order.

    ``source`` names where the list came from, for the error message. A rule with a form left
    out (``-alter-type:add-value``) comes back as a copy that skips that form's findings.
    """
    names = list(names)
    bad = unknown_rule(names)
    if bad is not None:
        raise ConfigError(f"{source}: unknown rule {bad!r}. Use any of: {', '.join(known_names())}.")
    chosen: set[str] = set()
    dropped: set[str] = set()
    off: dict[str, set[str]] = {}
    for name in names:
        if name == "all":
            chosen.update(RULES)
        elif name == "default":
            chosen.update(rule_id for rule_id, rule in RULES.items() if rule.default)
        elif name.startswith("-"):
            rule_id, _, form = name[1:].partition(":")
            if form:
                off.setdefault(rule_id, set()).add(form)
            else:
                dropped.add(rule_id)
        else:
            chosen.add(name)
    return tuple(
        _with_forms_off(rule, frozenset(off.get(rule_id, ())))
        for rule_id, rule in RULES.items()
        if rule_id in chosen and rule_id not in dropped
    )


@cache
def _with_forms_off(rule: Rule, off: frozenset[str]) -> Rule:
    """``rule`` skipping ``off`` (one shared copy per combination, so caches keyed on rules hold)."""
    return rule if not off else replace(rule, off=off)
