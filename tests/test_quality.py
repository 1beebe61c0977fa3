"""The code's own checks, run by the test command so that nothing lands without them: the linter
and its formatting, the type checker, the layers' import contract, and the dependency list
naming every third-party package the code imports."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "aggregator"
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_finds_nothing() -> None:
    done = run(str(BIN / "ruff"), "check", "aggregator", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_is_formatted() -> None:
    done = run(str(BIN / "ruff"), "format", "--check", "aggregator", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing() -> None:
    done = run(sys.executable, "-m", "mypy")  # its settings and files: pyproject.toml
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_layers_import_only_downwards() -> None:
    done = run(str(BIN / "lint-imports"))  # the contract: .importlinter
    assert done.returncode == 0, done.stdout + done.stderr


def imported_top_modules(folder: Path) -> dict[str, str]:
    """Every top-level module the package imports, with one file that imports it."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.partition(".")[0], str(path.relative_to(ROOT)))
    return found


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    for requirement in project["dependencies"]:
        name = requirement.split(";")[0]
        for mark in "<>=!~[ ":
            name = name.split(mark)[0]
        names.add(name.strip().lower().replace("_", "-"))
    return names


def test_every_third_party_import_is_a_declared_dependency() -> None:
    distributions = packages_distributions()
    declared = declared_distributions()
    undeclared = []
    for module, where in imported_top_modules(PACKAGE).items():
        if module in sys.stdlib_module_names or module == "aggregator" or module == "__future__":
            continue
        providers = {name.lower().replace("_", "-") for name in distributions.get(module, [])}
        if not providers:
            pytest.fail(f"{where} imports {module}, which no installed distribution provides")
        if not providers & declared:
            undeclared.append(f"{module} ({where}; from {', '.join(sorted(providers))})")
    assert not undeclared, "imported but not in [project] dependencies: " + "; ".join(undeclared)
