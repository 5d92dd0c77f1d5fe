"""The package's shape holds: no import cycle, private pytest API in one module, a cheap plugin import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_promotion
from pytest_promotion.core import failures

PACKAGE = Path(pytest_promotion.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every pytest_promotion module ``path`` imports, anywhere in the file (functions and TYPE_CHECKING too)."""
    found: set[str] = set()
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {name for name in found if name in modules and name != here}


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports(path) for path in PACKAGE.rglob("*.py")}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            # A package's __init__ importing its own submodules is not a cycle through the package.
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    edges = graph()
    assert len(edges) > 40  # the walk found the package
    assert cycle(edges) is None, " -> ".join(cycle(edges) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_the_service_layer_imports_no_feature() -> None:
    features = ("smoke", "policy", "overrides", "migrations", "database", "launch", "stages", "run", "plugin")
    for name, targets in graph().items():
        if name.startswith("pytest_promotion.service"):
            bad = [t for t in targets if t.split(".")[1] in features]
            assert bad == [], f"{name} imports {bad}"


def test_private_pytest_api_is_confined_to_one_module() -> None:
    users = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if any(n.startswith("_pytest") for n in names) or (module or "").startswith("_pytest"):
                users.append(module_name(path))
    assert set(users) == {"pytest_promotion.core.pytest_private"}


def test_the_private_names_we_use_exist_in_this_pytest() -> None:
    from _pytest._code.code import ReprFileLocation, TerminalRepr
    from _pytest._io import TerminalWriter
    from _pytest.mark.expression import Expression

    assert failures.TerminalRepr is TerminalRepr
    assert failures.TerminalWriter is TerminalWriter
    assert ReprFileLocation("p", 1, "m").message == "m"
    assert callable(pytest.TestReport._to_json)
    assert callable(pytest.TestReport._from_json)
    only_smoke = Expression.compile("smoke and not slow")
    assert only_smoke.evaluate(lambda name, /, **kwargs: name == "smoke")  # the matcher stages.py passes
    assert not only_smoke.evaluate(lambda name, /, **kwargs: False)


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, pytest_promotion.plugin\n"
        "heavy = [m for m in ('pydantic', 'pydantic_settings', 'httpx', 'sqlparse') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_a_subcommand_imports_only_its_own_feature() -> None:
    """A rollback during an incident must not wait for the scanner, the overrides or the sample to load."""
    code = (
        "import sys\n"
        "from pytest_promotion.cli import main\n"
        "main(['rollback', '--help'])\n"
        "other = ('pytest_promotion.cli_init', 'pytest_promotion.migrations', 'pytest_promotion.overrides.commands',"
        " 'pytest_promotion.sample.commands')\n"
        "print(','.join(m for m in other if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == ""
    assert "--no-safety-dump" in done.stdout


def test_the_command_table_names_what_each_feature_registers() -> None:
    import argparse
    import importlib

    from pytest_promotion.cli import FEATURES

    for module, commands in FEATURES.items():
        parser = argparse.ArgumentParser()
        subparsers = parser.add_subparsers()
        importlib.import_module(module).add_commands(subparsers)
        assert tuple(subparsers.choices) == commands, module
