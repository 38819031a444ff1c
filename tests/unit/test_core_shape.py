"""The core stays cut along its seams: a small engine, no class with too many methods, and a host that
reads the engine only through its public, read-only face."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "smartpf_core"
MAX_METHODS = 25
MAX_ENGINE_LINES = 400


def test_the_engine_module_is_small():
    lines = (CORE / "portfolio" / "engine.py").read_text().count("\n")
    assert lines <= MAX_ENGINE_LINES, f"smartpf_core/portfolio/engine.py has {lines} lines"


def test_no_core_class_has_more_than_25_methods():
    big = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                count = sum(isinstance(b, ast.FunctionDef | ast.AsyncFunctionDef) for b in node.body)
                if count > MAX_METHODS:
                    big.append(f"{path.relative_to(ROOT)}:{node.name} has {count} methods")
    assert not big, big


def test_the_host_never_reads_the_engines_insides():
    pattern = re.compile(r"engine\._|_Operation|_OrderState|\.records\[-1\]")
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for folder in ("smartpf", "strategies") for path in sorted((ROOT / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, found
