"""smartpf_core imports nothing but the standard library: no Freqtrade, ccxt, network, files or clock."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "smartpf_core"
FORBIDDEN_STDLIB = {"socket", "urllib", "http", "sqlite3", "time", "os", "io", "pathlib", "subprocess", "asyncio",
                    "datetime", "random", "shutil", "tempfile", "threading"}


def imported_modules():
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path.name, alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path.name, node.module.split(".")[0]


def test_core_imports_only_the_standard_library():
    bad = [(f, m) for f, m in imported_modules() if m != "__future__" and m not in sys.stdlib_module_names]
    assert not bad, f"non-stdlib imports in smartpf_core: {bad}"


def test_core_does_no_io_and_reads_no_clock():
    bad = [(f, m) for f, m in imported_modules() if m in FORBIDDEN_STDLIB]
    assert not bad, f"I/O or clock modules imported in smartpf_core: {bad}"
    for path in CORE.glob("*.py"):
        text = path.read_text()
        assert "open(" not in text.replace("_open(", ""), path.name
