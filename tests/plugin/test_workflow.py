"""The CI/CD workflow runs pytest only with options and marks that pytest and this plugin define.

The options are checked by pytest's own parser, with this plugin and its dependencies loaded
(pytest-base-url, pytest-xdist), so ``--opt=value``, ``--opt value`` and each option's type
and choices are judged exactly as a real run would judge them. The marks are the registered
ones: ``--strict-markers`` guards marks on tests, but nothing guards the names in ``-m``.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = {
    "repository": ROOT / ".github" / "workflows" / "ci-cd.yml",
    "copyable": ROOT / "docs" / "workflow.yml",  # the one users copy into their project
}
JOBS = ("tests", "migration_safety", "perf_budget", "deploy")

# ``${{ … }}`` is expanded by GitHub before the shell runs. "1" stands in for it because it is a
# valid value for string, integer and float options alike.
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
PLACEHOLDER = "1"
SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")"}
KEYWORDS = {"and", "or", "not", "True", "False", "None"}


@dataclass(frozen=True)
class Invocation:
    """One pytest command found in a workflow step."""

    where: str
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: pytest {shlex.join(self.args)}"


class ParserCapture:
    """A plugin that keeps pytest's option parser, which every other plugin adds its options to."""

    parser: pytest.Parser | None = None

    def pytest_addoption(self, parser: pytest.Parser) -> None:
        """Keep the parser (the hook is historic: later plugins still add to the same one)."""
        self.parser = parser


@dataclass(frozen=True)
class Known:
    """What pytest accepts in this environment: its option parser and the registered marks."""

    parser: pytest.Parser
    markers: frozenset[str]


def known(pytester: pytest.Pytester) -> Known:
    """The options and marks of a real, configured pytest with this plugin loaded."""
    capture = ParserCapture()
    pytester.plugins.append(capture)
    config = pytester.parseconfigure()
    assert capture.parser is not None
    lines = config.getini("markers")
    markers = frozenset(m.group(0) for line in lines if (m := re.match(r"\w+", line)))
    assert {"migrations", "smoke", "perf_budget", "admin_policy", "skip"} <= markers
    return Known(capture.parser, markers)


def commands(script: str) -> Iterator[list[str]]:
    """The simple commands of a ``run:`` script, each as words, environment assignments dropped."""
    script = EXPRESSION.sub(PLACEHOLDER, script).replace("\\\n", " ")
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token in SEPARATORS or set(token) <= set("();<>|&"):
                while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
                    words.pop(0)
                if words:
                    yield words
                words = []
            else:
                words.append(token)


def pytest_args(words: list[str]) -> list[str] | None:
    """The arguments of a pytest command (``pytest …``, ``.venv/bin/pytest …``, ``python -m pytest …``)."""
    program = words[0].rsplit("/", 1)[-1]
    if program in {"pytest", "py.test"}:
        return words[1:]
    if re.fullmatch(r"python(\d(\.\d+)?)?", program) and words[1:3] == ["-m", "pytest"]:
        return words[3:]
    return None


def invocations(workflow: Mapping[str, Any]) -> list[Invocation]:
    """Every pytest command in every step of every job."""
    found = []
    for job_id, job in workflow.get("jobs", {}).items():
        for number, step in enumerate(job.get("steps", []), start=1):
            for words in commands(str(step.get("run", ""))):
                args = pytest_args(words)
                if args is not None:
                    found.append(Invocation(f"{job_id} step {step.get('name', number)!r}", tuple(args)))
    return found


def mark_names(expression: str) -> set[str]:
    """The mark names in a ``-m`` expression (keyword arguments and their values left out)."""
    without_strings = re.sub(r"\"[^\"]*\"|'[^']*'", " ", expression)
    words = re.findall(r"[A-Za-z_]\w*(?!\s*=)(?=\W|$)", without_strings)
    return {word for word in words if word not in KEYWORDS}


def problems(workflow: Mapping[str, Any], known: Known) -> list[str]:
    """What is wrong with the workflow's pytest commands, one line each; empty when nothing is."""
    found = []
    for invocation in invocations(workflow):
        try:
            namespace, unknown = known.parser.parse_known_and_unknown_args(invocation.args)
        except pytest.UsageError as exc:  # a known option with a bad value; keep argparse's one line
            error = next((line for line in str(exc).splitlines() if "error:" in line), str(exc))
            found.append(f"{invocation}: {error.split('error:', 1)[-1].strip()}")
            continue
        found += [
            f"{invocation}: unknown option {arg.split('=')[0]}" for arg in unknown if arg.startswith("-")
        ]
        for name in sorted(mark_names(namespace.markexpr or "") - known.markers):
            found.append(f"{invocation}: -m names {name!r}, which is not a registered marker")
    return found


@pytest.fixture(scope="module", params=sorted(WORKFLOWS))
def workflow(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The repository's workflow and the copyable one, as data."""
    data = yaml.safe_load(WORKFLOWS[request.param].read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def step_running(workflow: Mapping[str, Any], job: str, needle: str) -> dict[str, Any]:
    """The one step of ``job`` whose script contains ``needle``."""
    steps = [s for s in workflow["jobs"][job]["steps"] if needle in str(s.get("run", ""))]
    assert len(steps) == 1, f"{job}: expected one step running {needle!r}, found {len(steps)}"
    return steps[0]


def test_every_pytest_command_uses_only_known_options_and_marks(
    pytester: pytest.Pytester, workflow: dict[str, Any]
) -> None:
    found = invocations(workflow)
    assert {invocation.where.split()[0] for invocation in found} == set(JOBS)
    assert problems(workflow, known(pytester)) == []


def test_the_four_jobs_exist_and_deploy_waits_for_the_others_on_main(workflow: dict[str, Any]) -> None:
    assert set(JOBS) <= set(workflow["jobs"])
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    deploy = workflow["jobs"]["deploy"]
    assert set(deploy["needs"]) == {"tests", "migration_safety", "perf_budget"}
    assert "refs/heads/main" in deploy["if"]


def test_migration_safety_runs_the_gate_with_junit(workflow: dict[str, Any]) -> None:
    (invocation,) = [i for i in invocations(workflow) if i.where.startswith("migration_safety ")]
    args = list(invocation.args)
    assert args[args.index("-m") + 1] == "migrations"
    assert "--launch-gate" in args  # an unknown option, so a failure, when addopts switches the plugin off
    assert any(arg.startswith("--junitxml=") for arg in args)


def test_deploy_smoke_takes_its_url_and_tokens_from_secrets(workflow: dict[str, Any]) -> None:
    step = step_running(workflow, "deploy", "--launch-gate")
    env = step["env"]
    assert env["SMOKE_BASE_URL"] == "${{ secrets.SMOKE_BASE_URL }}"
    assert env["LAUNCH_ADMIN_BEARER_TOKEN"].startswith("${{ secrets.")
    assert env["LAUNCH_POST_DEPLOY_SMOKE"] == "true"
    assert "--wait-healthy" in step["run"]
    # No secret is spelled out anywhere else in the deploy job.
    others = [s for s in workflow["jobs"]["deploy"]["steps"] if s is not step]
    assert "secrets." not in yaml.safe_dump(others)


def test_every_job_uploads_and_publishes_its_junit(workflow: dict[str, Any]) -> None:
    assert "write" in workflow["permissions"]["checks"]
    for job_id in JOBS:
        steps = workflow["jobs"][job_id]["steps"]
        folder = next(
            (s.get("working-directory", ".") for s in steps if "pytest" in str(s.get("run", ""))), "."
        )
        junit = {
            posixpath.normpath(posixpath.join(folder, arg.split("=", 1)[1]))
            for i in invocations({"jobs": {job_id: workflow["jobs"][job_id]}})
            for arg in i.args
            if arg.startswith("--junitxml=")
        }
        assert len(junit) == 1, job_id
        upload = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@v")]
        publish = [s for s in steps if "publish-unit-test-result-action@v" in str(s.get("uses", ""))]
        for found in (upload, publish):
            assert len(found) == 1, job_id
            assert found[0]["if"] == "always()"
        assert upload[0]["with"]["path"] in junit
        assert publish[0]["with"]["files"] in junit


def test_the_checker_reports_an_unknown_option_and_an_unknown_mark(pytester: pytest.Pytester) -> None:
    workflow = yaml.safe_load(
        """
jobs:
  broken:
    steps:
      - name: fine
        run: |
          cd app && PYTEST_ADDOPTS=-q .venv/bin/pytest -m "smoke and not migrations" \\
            --junitxml reports/x.xml --wait-healthy=${{ vars.WAIT }} -n 2 -p no:randomly
          echo pytest --not-a-pytest-command
      - name: gate
        run: python -m pytest --no-such-option -m "migrations or nosuchmark(level=2)" --launch-gate
      - name: typed
        run: pytest --wait-healthy soon
"""
    )
    assert [str(i) for i in invocations(workflow)][:2] == [
        "broken step 'fine': pytest -m 'smoke and not migrations' --junitxml reports/x.xml "
        "--wait-healthy=1 -n 2 -p no:randomly",
        "broken step 'gate': pytest --no-such-option -m 'migrations or nosuchmark(level=2)' --launch-gate",
    ]
    found = problems(workflow, known(pytester))
    assert found[:2] == [
        "broken step 'gate': pytest --no-such-option -m 'migrations or nosuchmark(level=2)' --launch-gate: "
        "unknown option --no-such-option",
        "broken step 'gate': pytest --no-such-option -m 'migrations or nosuchmark(level=2)' --launch-gate: "
        "-m names 'nosuchmark', which is not a registered marker",
    ]
    assert found[2] == (
        "broken step 'typed': pytest --wait-healthy soon: argument --wait-healthy: invalid float value: 'soon'"
    )
    assert len(found) == 3
