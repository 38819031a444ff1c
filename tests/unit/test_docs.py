"""The documentation holds together: a short README that leads to every page of docs/, and no link that
points nowhere (a file, or a heading of a page). Pages move and headings get renamed; a reader following
a link must still land where it said."""

from __future__ import annotations

import re
from pathlib import Path

from smartpf.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
# Markdown links and images: [text](target) and ![alt](target), outside code.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"`[^`\n]*`")
# Pages written on other branches, linked already from where a reader looks for them; each leaves this
# set once its branch is merged (then a missing one fails like any other link).
LINKED = {"docs/exchanges-live.md", "docs/page.md", "docs/channels.md", "docs/options.md", "docs/options-flows.md"}


def pages() -> list[Path]:
    """Every Markdown page of the project's own documentation."""
    return [README, REPO_ROOT / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]


def links(page: Path) -> list[str]:
    text = CODE_SPAN.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return [target for target in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def resolve(page: Path, target: str) -> tuple[Path, str]:
    path, _, anchor = target.partition("#")
    return ((page.parent / path).resolve() if path else page), anchor


def test_the_readme_is_at_most_300_lines():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 300


def test_the_readme_starts_with_the_two_commands_ci_runs_the_second():
    head = README.read_text(encoding="utf-8").split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].split() for line in head.splitlines() if line.split("#")[0].strip()]
    assert commands == [["make", "demo"], ["make", "test"]]  # exactly two: the main job offline, then the tests
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_relative_link_resolves_to_a_file_and_a_heading():
    broken = []
    for page in pages():
        for target in links(page):
            path, anchor = resolve(page, target)
            if not path.exists():
                broken.append(f"{page.relative_to(REPO_ROOT)}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{page.relative_to(REPO_ROOT)}: {target} (no such heading)")
    assert broken == []


def test_every_docs_page_is_reachable_from_the_readme():
    seen, todo = {README.resolve()}, [README]
    while todo:
        page = todo.pop()
        for target in links(page):
            path, _ = resolve(page, target)
            if path.suffix == ".md" and path.exists() and path not in seen:
                seen.add(path)
                todo.append(path)
    unreached = [p.relative_to(REPO_ROOT).as_posix() for p in DOCS.rglob("*.md") if p.resolve() not in seen]
    assert unreached == []
    assert (REPO_ROOT / "CHANGELOG.md").resolve() in seen


def test_the_pages_of_other_branches_are_linked_from_where_a_reader_looks():
    linked = {resolve(page, target)[0] for page in pages() for target in links(page)}
    assert {(REPO_ROOT / name).resolve() for name in LINKED} <= linked


def test_the_slug_is_githubs():
    assert slug("The bot's memory (where the state lives)") == "the-bots-memory-where-the-state-lives"
    assert slug("`smartpf study` (docs/research.md)") == "smartpf-study-docsresearchmd"
    assert slug("4. Preflight") == "4-preflight"
    assert slug("`smart_portfolio` in the Freqtrade config") == "smart_portfolio-in-the-freqtrade-config"
