"""A malformed ``*_OVERRIDES_JSON`` variable stops pytest with a usage error that never shows the value."""

from __future__ import annotations

import pytest

SECRET = "customer-4711-secret"


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["no-xdist", "xdist"])
def test_malformed_org_flag_overrides_are_a_usage_error(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    monkeypatch.setenv("FEATURE_FLAG_ORG_OVERRIDES_JSON", f'{{"org_acme": {{"new_editor": {SECRET}}}}}')
    result = project.runpytest(*xdist)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: *environment variable FEATURE_FLAG_ORG_OVERRIDES_JSON is not valid JSON (line 1, column 29: *"
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert SECRET not in output


def test_a_wrong_shape_names_the_json_path(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTITLEMENT_ORG_OVERRIDES_JSON", f'{{"org_acme": {{"seat_limit": "{SECRET}"}}}}')
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: *environment variable ENTITLEMENT_ORG_OVERRIDES_JSON at org_acme.seat_limit: must be an integer ≥ 0*"
        ]
    )
    assert SECRET not in result.stdout.str() + result.stderr.str()
