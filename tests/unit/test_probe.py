"""The cheap look before the settings load: which runs have work for the plugin."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pytest_promotion.probe import SECRET_VARIABLES
from pytest_promotion.settings import PromotionSettings, env_name
from pytest_promotion.stash import RUN_KEY


def test_every_secret_the_settings_hold_makes_a_run_scrub() -> None:
    secret_fields = {
        env_name(name)
        for name, info in PromotionSettings.model_fields.items()
        if info.annotation == SecretStr | None
    }
    assert secret_fields <= set(SECRET_VARIABLES)
    assert {"SMOKE_BASE_URL", "PYTEST_BASE_URL"} <= set(SECRET_VARIABLES)  # URLs may carry a password


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_an_unrelated_project_builds_no_run(pytester: pytest.Pytester, clean: None) -> None:
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    assert RUN_KEY not in pytester.parseconfigure().stash


@pytest.mark.parametrize(
    ("args", "work"),
    [
        ([], True),
        (["tests/unit"], False),
        (["."], True),
        (["prisma/migrations"], True),
        (["pyproject.toml"], True),
    ],
)
def test_a_configured_project_builds_a_run_only_when_a_check_can_be_reached(
    pytester: pytest.Pytester, clean: None, args: list[str], work: bool
) -> None:
    pytester.makefile(".toml", pyproject='[tool.promotion]\nmigrations_dir = "prisma/migrations"\n')
    (pytester.path / "prisma" / "migrations").mkdir(parents=True)
    (pytester.path / "tests" / "unit").mkdir(parents=True)
    assert (RUN_KEY in pytester.parseconfigure(*args).stash) is work


@pytest.mark.parametrize("args", [["-m", "migrations"], ["--launch-gate"], ["--promotion-rules", "all"]])
def test_our_marks_and_options_always_build_a_run(
    pytester: pytest.Pytester, clean: None, args: list[str]
) -> None:
    pytester.makefile(".toml", pyproject="[tool.promotion]\n")
    (pytester.path / "tests").mkdir()
    assert RUN_KEY in pytester.parseconfigure("tests", *args).stash


def test_a_secret_in_the_environment_builds_a_run_that_scrubs(
    pytester: pytest.Pytester, clean: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCH_MEMBER_BEARER_TOKEN", "probe-secret-41c2")
    assert RUN_KEY in pytester.parseconfigure().stash
