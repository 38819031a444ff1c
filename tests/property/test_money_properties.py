"""Issue 8's three rebalance rules as invariants, on random baskets and on windows of the real candles:
no operation trades a coin both ways; cash goes only to orders that are sent (a buy is never scaled
down while cash stays idle); when an operation completes, the rules are evaluated on that same tick."""

from __future__ import annotations

from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartpf import paths
from smartpf.backtest.candles import Timerange, load_candles
from smartpf.markets import load_rules
from smartpf_core import Engine, Fill, Snapshot, parse_settings
from tests.property.test_engine_properties import SETTINGS, portfolios

FINISHED = ("initial_finished", "rebalance_finished", "deposit_finished")


class Audit:
    """Drives an engine with fills at the decision's prices and checks the three rules on the way."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.checked_idle = 0
        self.same_tick = 0

    def step(self, now: float, prices: dict[str, float]) -> None:
        engine = self.engine
        decision = engine.step(Snapshot(now, prices))
        if engine.status == "running" and any(n.kind in FINISHED for n in decision.notices) and \
                engine.op is None:
            # the operation completed on this tick: the rules were evaluated on it too (a reason or a new op)
            assert decision.reason is not None or decision.orders, decision
            self.same_tick += 1
        self._check_cash_sharing(decision, prices)
        fee = engine.spec.fee
        for order in decision.orders:
            engine.on_fill(Fill(order.id, order.amount, order.price, order.value * fee, now))

    def _check_cash_sharing(self, decision, prices) -> None:
        engine = self.engine
        op = engine.op
        buys = [o for o in decision.orders if o.side == "buy"]
        if not buys or op is None or op.kind not in ("rebalance", "deposit"):
            return
        fee = engine.spec.fee
        budget = engine.cash - engine.pending_withdrawal
        cost = sum(o.value * (1 + fee) for o in buys)
        slack = sum(engine.rules[o.pair].amount_step * o.price * (1 + fee) for o in buys) + 1e-7 * budget + 1e-9
        if budget - cost <= slack:
            return
        # cash stays idle: then no buy was scaled down, each covers its coin's whole shortfall
        self.checked_idle += 1
        investable = engine.value(prices) - engine.pending_withdrawal
        for o in buys:
            gap = engine.spec.weights[o.pair] * investable - engine.holdings.get(o.pair, 0.0) * prices[o.pair]
            step = engine.rules[o.pair].amount_step * o.price
            assert o.value >= gap - step - 1e-6 * investable, (o, gap, budget, cost)

    def check_both_ways(self) -> None:
        for record in self.engine.records:
            sides: dict[str, set[str]] = {}
            for trade in record.trades:
                sides.setdefault(trade.pair, set()).add(trade.side)
            both = [p for p, s in sides.items() if len(s) > 1]
            assert not both, f"{record.id} traded {both} both ways"


@SETTINGS
@given(portfolios())
def test_rebalance_rules_on_random_baskets(case):
    spec, rules, base, path = case
    audit = Audit(Engine(spec, rules))
    prices = dict(base)
    for i, moves in enumerate(path):
        prices = {p: prices[p] * moves[p] for p in prices}
        audit.step(60.0 * i, prices)
    audit.check_both_ways()


COINS = ("BTC", "ETH", "ADA", "XRP", "SOL", "LTC", "LINK", "DOGE")


@lru_cache(maxsize=1)
def real_candles():
    pairs = [f"{c}/USDT" for c in COINS]
    candles = load_candles(str(paths.DEFAULT_DATADIR), pairs, "1h", Timerange.parse("20210101-20250101"))
    return candles, load_rules(str(paths.DEFAULT_MARKETS))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(COINS), min_size=2, max_size=5, unique=True), st.integers(0, 33000),
       st.sampled_from([1.0, 2.0, 5.0]), st.sampled_from(["absolute", "relative"]))
def test_rebalance_rules_on_real_candles(coins, start, threshold, threshold_type):
    candles, rules = real_candles()
    weight = 100 / len(coins)
    section = {"assets": {c: weight for c in coins}, "investment": 10000, "threshold_type": threshold_type,
               "threshold": threshold * (10 if threshold_type == "relative" else 1)}
    spec = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": section}).spec
    audit = Audit(Engine(spec, {p: rules[p] for p in spec.pairs}))
    times = candles.times[start:start + 720].tolist()
    opens = {p: candles.opens[p][start:start + 720].tolist() for p in spec.pairs}
    for i, now in enumerate(times):
        prices = {p: col[i] for p, col in opens.items() if col[i] == col[i]}
        audit.step(now, prices)
    audit.check_both_ways()
