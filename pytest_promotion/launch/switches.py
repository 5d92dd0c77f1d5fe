"""Options that would let an unsafe build through, refused before the run starts.

Two ways to switch part of the gate off were found: ``-p no:<name>`` on a name the plugin used to
register its parts under (the launch gate, scrubbing), and ``--update-baseline`` smuggled in
through ``addopts`` or ``PYTEST_ADDOPTS``, which accepts every risky statement of a pull request
unreviewed. Both are usage errors. Imports nothing heavy: it runs on every pytest invocation.
"""

from __future__ import annotations

import pytest

from pytest_promotion.core.xdist import is_worker

UPDATE_BASELINE = "--update-baseline"


def blocked_parts(config: pytest.Config) -> list[str]:
    """``-p no:`` arguments naming a part of pytest-promotion (but not the whole plugin)."""
    plugins = getattr(config.known_args_namespace, "plugins", None) or []
    blocked = [str(arg)[3:] for arg in plugins if str(arg).startswith("no:")]
    return [name for name in blocked if name.startswith(("promotion-", "pytest_promotion."))]


def refuse_switches(config: pytest.Config) -> None:
    """A usage error for ``-p no:promotion-…`` and for ``--update-baseline`` not typed on the command line."""
    for name in blocked_parts(config):
        raise pytest.UsageError(
            f"-p no:{name}: pytest-promotion's parts (the launch gate, the migration gate, secret "
            "scrubbing) cannot be switched off one by one; they are one plugin. Remove the option "
            "(check addopts in your pytest configuration and PYTEST_ADDOPTS), or -p no:promotion "
            "to leave the whole plugin out of a run that gates nothing."
        )
    if not config.getoption("update_baseline") or is_worker(config):
        return  # xdist workers get the controller's options, already checked there
    if config.getoption("launch_gate"):
        raise pytest.UsageError(
            "--update-baseline cannot be used with --launch-gate: the gate decides whether a build may be "
            "promoted, and --update-baseline accepts every risky statement it finds. Accept reviewed "
            "statements in a separate run (pytest -m migrations --update-baseline), commit the baseline, "
            "then run the gate."
        )
    if UPDATE_BASELINE not in config.invocation_params.args:
        raise pytest.UsageError(
            "--update-baseline came from addopts or PYTEST_ADDOPTS, not from the command line: it accepts "
            "every risky statement into the baseline unreviewed, so it is honoured only when typed on the "
            "command line. Remove it from addopts / PYTEST_ADDOPTS and run "
            "`pytest -m migrations --update-baseline` yourself after reviewing the findings."
        )
