"""docs/core-api.md is true: its ```python blocks run, in order, in one namespace (like a notebook), with the
core alone. A block that no longer runs, or whose assertions no longer hold, fails here with its line."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "core-api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """Each ```python block with the line of the page it starts on."""
    return [(text[:m.start(1)].count("\n") + 1, m.group(1)) for m in BLOCK.finditer(text)]


def test_the_page_has_examples():
    assert len(python_blocks(PAGE.read_text())) >= 8


def test_every_example_on_the_page_runs():
    namespace: dict[str, object] = {"__name__": "core_api_doc"}
    for line, code in python_blocks(PAGE.read_text()):
        # compiled with the page's line numbers, so a failure points at the page
        exec(compile("\n" * (line - 1) + code, str(PAGE), "exec"), namespace)


def test_the_examples_use_only_the_public_api():
    import smartpf_core

    names = set()
    for _, code in python_blocks(PAGE.read_text()):
        for imported in re.findall(r"^from smartpf_core import (.+)$", code, re.MULTILINE):
            names |= {n.strip() for n in imported.split(",")}
    assert names and names <= set(smartpf_core.__all__), names - set(smartpf_core.__all__)
