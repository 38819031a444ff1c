"""The shape of the app's code, read from its source: one error tree, no reaching into a sibling's private names."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import smartpf
from smartpf.errors import ReplayError, SmartpfError

PACKAGE = Path(smartpf.__file__).parent
ROOTS = (SmartpfError, ReplayError)


def _modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, ast.parse(path.read_text(), str(path))))
    return found


def _classes() -> list[tuple[str, str]]:
    return [(module, node.name) for module, tree in _modules() for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)]


def test_every_error_class_descends_from_one_of_the_two_roots():
    errors, strays = [], []
    for module, name in _classes():
        cls = getattr(importlib.import_module(module), name, None)
        named = name.endswith(("Error", "Exception"))
        if cls is None:  # a class defined inside a function: only its name can be judged
            assert not named, f"{module}.{name}: an error class must be defined at module level"
            continue
        if named or (isinstance(cls, type) and issubclass(cls, BaseException)):
            errors.append(f"{module}.{name}")
            if cls not in ROOTS and not (isinstance(cls, type) and issubclass(cls, ROOTS)):
                strays.append(f"{module}.{name}")
    assert len(errors) >= 20, errors  # the scan found the tree (a broken scan would pass with nothing)
    assert strays == [], f"not under SmartpfError or ReplayError (smartpf/errors.py): {strays}"


def test_error_class_names_are_unique():
    names = [name for _module, name in _classes() if name.endswith(("Error", "Exception"))]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert twice == [], f"two error classes share a name: {twice}"


def test_no_module_imports_a_private_name_of_another_module():
    reaching = []
    for module, tree in _modules():
        package = module if module.count(".") == 0 else module.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([source] if source else []))
            if not source.startswith("smartpf"):
                continue
            reaching += [f"{module}: from {source} import {a.name}" for a in node.names
                         if a.name.startswith("_") and not a.name.startswith("__")]
    assert reaching == []


@pytest.mark.parametrize("path", ["replay/server.py", "replay/faults.py"])
def test_the_replay_servers_plumbing_names_no_venue(path):
    text = (PACKAGE / path).read_text().lower()
    assert "binance" not in text
