"""The rule list is truthful: every rule module is registered and selectable, and docs/rules.md
prints the same why/instead text the failures do."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest

import pytest_promotion.migrations.rules as rules_package
from pytest_promotion.core.errors import ConfigError
from pytest_promotion.migrations.rules import RULES, Rule, known_names, select_rules
from pytest_promotion.migrations.rules.alter_type import _ADVICE

DOC = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")


def test_every_module_in_rules_is_a_registered_rule() -> None:
    modules = {m.name for m in pkgutil.iter_modules(rules_package.__path__)} - {"base"}
    assert {name.replace("_", "-") for name in modules} == set(RULES)


@pytest.mark.parametrize("name", known_names())
def test_every_listed_name_can_be_selected(name: str) -> None:
    entries = ["default", name] if name.startswith("-") else [name]
    assert select_rules(entries)


def test_sp_rename_is_not_a_rule() -> None:
    assert "sp-rename" not in known_names()
    with pytest.raises(ConfigError, match="unknown rule 'sp-rename'"):
        select_rules(["sp-rename"])


def test_exclusions() -> None:
    ids = [rule.id for rule in select_rules(["default", "-truncate"])]
    assert "truncate" not in ids
    assert "drop-table" in ids
    (alter,) = [r for r in select_rules(["default", "-alter-type:add-value"]) if r.id == "alter-type"]
    assert alter.off == {"add-value"}
    assert alter.key != RULES["alter-type"].key  # the scan cache tells the two selections apart
    with pytest.raises(ConfigError, match="unknown rule 'alter-type:add-value'"):
        select_rules(["alter-type:add-value"])  # a form can only be left out
    with pytest.raises(ConfigError, match="unknown rule '-truncate:nope'"):
        select_rules(["-truncate:nope"])


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_docs_print_each_rules_why_and_instead(rule: Rule) -> None:
    assert f"`{rule.id}`" in DOC or f"### {rule.id}" in DOC
    assert rule.reason in DOC
    assert rule.instead in DOC


@pytest.mark.parametrize("form", list(_ADVICE))
def test_docs_print_each_alter_type_form(form: str) -> None:
    why, instead = _ADVICE[form]
    assert f"`{form}`" in DOC
    assert why in DOC
    assert instead in DOC


def test_add_value_advice_says_what_the_migration_risks() -> None:
    statement = "ALTER TYPE \"Role\" ADD VALUE 'AUDITOR'"
    why, _ = RULES["alter-type"].advice(statement)
    assert "previous release" in why
    assert "removed or renamed" not in why
    assert (
        RULES["alter-type"]
        .advice('ALTER TYPE "Role" RENAME TO "Role_old"')[0]
        .startswith("Renaming the type")
    )
