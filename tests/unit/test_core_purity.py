"""smartpf_core is pure: standard library only, and no I/O, clock, randomness or dynamic imports.

Checked on the syntax tree of every module (not by text), so a name in a docstring is fine and an alias
(``import time as t``) is not.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "smartpf_core"
FORBIDDEN_MODULES = {
    # network, files, processes, threads
    "socket", "ssl", "urllib", "http", "ftplib", "smtplib", "sqlite3", "dbm", "shelve", "pickle", "os", "io",
    "pathlib", "glob", "shutil", "tempfile", "fileinput", "subprocess", "multiprocessing", "threading",
    "concurrent", "asyncio", "selectors", "signal", "mmap", "logging", "ctypes",
    # clock and randomness
    "time", "datetime", "calendar", "zoneinfo", "sched", "random", "secrets", "uuid",
    # code loaded at run time
    "importlib", "imp", "pkgutil", "runpy", "zipimport",
}
# Builtins that print, read files or the keyboard, run code, or differ between runs (hash of a text is salted).
FORBIDDEN_CALLS = {"open", "print", "input", "breakpoint", "exec", "eval", "compile", "__import__", "hash"}
FORBIDDEN_SYS = {"stdout", "stderr", "stdin", "__stdout__", "__stderr__", "__stdin__", "exit", "argv", "modules",
                 "path", "settrace", "setprofile"}


def imported_modules(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module.split(".")[0])
    return found


def impure_uses(tree: ast.AST) -> list[str]:
    """Calls of forbidden builtins and any use of sys's streams, exit, argv, modules or path."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            found.append(f"{node.func.id}() at line {node.lineno}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_CALLS and not isinstance(node.ctx, ast.Store):
            found.append(f"{node.id} at line {node.lineno}")  # passed around, e.g. key=hash
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sys" \
                and node.attr in FORBIDDEN_SYS:
            found.append(f"sys.{node.attr} at line {node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            found += [f"sys.{a.name} at line {node.lineno}" for a in node.names if a.name in FORBIDDEN_SYS]
    return sorted(set(found))


def core_trees() -> list[tuple[str, ast.AST]]:
    return [(str(path.relative_to(CORE)), ast.parse(path.read_text(), str(path)))
            for path in sorted(CORE.rglob("*.py"))]


def test_core_imports_only_the_standard_library():
    bad = [(f, m) for f, tree in core_trees() for m in imported_modules(tree)
           if m != "__future__" and m not in sys.stdlib_module_names]
    assert not bad, f"non-stdlib imports in smartpf_core: {bad}"


def test_core_imports_no_io_clock_randomness_or_dynamic_import():
    bad = [(f, m) for f, tree in core_trees() for m in imported_modules(tree) if m in FORBIDDEN_MODULES]
    assert not bad, f"I/O, clock, randomness or importlib in smartpf_core: {bad}"


def test_core_does_not_print_open_files_or_touch_sys():
    bad = [(f, use) for f, tree in core_trees() for use in impure_uses(tree)]
    assert not bad, f"impure calls in smartpf_core: {bad}"


def test_the_checks_catch_what_they_claim():
    """The detectors themselves, on a module that breaks every rule."""
    tree = ast.parse("import importlib.util\nimport time as t\nfrom random import random\nfrom datetime import UTC\n"
                     "import sys\nprint(1)\nopen('x')\nsys.stdout.write('x')\nsorted([], key=hash)\n"
                     "__import__('os')\nfrom sys import stderr\n")
    assert {"importlib", "time", "random", "datetime"} <= set(imported_modules(tree)) & FORBIDDEN_MODULES
    uses = " ".join(impure_uses(tree))
    for name in ("print()", "open()", "sys.stdout", "sys.stderr", "hash at", "__import__()"):
        assert name in uses, uses
    assert not impure_uses(ast.parse('"""print(open(x))"""\ndef f(x):\n    return x.open()\n'))
