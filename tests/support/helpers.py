"""Small drivers shared by the engine tests: a spec builder and an immediate-fill host."""

from __future__ import annotations

from smartpf_core import Engine, Fill, MarketRules, Snapshot, parse_settings

RULES = {
    "BTC/USDT": MarketRules(min_notional=5, min_amount=0.00001, amount_step=0.00001, price_tick=0.01),
    "ETH/USDT": MarketRules(min_notional=5, min_amount=0.0001, amount_step=0.0001, price_tick=0.01),
    "SOL/USDT": MarketRules(min_notional=5, min_amount=0.01, amount_step=0.01, price_tick=0.01),
}


def make_spec(**section):
    base = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000}
    base.update(section)
    result = parse_settings({"stake_currency": "USDT", "fee": section.pop("fee", 0.001), "smart_portfolio": base})
    assert result.ok, result.lines()
    return result.spec


def fill_all(engine: Engine, decision, prices, now=None, fee=None):
    """Fill every order at ``prices`` (the planned price when absent), as a backtest would."""
    fee = engine.spec.fee if fee is None else fee
    for order in decision.orders:
        price = prices.get(order.pair, order.price)
        engine.on_fill(Fill(order.id, order.amount, price, order.amount * price * fee, now or decision.time))
    return decision


def tick(engine: Engine, now, prices, fill=True, **snap):
    decision = engine.step(Snapshot(now, prices, **snap))
    if fill:
        fill_all(engine, decision, prices, now)
    return decision


def started(spec=None, prices=None, now=0.0):
    engine = Engine(spec or make_spec(), RULES)
    tick(engine, now, prices or {"BTC/USDT": 100.0, "ETH/USDT": 10.0})
    tick(engine, now + 60, prices or {"BTC/USDT": 100.0, "ETH/USDT": 10.0})  # closes the initial op
    assert engine.status == "running"
    return engine


def portfolio_bot(user_data_dir=".", name: str = "tests", runmode=None):
    """A PortfolioBot on the default settings (BTC 50 / ETH 50, 1000 USDT) without Freqtrade running: its strategy
    is a stand-in with only a run mode, no wallets and no data provider calls."""
    from types import SimpleNamespace

    from smartpf.freqtrade.bot import PortfolioBot
    from smartpf.freqtrade.config import freqtrade_config

    config = freqtrade_config({"assets": {"BTC": 50, "ETH": 50}, "investment": 1000}, bot_name=name)
    config["user_data_dir"] = str(user_data_dir)
    strategy = SimpleNamespace(dp=SimpleNamespace(runmode=runmode), wallets=None, timeframe="1m",
                               position_adjustment_enable=True, config=config)
    return PortfolioBot(strategy, config)
