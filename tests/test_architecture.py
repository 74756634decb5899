"""Contexts talk to each other only through their public names (STYLE.md 2)."""

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "taihu"
ASSEMBLIES = {"web", "cli", "demo", "migrations"}
KERNEL = {"core"}
CONTEXTS = sorted(
    p.name
    for p in SRC.iterdir()
    if (p / "__init__.py").exists() and p.name not in ASSEMBLIES | KERNEL
)
# The recurring module names an assembly may mount directly (routers, command groups).
MOUNTABLE = {"api", "cli"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def _violations(owner: str, path: Path) -> list[str]:
    problems = []
    for line, name in _imports(path):
        parts = name.split(".")
        if parts[0] != "taihu" or len(parts) < 3 or parts[1] not in CONTEXTS or parts[1] == owner:
            continue
        module = importlib.util.find_spec(".".join(parts[:3])) if len(parts) >= 3 else None
        if module is None:  # `from taihu.accounts import Principal`: a public name
            continue
        if owner in ASSEMBLIES and parts[2] in MOUNTABLE and len(parts) <= 4:
            continue
        problems.append(f"{path.relative_to(SRC.parent)}:{line} imports {name}")
    return problems


def test_contexts_were_found() -> None:
    assert {"accounts", "enterprises"} <= set(CONTEXTS)


@pytest.mark.parametrize("owner", sorted(set(CONTEXTS) | ASSEMBLIES))
def test_other_contexts_are_reached_through_their_public_names(owner: str) -> None:
    problems = [v for path in sorted((SRC / owner).rglob("*.py")) for v in _violations(owner, path)]
    assert problems == []


@pytest.mark.parametrize("context", CONTEXTS)
def test_public_names_are_declared_and_real(context: str) -> None:
    # Their order is ruff's business (RUF022); here: every declared name exists.
    module = importlib.import_module(f"taihu.{context}")
    for name in module.__all__:
        assert hasattr(module, name), f"taihu.{context} declares {name} but has no such name"
