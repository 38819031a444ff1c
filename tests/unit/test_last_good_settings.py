"""After a rejected reload, Freqtrade's whitelist is the edited one but the bot keeps to the last good settings."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

from smartpf import paths
from smartpf_core import Engine, Snapshot
from tests.support.helpers import RULES, make_spec, portfolio_bot

sys.path.insert(0, str(paths.REPO_ROOT / "strategies"))
from SmartPortfolio import SmartPortfolio  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def strategy_in_force():
    """The strategy as a rejected reload leaves it: the engine on the old settings (BTC/ETH), its first orders
    planned. Built without Freqtrade running: only the attributes the entry callbacks read."""
    strategy = SmartPortfolio.__new__(SmartPortfolio)
    strategy.bot = portfolio_bot(name="last-good")
    strategy.bot.engine = Engine(make_spec(), RULES)
    decision = strategy.bot.engine.step(Snapshot(0.0, {"BTC/USDT": 100.0, "ETH/USDT": 10.0}))
    strategy.bot.orders = {o.pair: o for o in decision.orders}
    return strategy


def stake(strategy, pair):
    return strategy.custom_stake_amount(pair, NOW, 10.0, 100.0, 5.0, 1000.0, 1.0, "smartpf", "long")


def confirm(strategy, pair):
    return strategy.confirm_trade_entry(pair, "market", 1.0, 10.0, "GTC", NOW, "smartpf", "long")


def test_no_entry_on_a_pair_outside_the_settings_in_force(caplog):
    strategy = strategy_in_force()
    with caplog.at_level(logging.WARNING):
        assert stake(strategy, "SOL/USDT") == 0.0
        assert confirm(strategy, "SOL/USDT") is False
        assert stake(strategy, "SOL/USDT") == 0.0
    said = [r.getMessage() for r in caplog.records if "SOL/USDT" in r.getMessage()]
    assert len(said) == 1, said  # said once, not every loop
    assert "not in the settings in force (BTC/USDT, ETH/USDT)" in said[0] and "last good settings" in said[0]


def test_pairs_in_force_still_enter():
    strategy = strategy_in_force()
    assert stake(strategy, "ETH/USDT") > 0
    assert confirm(strategy, "ETH/USDT") is True
