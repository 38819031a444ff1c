"""A market the exchange halted or delisted gives no price to trade on (``Ticker.halted``): its last ticker is
ignored, so the core says the coin is stale once a check interval has passed without a price, and names it
(issue 20); with ``stale_after`` it is then frozen out of the weights (docs/options-flows.md)."""

from __future__ import annotations

from smartpf.freqtrade.prices import Ticker
from smartpf_core import Engine, Snapshot
from tests.support.helpers import make_spec


class Markets:
    """Freqtrade's DataProvider as the price source reads it: tickers, and the exchange's markets."""

    def __init__(self, markets: dict) -> None:
        self.markets = markets

    def market(self, pair):
        return self.markets.get(pair)

    def ticker(self, pair):
        return {"last": 100.0, "timestamp": 1_775_044_800_000}

    def ohlcv(self, pair, timeframe):
        return None


def test_a_halted_or_delisted_market_has_no_price():
    dp = Markets({"BTC/USDT": {"active": True}, "ETH/USDT": {"active": False}, "SOL/USDT": {"active": None}})
    quote = Ticker(dp, "1m", 60).read(("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"))
    # ETH halted (active false), XRP gone from the markets; an unknown active flag (None) still trades
    assert quote.prices == {"BTC/USDT": 100.0, "SOL/USDT": 100.0}


def test_markets_that_cannot_be_read_leave_the_ticker_in_charge():
    class Broken(Markets):
        def market(self, pair):
            raise RuntimeError("markets not loaded")

    assert Ticker(Broken({}), "1m", 60).read(("BTC/USDT",)).prices == {"BTC/USDT": 100.0}


def test_the_core_names_a_halted_coin_once_a_check_interval_passed():
    engine = Engine(make_spec())
    pairs = engine.spec.pairs
    t0 = 1_775_044_800.0
    engine.step(Snapshot(t0, {p: 100.0 for p in pairs}))
    halted = pairs[-1]
    said = []
    for k in range(1, 4):  # one minute apart: the check interval
        decision = engine.step(Snapshot(t0 + 60 * k + 1, {p: 100.0 for p in pairs if p != halted}))
        said += [n.message for n in decision.notices if n.kind == "stale_started"]
    assert len(said) == 1 and halted in said[0]
