"""smartpf.freqtrade.channels without a Freqtrade process: exit naming, custom data written only on change,
the chart columns."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd
from freqtrade.enums import RunMode

from smartpf.freqtrade import channels
from tests.support.helpers import started, tick

PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}


class FakeTrade:
    def __init__(self, trade_id: int, pair: str, stored: dict | None = None) -> None:
        self.id, self.pair, self.exit_side, self.exit_reason = trade_id, pair, "sell", None
        self.data = dict(stored or {})
        self.writes: list[str] = []

    def get_custom_data(self, key: str, default=None):
        return self.data.get(key, default)

    def set_custom_data(self, key: str, value) -> None:
        self.data[key] = value
        self.writes.append(key)


def rebalanced():
    engine = started()
    prices = {"BTC/USDT": 120.0, "ETH/USDT": 10.0}
    for now in (120, 180, 240):
        tick(engine, now, prices)
    return engine, prices


def test_a_filled_sell_is_named_by_its_kind_and_keeps_its_tag():
    engine, _ = rebalanced()
    sell = next(t for t in engine.records[-1].trades if t.side == "sell")
    trade = FakeTrade(1, sell.pair)
    order = SimpleNamespace(ft_order_side="sell", ft_order_tag=sell.order_id)
    channels.name_exit(engine, trade, order)
    assert trade.exit_reason == "smartpf_rebalance" and order.ft_order_tag == sell.order_id
    for side, tag in (("buy", sell.order_id), ("sell", "force_exit"), ("sell", None), ("sell", "smartpf-entry@x")):
        other = FakeTrade(2, sell.pair)
        other.exit_reason = "force_exit"
        channels.name_exit(engine, other, SimpleNamespace(ft_order_side=side, ft_order_tag=tag))
        assert other.exit_reason == "force_exit"


def test_custom_data_is_written_only_when_it_changes(monkeypatch):
    engine, prices = rebalanced()
    trades = [FakeTrade(1, "BTC/USDT"), FakeTrade(2, "ETH/USDT")]
    monkeypatch.setattr(channels.ftdoor, "open_trades", lambda: trades)
    monkeypatch.setattr(channels.Trade, "commit", staticmethod(lambda: None))
    coins = {c["pair"]: c for c in engine.details(prices)["coins"]}
    box = channels.Channels({"smart_portfolio": {}})
    box._custom_data(engine, coins)
    assert trades[0].data == {"smartpf_portfolio": engine.portfolio_id, "smartpf_target_pct": 50.0,
                              "smartpf_band_pct": [49.0, 51.0],
                              "smartpf_last_operation": channels.last_order_of(engine, "BTC/USDT")}
    assert trades[0].data["smartpf_last_operation"].startswith("rb2:sell:BTC/USDT")
    first = [len(t.writes) for t in trades]
    box._custom_data(engine, coins)
    assert [len(t.writes) for t in trades] == first  # nothing changed, nothing written
    # a restart: the database already holds the values, so nothing is written either
    again = channels.Channels({"smart_portfolio": {}})
    before = [len(t.writes) for t in trades]
    again._custom_data(engine, coins)
    assert [len(t.writes) for t in trades] == before
    # the weight's target moves: only that key is written
    moved = {p: {**c, "target_pct": 60.0} if p == "BTC/USDT" else c for p, c in coins.items()}
    again._custom_data(engine, moved)
    assert trades[0].writes[-1] == "smartpf_target_pct" and len(trades[0].writes) == before[0] + 1


def test_the_chart_shows_what_the_bot_saw_by_each_candles_close():
    engine, prices = rebalanced()
    coins = {c["pair"]: c for c in engine.details(prices)["coins"]}
    box = channels.Channels({"smart_portfolio": {}})
    t0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    box._sample(coins, t0 + 90)  # during the second candle
    strategy = SimpleNamespace(dp=SimpleNamespace(runmode=RunMode.DRY_RUN), config={"timeframe": "1m"},
                               timeframe="1m")
    frame = pd.DataFrame({"date": pd.to_datetime([t0, t0 + 60, t0 + 120], unit="s", utc=True)})
    out = box.indicators(strategy, frame.copy(), {"pair": "ETH/USDT"})
    assert math.isnan(out["smartpf_weight"][0])
    assert out["smartpf_target"].tolist()[1:] == [50.0, 50.0]
    assert out["smartpf_band_low"][1] == 49.0 and out["smartpf_band_high"][1] == 51.0
    assert abs(out["smartpf_weight"][1] - coins["ETH/USDT"]["actual_pct"]) < 1e-9
    strategy.dp.runmode = RunMode.BACKTEST
    assert "smartpf_weight" not in box.indicators(strategy, frame.copy(), {"pair": "ETH/USDT"})


def test_a_failing_custom_data_write_is_said_once_and_never_stops_the_loop(monkeypatch, caplog):
    engine, prices = rebalanced()
    trade = FakeTrade(1, "BTC/USDT")

    def broken(key, value):
        raise RuntimeError("database is locked")

    trade.set_custom_data = broken
    rollbacks = []
    monkeypatch.setattr(channels.ftdoor, "open_trades", lambda: [trade])
    monkeypatch.setattr(channels.Trade, "session", SimpleNamespace(rollback=lambda: rollbacks.append(1)),
                        raising=False)
    strategy = SimpleNamespace(engine=engine, dp=SimpleNamespace(runmode=RunMode.DRY_RUN))
    box = channels.Channels({"smart_portfolio": {}})
    for now in (1000.0, 1060.0, 1120.0):
        box.loop(strategy, prices, now)
    assert len(rollbacks) == 3
    assert caplog.text.count("cannot write the trades' custom data") == 1
