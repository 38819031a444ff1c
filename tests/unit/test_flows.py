"""Inflows that only buy (``inflow: "underweight"``, ``recurring``) and equal weights (``weights: "equal"``):
the rules, their settings checks, their invariants and the fast engine against the step engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import simulate_fast
from smartpf_core import Engine, Fill, Snapshot, parse_settings, simulate
from smartpf_core.flows import Recurring, fill_targets
from smartpf_core.records import trade_rows
from smartpf_core.volatility import inverse_volatility_weights, volatility

from .test_fastsim import assert_same, random_market

DAY = 86400


def spec_for(**section):
    body = {"assets": {"BTC": 40, "ETH": 30, "SOL": 30}, "investment": 1000, "threshold": 5, **section}
    result = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": body})
    assert result.ok, result.lines()
    return result.spec


def problems(**section):
    body = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, **section}
    return parse_settings({"smart_portfolio": body}).lines()


# ---------------------------------------------------------------- settings
@pytest.mark.parametrize("key, value, named", [
    ("inflow", "sometimes", "smart_portfolio.inflow = 'sometimes': must be 'target'"),
    ("weights", "inverse", "smart_portfolio.weights = 'inverse': must be 'fixed'"),
    ("recurring", 100, "smart_portfolio.recurring = 100: must be an object with 'amount' and 'every'"),
    ("recurring", {"amount": 100}, "smart_portfolio.recurring = {'amount': 100}: must be an object"),
    ("recurring", {"amount": 0, "every": "7d"}, "smart_portfolio.recurring.amount = 0: must be a number"),
    ("recurring", {"amount": True, "every": "7d"}, "smart_portfolio.recurring.amount = true: must be a number"),
    ("recurring", {"amount": 10, "every": "10m"}, "smart_portfolio.recurring.every = '10m': must be at least 1h"),
    ("recurring", {"amount": 10, "every": "soon"}, "smart_portfolio.recurring.every = 'soon'"),
])
def test_bad_flow_settings_are_refused_naming_setting_value_and_what_is_allowed(key, value, named):
    lines = problems(**{key: value})
    assert any(line.startswith(named) for line in lines), lines


def test_bad_flow_setting_exits_2_from_the_cli(tmp_path, capsys):
    import json

    from smartpf.cli import main
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "smart_portfolio": {
        "assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "recurring": {"amount": -5, "every": "7d"}}}))
    code = main(["validate", "-c", str(config)])
    out = capsys.readouterr()
    assert code == 2
    assert "smart_portfolio.recurring.amount = -5" in out.out + out.err


def test_defaults_leave_the_spec_and_its_saved_form_as_they_were():
    spec = spec_for()
    assert (spec.inflow, spec.recurring, spec.weighting) == ("target", None, "fixed")
    assert not {"inflow", "recurring", "weights"} & set(spec.to_dict())


def test_the_options_round_trip_through_the_saved_spec():
    spec = spec_for(inflow="underweight", recurring={"amount": 50, "every": "2w"}, weights="equal")
    assert spec.recurring == Recurring(50.0, 14 * DAY)
    again = type(spec).from_dict(spec.to_dict())
    assert again == spec and dict(again.weights) == dict(spec.weights)


@pytest.mark.parametrize("assets", [["BTC", "ETH", "SOL"], {"BTC": 1, "ETH": 1, "SOL": 98}])
def test_equal_weights_give_each_coin_the_same_share(assets):
    spec = spec_for(assets=assets, weights="equal")
    assert spec.weights == pytest.approx(dict.fromkeys(("BTC/USDT", "ETH/USDT", "SOL/USDT"), 1 / 3))


def test_equal_weights_still_check_the_coins():
    lines = problems(assets=["BTC"], weights="equal")
    assert any("needs at least 2 coins" in line for line in lines), lines


# ---------------------------------------------------------------- the water-filling rule
targets_st = st.dictionaries(st.sampled_from("ABCDEFG"), st.floats(1, 1e5), min_size=1, max_size=7)


@settings(max_examples=300, deadline=None)
@given(targets=targets_st, fractions=st.lists(st.floats(0, 2), min_size=7, max_size=7),
       budget=st.floats(0, 2e5))
def test_fill_targets_spends_the_budget_on_the_lowest_coins_and_never_beyond_a_target(targets, fractions, budget):
    held = {p: t * f for (p, t), f in zip(targets.items(), fractions, strict=False)}
    reach = fill_targets(targets, held, budget)
    spent = sum(reach[p] - held[p] for p in targets)
    assert all(reach[p] >= held[p] - 1e-9 for p in targets)  # never a sell
    assert all(reach[p] <= max(held[p], targets[p]) * (1 + 1e-9) for p in targets)  # never beyond a target
    assert all(reach[p] == held[p] for p in targets if held[p] >= targets[p])  # an overweight coin is not bought
    shortfall = sum(max(0.0, targets[p] - held[p]) for p in targets)
    assert spent == pytest.approx(min(budget, shortfall), rel=1e-9, abs=1e-6)
    # water-filling: every coin bought ends at the same fraction of its target, and no coin left below it
    bought = [reach[p] / targets[p] for p in targets if reach[p] > held[p] + 1e-9 * targets[p]]
    if bought:
        level = max(bought)
        assert min(bought) == pytest.approx(level, rel=1e-7)
        assert all(reach[p] / targets[p] >= level * (1 - 1e-7) for p in targets if reach[p] < targets[p])


def test_fill_targets_by_example():
    # 300 to spend: C (0 of 100) and B (50 of 100) are raised to the same level, A (over) is not bought
    reach = fill_targets({"A": 100, "B": 100, "C": 100}, {"A": 150, "B": 50, "C": 0}, 100)
    assert reach == pytest.approx({"A": 150, "B": 75, "C": 75})


# ---------------------------------------------------------------- the engine
def run_ticks(engine, prices, times, fill=True):
    """Step ``engine`` at ``times`` with constant ``prices``, filling every order at once."""
    decisions = []
    for t in times:
        decision = engine.step(Snapshot(time=t, prices=prices))
        decisions.append(decision)
        for order in decision.orders:
            engine.order_placed(order.id)
            if fill:
                engine.on_fill(Fill(order.id, order.amount, prices[order.pair], order.amount * prices[order.pair]
                                    * engine.spec.fee, t))
    return decisions


PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0, "SOL/USDT": 1.0}


def drifted_engine(**section):
    engine = Engine(spec_for(**section))
    run_ticks(engine, PRICES, [0.0, 60.0])
    return engine


def test_an_underweight_deposit_never_buys_a_coin_over_its_target():
    engine = drifted_engine(inflow="underweight", threshold=50)
    up = {**PRICES, "BTC/USDT": 160.0}  # BTC far over target, below the (wide) threshold
    run_ticks(engine, up, [120.0])
    new = type(engine.spec).from_dict({**engine.spec.to_dict(), "investment": 1100.0})
    engine.update_spec(new)
    decisions = run_ticks(engine, up, [180.0, 240.0])
    orders = [o for d in decisions for o in d.orders]
    assert orders and all(o.side == "buy" and o.pair != "BTC/USDT" for o in orders)


def test_a_plain_deposit_buys_every_coin_under_target_by_the_same_factor():
    engine = drifted_engine(threshold=50)
    up = {**PRICES, "BTC/USDT": 160.0}
    run_ticks(engine, up, [120.0])
    engine.update_spec(type(engine.spec).from_dict({**engine.spec.to_dict(), "investment": 1100.0}))
    orders = [o for d in run_ticks(engine, up, [180.0]) for o in d.orders]
    assert {o.pair for o in orders} == {"ETH/USDT", "SOL/USDT"}


def test_recurring_deposits_arrive_once_per_period_and_never_look_like_a_withdrawal():
    engine = drifted_engine(recurring={"amount": 100, "every": "1d"}, threshold=50)
    times = [120.0 + k * 3600 for k in range(24 * 5)]
    decisions = run_ticks(engine, PRICES, times)
    kinds = [n.kind for d in decisions for n in d.notices]
    assert kinds.count("recurring_deposit") == 4  # days 1..4 after the start at t=0 (the 5th is at 432000)
    assert engine.invested == pytest.approx(1400) and engine.ledger.deposited == pytest.approx(400)
    assert all(o.side == "buy" for d in decisions for o in d.orders)
    assert engine.withdrawn == 0 and engine.pending_withdrawal == 0
    records = [r for r in engine.records if r.kind == "deposit"]
    assert [r.trigger for r in records] == ["recurring"] * 4
    assert engine.hodl.cash + sum(engine.hodl.holdings[p] * PRICES[p] for p in PRICES) == pytest.approx(1400, rel=1e-2)
    # its state round-trips, and a portfolio without the option saves no new key
    again = Engine.from_dict(engine.to_dict())
    assert again.to_dict() == engine.to_dict()
    assert "recurring" not in drifted_engine().to_dict()


def test_a_recurring_deposit_the_free_balance_cannot_cover_is_skipped_with_a_reason():
    engine = drifted_engine(recurring={"amount": 100, "every": "1d"})
    decision = engine.step(Snapshot(time=DAY + 1.0, prices=PRICES, spendable=20.0))
    assert decision.orders == ()
    skipped = [n for n in decision.notices if n.kind == "recurring_skipped"]
    assert len(skipped) == 1 and "free balance 20.00 USDT" in skipped[0].message
    assert engine.invested == 1000
    # the next period is tried again
    decision = engine.step(Snapshot(time=2 * DAY + 1.0, prices=PRICES, spendable=5000.0))
    assert decision.orders and engine.invested == 1100


def test_a_bot_down_for_several_periods_deposits_once_and_says_what_it_missed():
    engine = drifted_engine(recurring={"amount": 100, "every": "1d"})
    decision = engine.step(Snapshot(time=3 * DAY + 5.0, prices=PRICES))
    assert engine.invested == 1100
    assert [n.data["missed"] for n in decision.notices if n.kind == "recurring_missed"] == [2]


# ---------------------------------------------------------------- fast = step
FLOWS = [
    {"recurring": {"amount": 100, "every": "7d"}},
    {"recurring": {"amount": 250, "every": "1d"}, "inflow": "underweight"},
    {"inflow": "underweight", "weights": "equal"},
    {"weights": "inverse_volatility", "volatility_window": "14d"},
]


@pytest.mark.parametrize("section", FLOWS, ids=["recurring", "recurring-underweight", "equal", "inverse-volatility"])
def test_fast_equals_step_on_real_candles_with_flows(datadir, real_rules, section):
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]
    candles = load_candles(datadir, pairs, "1h", Timerange.parse("20230101-20230301"))
    spec = spec_for(assets={"BTC": 25, "ETH": 25, "SOL": 25, "XRP": 25}, threshold=3, **section)
    rules = {p: real_rules[p] for p in pairs}
    step = simulate(spec, candles.times.tolist(), {p: candles.opens[p].tolist() for p in pairs},
                    {p: candles.closes[p].tolist() for p in pairs}, rules=rules)
    fast = simulate_fast(spec, candles.times, candles.opens, candles.closes, rules=rules)
    assert_same(step, fast)
    deposits = [r for r in step.engine.records if r.trigger == "recurring"]
    if "recurring" in section:
        assert len(deposits) >= 8 and step.engine.ledger.deposited == pytest.approx(
            len(deposits) * section["recurring"]["amount"])
    assert trade_rows(step.engine.records)
    if section.get("weights") == "inverse_volatility":
        recomputed = [r for r in step.engine.records if "weights recomputed" in r.reason]
        assert recomputed and step.engine.rebalances == len(recomputed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 1200), pairs=st.integers(2, 5),
       threshold=st.floats(0.5, 20), spacing=st.sampled_from([300, 3600]),
       every=st.sampled_from(["1h", "6h", "1d", "3d"]), amount=st.floats(1, 3000),
       inflow=st.sampled_from(["target", "underweight"]),
       weights=st.sampled_from(["fixed", "equal", "inverse_volatility"]),
       mode=st.sampled_from(["proportional", "scheduled"]), gap_rate=st.sampled_from([0.0, 0.01]))
def test_fast_equals_step_with_flows_on_random_markets(seed, n, pairs, threshold, spacing, every, amount, inflow,
                                                       weights, mode, gap_rate):
    times, opens, closes = random_market(seed, n, pairs, 0.002, gap_rate, spacing)
    coins = [p.split("/")[0] for p in opens]
    assets = {c: (60.0 if k == 0 else 40.0 / (len(coins) - 1)) for k, c in enumerate(coins)}
    section = {"assets": assets, "investment": 10000, "threshold": threshold, "mode": mode, "interval": "1d",
               "recurring": {"amount": amount, "every": every}, "inflow": inflow, "weights": weights}
    result = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": section})
    assert result.ok, result.lines()
    step = simulate(result.spec, times.tolist(), {p: v.tolist() for p, v in opens.items()},
                    {p: v.tolist() for p, v in closes.items()})
    fast = simulate_fast(result.spec, times, opens, closes)
    assert_same(step, fast)
    assert np.isfinite(step.final_value)


# ---------------------------------------------------------------- a coin that goes away (option 5)
def gone(prices, pair="SOL/USDT"):
    return {p: v for p, v in prices.items() if p != pair}


def test_a_coin_without_a_price_beyond_stale_after_is_frozen_out_once_and_the_others_rebalance():
    engine = drifted_engine(stale_after="2h", threshold=2)
    decisions = run_ticks(engine, gone(PRICES), [120.0 + 60 * k for k in range(110)])  # under 2h: waiting
    assert not [o for d in decisions for o in d.orders]
    assert decisions[-1].reason.code == "missing_price"
    moved = {**gone(PRICES), "BTC/USDT": 130.0}  # BTC drifts beyond the threshold
    decisions = run_ticks(engine, moved, [7500.0 + 60 * k for k in range(5)])
    kinds = [n.kind for d in decisions for n in d.notices]
    assert kinds.count("frozen_out") == 1
    orders = [o for d in decisions for o in d.orders]
    assert orders and all(o.pair != "SOL/USDT" for o in orders)
    # the others are rebalanced to their weights shared pro rata (40:30 of 70), SOL kept at its last price
    view_prices = {**moved, "SOL/USDT": 1.0}
    value_others = sum(engine.holdings[p] * view_prices[p] for p in ("BTC/USDT", "ETH/USDT")) + engine.cash
    btc = engine.holdings["BTC/USDT"] * 130.0 / value_others
    assert btc == pytest.approx(4 / 7, abs=0.02)
    assert engine.to_dict()["frozen"] == ["SOL/USDT"]
    assert Engine.from_dict(engine.to_dict()).to_dict() == engine.to_dict()
    # its price is back: thawed, with one notice, and back in the weights
    decisions = run_ticks(engine, {**moved, "SOL/USDT": 1.0}, [8000.0])
    assert [n.kind for n in decisions[0].notices].count("thawed") == 1
    assert "frozen" not in engine.to_dict()


def test_without_stale_after_a_coin_without_a_price_holds_every_trade_as_before():
    engine = drifted_engine(threshold=2)
    moved = {**gone(PRICES), "BTC/USDT": 130.0}
    decisions = run_ticks(engine, moved, [120.0 + 3600 * k for k in range(30)])
    assert not [o for d in decisions for o in d.orders]
    assert decisions[-1].reason.code == "missing_price"


def test_a_frozen_coin_is_never_traded_not_even_at_the_exit():
    engine = drifted_engine(threshold=2)
    spec = type(engine.spec).from_dict({**engine.spec.to_dict(), "assets": {"BTC": 62.5, "ETH": 37.5},
                                        "frozen": ["SOL"]})
    engine.update_spec(spec)  # set --drop SOL (without --sell)
    held = engine.holdings["SOL/USDT"]
    decisions = run_ticks(engine, {**PRICES, "BTC/USDT": 130.0}, [120.0 + 60 * k for k in range(5)])
    assert all(o.pair != "SOL/USDT" for d in decisions for o in d.orders)
    assert [o for d in decisions for o in d.orders]  # BTC and ETH towards 62.5:37.5
    engine.update_spec(type(spec).from_dict({**spec.to_dict(), "terminate": "sell"}))
    decisions = run_ticks(engine, PRICES, [600.0 + 60 * k for k in range(5)])
    assert engine.status == "terminated"
    assert engine.holdings["SOL/USDT"] == held and engine.holdings["BTC/USDT"] == 0
    assert all(o.pair != "SOL/USDT" for d in decisions for o in d.orders)


def test_a_dropped_coin_waits_for_its_market_and_is_sold_when_it_has_a_price():
    engine = drifted_engine(threshold=2)
    spec = engine.spec
    dropped = type(spec).from_dict({**spec.to_dict(), "assets": {"BTC": 62.5, "ETH": 37.5}, "dropped": ["SOL"]})
    engine.update_spec(dropped)
    decisions = run_ticks(engine, gone(PRICES), [120.0, 180.0, 240.0])  # SOL halted: the others rebalance
    orders = [o for d in decisions for o in d.orders]
    assert orders and all(o.pair != "SOL/USDT" for o in orders)
    assert engine.holdings["SOL/USDT"] > 0
    decisions = run_ticks(engine, PRICES, [300.0 + 60 * k for k in range(3)])
    assert any(o.pair == "SOL/USDT" and o.side == "sell" and o.full for d in decisions for o in d.orders)
    assert engine.holdings["SOL/USDT"] == 0


def delisting_market(n, spacing, gone_at, seed):
    rng = np.random.default_rng(seed)
    times = np.arange(n, dtype=np.int64) * spacing + 1_700_000_000 // spacing * spacing
    opens, closes = {}, {}
    for k in range(3):
        price = 10.0 ** (k + 1) * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        if k == 2:
            price[gone_at:] = np.nan
        opens[f"C{k}/USDT"], closes[f"C{k}/USDT"] = price, price * 1.001
    return times, opens, closes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(50, 800), gone_frac=st.floats(0.05, 0.9),
       stale_after=st.sampled_from(["1h", "6h", "1d"]), spacing=st.sampled_from([300, 3600]))
def test_fast_equals_step_when_a_coin_goes_away(seed, n, gone_frac, stale_after, spacing):
    times, opens, closes = delisting_market(n, spacing, int(n * gone_frac), seed)
    section = {"assets": {"C0": 40, "C1": 30, "C2": 30}, "investment": 10000, "threshold": 2,
               "stale_after": stale_after}
    spec = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": section}).spec
    step = simulate(spec, times.tolist(), {p: v.tolist() for p, v in opens.items()},
                    {p: v.tolist() for p, v in closes.items()})
    fast = simulate_fast(spec, times, opens, closes)
    assert_same(step, fast)


# ---------------------------------------------------------------- weights from data (option 6)
@settings(max_examples=200, deadline=None)
@given(series=st.lists(st.lists(st.floats(0.01, 1e4), min_size=0, max_size=12), min_size=1, max_size=6))
def test_inverse_volatility_weights_sum_to_one_and_favour_the_calmer_coin(series):
    pairs = [f"C{k}/USDT" for k in range(len(series))]
    weights = inverse_volatility_weights(pairs, dict(zip(pairs, series, strict=True)))
    assert sum(weights.values()) == pytest.approx(1.0) and all(w > 0 for w in weights.values())
    vols = [volatility(s) for s in series]
    if all(v is not None and v > 0 for v in vols):
        for a, b in zip(pairs, pairs[1:], strict=False):
            va, vb = vols[pairs.index(a)], vols[pairs.index(b)]
            assert (weights[a] >= weights[b] * (1 - 1e-9)) == (va <= vb * (1 + 1e-9)) or va == pytest.approx(vb)
    else:
        assert set(weights.values()) == {1 / len(pairs)}


def test_inverse_volatility_is_recomputed_at_the_rebalance_and_shown_in_the_view():
    spec = spec_for(assets=["BTC", "ETH", "SOL"], weights="inverse_volatility", volatility_window="7d", threshold=3)
    engine = Engine(spec)
    prices = dict(PRICES)
    run_ticks(engine, prices, [0.0, 60.0])
    assert engine.view(prices).coins[0].target_pct == pytest.approx(100 / 3)  # equal until there is data
    for day in range(1, 8):  # SOL swings 20 % a day, BTC and ETH 1 %
        prices = {"BTC/USDT": 100.0 * (1.01 if day % 2 else 1.0), "ETH/USDT": 10.0 * (1.0 if day % 2 else 1.01),
                  "SOL/USDT": 1.0 * (1.2 if day % 2 else 1.0)}
        run_ticks(engine, prices, [day * DAY + 30.0, day * DAY + 90.0, day * DAY + 150.0])
    record = next(r for r in engine.records if "weights recomputed" in r.reason)
    assert "SOL" in record.reason
    targets = {c.pair: c.target_pct for c in engine.view(prices).coins}
    assert targets["SOL/USDT"] < 10 < targets["BTC/USDT"]
    assert sum(targets.values()) == pytest.approx(100)
    again = Engine.from_dict(engine.to_dict())
    assert again.to_dict() == engine.to_dict() and again.view(prices) == engine.view(prices)


def test_bad_volatility_window_is_refused():
    lines = problems(weights="inverse_volatility", volatility_window="1d")
    assert any(line.startswith("smart_portfolio.volatility_window = '1d': must be a duration of 3 days")
               for line in lines), lines


def test_the_whitelist_and_max_open_trades_may_count_the_coins_kept_out_of_the_weights():
    from smartpf_core import check_config

    def config(**section):
        return {"stake_currency": "USDT", "max_open_trades": 3,
                "exchange": {"pair_whitelist": ["BTC/USDT", "ETH/USDT", "SOL/USDT"]},
                "smart_portfolio": {"assets": {"BTC": 62.5, "ETH": 37.5}, "investment": 1000, **section}}
    assert check_config(config(frozen=["SOL"])).errors == ()
    assert check_config(config(dropped=["SOL"])).errors == ()
    assert check_config(config(frozen=["SOL"])).spec.slots == 3
    plain = [str(p) for p in check_config(config()).errors]
    assert any(line.startswith("exchange.pair_whitelist") and "not in assets: SOL/USDT" in line for line in plain)
    both = [str(p) for p in check_config(config(frozen=["SOL"], assets={"BTC": 50, "SOL": 50})).errors]
    assert any(line.startswith("smart_portfolio.frozen = ['SOL']: must be a list of coins") for line in both), both


def test_the_reports_count_a_recurring_deposit_as_money_put_in():
    from smartpf.reporting.series import cash_flow
    engine = drifted_engine(recurring={"amount": 100, "every": "1d"})
    run_ticks(engine, PRICES, [DAY + 1.0, DAY + 61.0])
    record = next(r for r in engine.records if r.trigger == "recurring")
    assert cash_flow(record.kind, record.reason) == 100


def test_whatif_replays_recurring_deposits_through_the_spec_not_twice():
    from smartpf.research.whatif import life_of
    engine = drifted_engine(recurring={"amount": 100, "every": "1d"})
    run_ticks(engine, PRICES, [DAY + 1.0, DAY + 61.0, 2 * DAY + 1.0, 2 * DAY + 61.0])
    life = life_of(engine)
    assert life.changes == () and life.initial == pytest.approx(1000)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(moves=st.lists(st.floats(0.3, 3.0), min_size=3, max_size=3), amount=st.floats(20, 5000),
       inflow=st.sampled_from(["target", "underweight"]))
def test_a_deposit_only_buys_and_underweight_never_buys_a_coin_at_or_over_its_target(moves, amount, inflow):
    engine = drifted_engine(inflow=inflow, threshold=99, min_trade=0)
    moved = {p: v * m for (p, v), m in zip(PRICES.items(), moves, strict=True)}
    run_ticks(engine, moved, [120.0])
    value = engine.value(moved)
    after = value + amount
    over = {p for p, w in engine.spec.weights.items() if engine.holdings[p] * moved[p] >= w * after}
    engine.update_spec(type(engine.spec).from_dict({**engine.spec.to_dict(), "investment": 1000 + amount}))
    orders = [o for d in run_ticks(engine, moved, [180.0, 240.0]) for o in d.orders]
    assert all(o.side == "buy" for o in orders)
    assert not {o.pair for o in orders} & over
    assert engine.cash >= -1e-6
    if inflow == "underweight":  # no coin is bought above its target
        value = engine.value(moved)
        assert all(engine.holdings[p] * moved[p] <= w * value * (1 + 1e-6) + 1e-6
                   for p, w in engine.spec.weights.items() if p in {o.pair for o in orders})
