"""What having pytest-promotion installed costs a pytest run that does not use it. Asserts nothing.

Two ratios, each the median CPU time (user + system of the pytest process) of N runs with the
plugin over the same command with ``-p no:promotion`` (the plugin blocked):

  unrelated project    20 test files, no ``[tool.promotion]``, no migrations folder:
                       ``pytest --collect-only -q``. Target: within 1.05x.
  configured project   ``[tool.promotion]`` with 40 migrations and smoke entries, running only
                       ``pytest tests/unit`` (20 tests), which reaches no generated check.
                       Target: within 1.10x.

CPU time is used because it is what the plugin adds and is disturbed less than wall time by other
work on the machine. Environment variables that hold secrets are cleared for the runs: a secret in
the environment makes every run load the settings to scrub it, on purpose.

Usage: .venv/bin/python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
from argparse import ArgumentParser
from pathlib import Path

from pytest_promotion.probe import SECRET_VARIABLES

UNIT_TEST = "def test_{n}():\n    assert {n} + 1 > {n}\n"


def unrelated(root: Path) -> Path:
    project = root / "unrelated"
    (project / "tests").mkdir(parents=True)
    for n in range(20):
        (project / "tests" / f"test_{n}.py").write_text(UNIT_TEST.format(n=n))
    return project


def configured(root: Path) -> Path:
    project = root / "configured"
    (project / "tests" / "unit").mkdir(parents=True)
    for n in range(20):
        (project / "tests" / "unit" / f"test_{n}.py").write_text(UNIT_TEST.format(n=n))
    (project / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n\n'
        '[tool.promotion]\nmigrations_dir = "prisma/migrations"\n\n'
        '[tool.promotion.smoke]\nendpoints = ["/api/health", "/api/home"]\n'
    )
    for n in range(40):
        folder = project / "prisma" / "migrations" / f"2024010100{n:04d}_step"
        folder.mkdir(parents=True)
        (folder / "migration.sql").write_text(f'CREATE TABLE "T{n}" ("id" INTEGER PRIMARY KEY);\n')
    return project


def cpu_seconds(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def ratio(project: Path, args: list[str], runs: int, env: dict[str, str]) -> tuple[float, float, float]:
    """(with the plugin, without it, ratio): medians of ``runs`` CPU times, runs interleaved."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    cpu_seconds(command, project, env)  # warm the file system and bytecode caches
    with_plugin, without = [], []
    for _ in range(runs):
        with_plugin.append(cpu_seconds(command, project, env))
        without.append(cpu_seconds([*command, "-p", "no:promotion"], project, env))
    a, b = statistics.median(with_plugin), statistics.median(without)
    return a, b, a / b


def main() -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES and k != "PYTEST_ADDOPTS"}
    with tempfile.TemporaryDirectory(prefix="promotion-startup-") as tmp:
        root = Path(tmp)
        cases = [
            ("unrelated project, pytest --collect-only -q", unrelated(root), ["--collect-only", "-q"], 1.05),
            ("configured project, pytest tests/unit", configured(root), ["-q", "tests/unit"], 1.10),
        ]
        print(
            f"| case | with plugin (CPU s) | -p no:promotion (CPU s) | ratio | target |  (median of {runs})"
        )
        print("|---|--:|--:|--:|--:|")
        for title, project, args, target in cases:
            a, b, r = ratio(project, args, runs, env)
            print(f"| {title} | {a:.3f} | {b:.3f} | {r:.3f}x | {target:.2f}x |")


if __name__ == "__main__":
    main()
