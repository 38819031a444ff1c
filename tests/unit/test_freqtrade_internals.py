"""The Freqtrade 2026.9 internals the strategy relies on. If an upgrade changes one, these fail loudly."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from freqtrade.freqtradebot import FreqtradeBot
from freqtrade.optimize.backtesting import Backtesting
from freqtrade.strategy.strategy_wrapper import strategy_safe_wrapper


def test_pinned_versions():
    assert version("freqtrade") == "2026.9"
    assert version("ccxt") == "4.5.90"


def test_callbacks_presented_as_istrategy_skip_the_trade_deepcopy():
    """SmartPortfolio renames adjust_trade_position / order_filled to skip the per-call deepcopy."""
    trade = object()
    seen = []

    def ours(trade):
        seen.append(trade)

    ours.__qualname__ = "IStrategy.adjust_trade_position"
    strategy_safe_wrapper(ours)(trade=trade)
    assert seen[-1] is trade, "Freqtrade now copies the trade even for IStrategy callbacks"

    def other(trade):
        seen.append(trade)

    strategy_safe_wrapper(other)(trade=[1])
    assert seen[-1] == [1]
    source = inspect.getsource(strategy_safe_wrapper)
    assert 'startswith("IStrategy.")' in source and "deepcopy" in source


def test_the_strategy_carries_the_renamed_callbacks():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "strategies"))
    from SmartPortfolio import SmartPortfolio

    assert SmartPortfolio.adjust_trade_position.__qualname__.startswith("IStrategy.")
    assert SmartPortfolio.order_filled.__qualname__.startswith("IStrategy.")


def test_position_adjustment_flag_is_read_on_every_loop():
    """The strategy switches position_adjustment_enable per loop; both loops must read it each time."""
    assert "if self.strategy.position_adjustment_enable:" in inspect.getsource(Backtesting._check_trade_exit)
    assert "if self.strategy.position_adjustment_enable:" in inspect.getsource(FreqtradeBot.process)


def test_backtest_fills_adjustments_at_the_candle_open_and_calls_bot_loop_start_first():
    adjust = inspect.getsource(Backtesting._check_adjust_trade_for_candle)
    assert "current_rate: float = row[OPEN_IDX]" in adjust
    loop = inspect.getsource(Backtesting.time_pair_generator)
    assert loop.index("bot_loop_start") < loop.index("pairs_with_open_trades")


def test_the_door_uses_the_fast_mechanisms_on_the_checked_version():
    from smartpf.freqtrade import door as ftdoor

    assert ftdoor.is_checked_version()
    assert ftdoor.copy_skipped_for_istrategy() and ftdoor.adjustment_flag_read_each_loop()
    assert ftdoor.position_adjustment(False) is False


def test_the_door_falls_back_to_the_slow_correct_path_on_another_version(monkeypatch):
    from smartpf.freqtrade import door as ftdoor

    for cached in (ftdoor.freqtrade_version, ftdoor.copy_skipped_for_istrategy, ftdoor.adjustment_flag_read_each_loop):
        cached.cache_clear()
    monkeypatch.setattr(ftdoor, "freqtrade_version", lambda: "2099.1")
    try:
        assert not ftdoor.copy_skipped_for_istrategy()
        assert ftdoor.position_adjustment(False) is True  # left on: correct, slower

        class Probe:
            def order_filled(self):
                pass
        ftdoor.skip_trade_copy(Probe, "order_filled")
        assert Probe.order_filled.__qualname__.endswith("Probe.order_filled")  # Freqtrade keeps copying
    finally:
        for cached in (ftdoor.copy_skipped_for_istrategy, ftdoor.adjustment_flag_read_each_loop):
            cached.cache_clear()


def test_the_production_strategy_never_calls_the_crash_hook():
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "strategies" / "SmartPortfolio.py").read_text()
    assert "maybe_crash" not in source and "SMARTPF_CRASH_POINT" not in source


def test_orders_are_sent_through_ccxt_create_order_with_their_client_id():
    """ftdoor.name_orders wraps the ccxt object's create_order, which Freqtrade calls with its params last; ccxt's
    Binance sends a clientOrderId param as newClientOrderId."""
    from types import SimpleNamespace

    import ccxt

    from smartpf.freqtrade import door as ftdoor

    assert ftdoor.can_name_orders()
    calls = []
    api = SimpleNamespace(create_order=lambda *a: calls.append(a) or {"id": "1"})
    exchange = SimpleNamespace(_api=api)
    assert ftdoor.name_orders(exchange, lambda pair, side: "spf0123456789abrb2s" if side == "sell" else None)
    assert ftdoor.name_orders(exchange, lambda pair, side: "spf0123456789abrb3s" if side == "sell" else None)
    api.create_order("ETH/USDT", "market", "sell", 0.1, None, {"x": 1})
    api.create_order("ETH/USDT", "market", "buy", 0.1, None, {})
    assert calls == [("ETH/USDT", "market", "sell", 0.1, None, {"x": 1, "clientOrderId": "spf0123456789abrb3s"}),
                     ("ETH/USDT", "market", "buy", 0.1, None, {})]  # wrapped once, by the latest strategy
    source = inspect.getsource(ccxt.binance.create_order_request)
    assert "'newClientOrderId', 'clientOrderId'" in source
