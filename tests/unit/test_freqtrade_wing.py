"""The shape of the Freqtrade wing (issue 21): Freqtrade is imported only in ``smartpf/freqtrade/``, ``smartpf/replay/``
and the strategy; the strategy is short and reads the run mode once, in ``bot_start``; the host makes all of its
state in ``__init__`` (no attribute appears later)."""

from __future__ import annotations

import ast
import inspect
import re
import sys

from smartpf import paths

ROOT = paths.REPO_ROOT
STRATEGY = ROOT / "strategies" / "SmartPortfolio.py"
IMPORT = re.compile(r"^(from|import) freqtrade", re.MULTILINE)


def test_freqtrade_is_imported_only_in_the_wing_the_replay_exchange_and_the_strategy():
    files = [*(ROOT / "smartpf").rglob("*.py"), *(ROOT / "strategies").rglob("*.py")]
    importing = {p.relative_to(ROOT).as_posix() for p in files if IMPORT.search(p.read_text(encoding="utf-8"))}
    allowed = ("smartpf/freqtrade/", "smartpf/replay/", "strategies/SmartPortfolio.py")
    assert importing and all(p.startswith(allowed) for p in importing), sorted(importing)


def test_the_strategy_is_short_and_reads_the_run_mode_once_in_bot_start():
    source = STRATEGY.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 200
    assert source.count("runmode") == 1
    sys.path.insert(0, str(STRATEGY.parent))
    try:
        from SmartPortfolio import SmartPortfolio
    finally:
        sys.path.remove(str(STRATEGY.parent))
    assert "runmode" in inspect.getsource(SmartPortfolio.bot_start)
    bot = (ROOT / "smartpf" / "freqtrade" / "bot.py").read_text(encoding="utf-8")
    assert "runmode" not in bot and "RunMode" not in bot  # the host is told, at start


def test_the_host_makes_all_of_its_state_in_init():
    from smartpf.freqtrade import bot

    tree = ast.parse(inspect.getsource(bot.PortfolioBot))
    made: set[str] = set()
    later: dict[str, str] = {}
    for method in (n for n in tree.body[0].body if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(method):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign) else [])
            for target in targets:
                for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                        (made.add(t.attr) if method.name == "__init__" else later.setdefault(t.attr, method.name))
    setters = {"row"}  # a property: it sets _row and export, both made in __init__
    assert {a: m for a, m in later.items() if a not in made | setters} == {}
    assert "getattr" not in inspect.getsource(bot.PortfolioBot) and "setdefault(\"_" not in inspect.getsource(
        bot.PortfolioBot)
