"""The fast backtest (smartpf/backtest/fastsim.py) against the step engine: the same orders, in the same order, at the
same prices, the same summary and the same final engine state, on real candles and on random ones."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import run_backtest, simulate_fast
from smartpf.cli import main
from smartpf_core import Engine, MarketRules, Snapshot, parse_settings, simulate
from smartpf_core.records import trade_rows
from tests.support.helpers import make_spec, tick


def spec_of(pairs, **section):
    body = {"assets": {p.split("/")[0]: round(100 / len(pairs), 6) for p in pairs}, "investment": 1000, **section}
    total = sum(body["assets"].values())
    first = next(iter(body["assets"]))
    body["assets"][first] = round(body["assets"][first] + 100 - total, 6)
    result = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": body})
    assert result.ok, result.lines()
    return result.spec


def assert_same(step, fast):
    assert trade_rows(fast.engine.records) == trade_rows(step.engine.records)
    assert {k: v for k, v in vars(fast).items() if k != "engine"} == \
        {k: v for k, v in vars(step).items() if k != "engine"}
    assert fast.engine.to_dict() == step.engine.to_dict()  # the guard, the check indices, the ledger, the HODL


def both(spec, times, opens, closes, rules=None, execution="next-candle"):
    step = simulate(spec, list(times), {p: list(v) for p, v in opens.items()},
                    {p: list(v) for p, v in closes.items()}, rules=rules, execution=execution)
    fast = simulate_fast(spec, times, opens, closes, rules=rules, execution=execution)
    return step, fast


SIX = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT")
MAJORS = ("BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT")
CRASH = ("BTC/USDT", "ETH/USDT", "ADA/USDT", "XRP/USDT")
# (id, timeframe, pairs, timerange, settings, execution); every window is listed in tests/support/datasets.py
REAL = [
    ("1m-majors-1pt", "1m", MAJORS, "", {"threshold": 1}, "next-candle"),
    ("1m-majors-relative-5m-checks", "1m", MAJORS, "", {"threshold": 3, "threshold_type": "relative",
                                                         "check_interval": "5m"}, "next-candle"),
    ("5m-majors-0.5pt", "5m", MAJORS, "20250301-20250401", {"threshold": 0.5}, "next-candle"),
    ("5m-majors-1h-checks-guard-2", "5m", MAJORS, "20250301-20250401",
     {"threshold": 1, "check_interval": "1h", "price_guard": 2}, "next-candle"),
    ("5m-relative-same-candle", "5m", ("BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT"), "20250601-20250701",
     {"threshold": 10, "threshold_type": "relative"}, "same-candle"),
    ("1h-six-coins", "1h", SIX, "20230101-20230301", {"threshold": 2}, "next-candle"),
    ("1h-scheduled", "1h", ("BTC/USDT", "ETH/USDT", "LINK/USDT", "LTC/USDT"), "20220101-20220301",
     {"mode": "scheduled", "interval": "1d"}, "next-candle"),
    ("1h-scheduled-same-candle", "1h", ("BTC/USDT", "ETH/USDT", "LINK/USDT", "LTC/USDT"), "20220101-20220301",
     {"mode": "scheduled", "interval": "3d"}, "same-candle"),
    ("1h-crash-guard-5", "1h", CRASH, "20210501-20210601", {"threshold": 2, "price_guard": 5}, "next-candle"),
    ("1h-crash-stop-loss-keep", "1h", CRASH, "20210501-20210601",
     {"threshold": 2, "stop_loss": 20, "on_exit": "keep"}, "next-candle"),
    ("1h-2021-bt-case", "1h", CRASH, "20210101-20220101",
     {"threshold": 5, "threshold_type": "relative", "price_guard": None}, "same-candle"),
    ("1h-take-profit-sell", "1h", ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"), "20240201-20240401",
     {"threshold": 2, "take_profit": 15}, "next-candle"),
    ("1h-missing-candles", "1h", ("BTC/USDT", "ETH/USDT"), "20180201-20180402", {"threshold": 2}, "next-candle"),
]


@pytest.mark.parametrize("name, timeframe, pairs, timerange, section, execution", REAL, ids=[c[0] for c in REAL])
def test_fast_equals_step_on_real_candles(datadir, real_rules, name, timeframe, pairs, timerange, section,
                                          execution):
    candles = load_candles(datadir, list(pairs), timeframe, Timerange.parse(timerange))
    spec = spec_of(pairs, **section)
    rules = {p: real_rules[p] for p in pairs}
    step, fast = both(spec, candles.times, candles.opens, candles.closes, rules, execution)
    assert_same(step, fast)
    if "take_profit" in section or "stop_loss" in section:
        assert fast.engine.status == "terminated"
    else:
        assert fast.rebalances >= 1  # the comparison covers real rebalancing


def random_market(seed: int, n: int, pairs: int, wick_rate: float, gap_rate: float, spacing: int):
    """Random walks with wicks (a price that leaps for one candle) and missing candles (NaN)."""
    rng = np.random.default_rng(seed)
    times = np.arange(n, dtype=np.int64) * spacing + 1_700_000_000 // spacing * spacing
    opens, closes = {}, {}
    for k in range(pairs):
        steps = rng.normal(0, rng.uniform(0.001, 0.03), n)
        price = 10.0 ** rng.uniform(-1, 4) * np.exp(np.cumsum(steps))
        wicks = rng.random(n) < wick_rate
        price = np.where(wicks, price * rng.choice([0.3, 0.6, 1.5, 3.0], n), price)
        close = price * np.exp(rng.normal(0, 0.005, n))
        gaps = rng.random(n) < gap_rate
        price[gaps] = np.nan
        close[gaps] = np.nan
        pair = f"C{k}/USDT"
        opens[pair], closes[pair] = price, close
    return times, opens, closes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 1500),
    pairs=st.integers(2, 6),
    mode=st.sampled_from(["proportional", "scheduled"]),
    threshold=st.floats(0.1, 30),
    threshold_type=st.sampled_from(["absolute", "relative"]),
    check=st.sampled_from(["1m", "5m", "1h"]),
    interval=st.sampled_from(["30m", "4h", "1d"]),
    take_profit=st.none() | st.floats(1, 200),
    stop_loss=st.none() | st.floats(1, 90),
    on_exit=st.sampled_from(["sell", "keep"]),
    guard=st.none() | st.floats(1, 60),
    wick_rate=st.sampled_from([0.0, 0.002, 0.02]),
    gap_rate=st.sampled_from([0.0, 0.001, 0.02]),
    spacing=st.sampled_from([60, 300, 3600]),
    min_trade=st.sampled_from([0.0, 5.0]),
    stepped_rules=st.booleans(),
    execution=st.sampled_from(["next-candle", "same-candle"]),
    first=st.integers(0, 3),
)
def test_fast_equals_step_on_random_markets(seed, n, pairs, mode, threshold, threshold_type, check, interval,
                                            take_profit, stop_loss, on_exit, guard, wick_rate, gap_rate, spacing,
                                            min_trade, stepped_rules, execution, first):
    times, opens, closes = random_market(seed, n, pairs, wick_rate, gap_rate, spacing)
    weights = np.random.default_rng(seed + 1).integers(1, 10, pairs)
    assets = {p.split("/")[0]: float(w) for p, w in zip(opens, weights, strict=True)}
    scale = 100 / sum(assets.values())
    assets = {c: round(w * scale, 4) for c, w in assets.items()}
    first_coin = next(iter(assets))
    assets[first_coin] = round(assets[first_coin] + 100 - sum(assets.values()), 4)
    section = {"assets": assets, "investment": 10000, "mode": mode, "threshold": threshold,
               "threshold_type": threshold_type, "check_interval": check, "interval": interval,
               "take_profit": take_profit, "stop_loss": stop_loss, "on_exit": on_exit, "price_guard": guard,
               "min_trade": min_trade}
    result = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": section})
    assert result.ok, result.lines()
    rules = {p: MarketRules(min_notional=5, amount_step=0.001) for p in opens} if stepped_rules else None
    step = simulate(result.spec, times.tolist(), {p: v.tolist() for p, v in opens.items()},
                    {p: v.tolist() for p, v in closes.items()}, rules=rules, first_trade_index=first,
                    execution=execution)
    fast = simulate_fast(result.spec, times, opens, closes, rules=rules, first_trade_index=first,
                         execution=execution)
    assert_same(step, fast)


def test_cli_engines_agree_and_report_their_time(capsys, datadir, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"stake_currency": "USDT", "timeframe": "5m", "fee": 0.001, "smart_portfolio": {
        "assets": {"BTC": 40, "ETH": 30, "SOL": 30}, "investment": 1000, "threshold": 1}}))
    out = {}
    for engine in ("fast", "step"):
        assert main(["backtest", "-c", str(path), "--datadir", str(datadir), "--timerange", "20250301-20250401",
                     "--engine", engine, "--json"]) == 0
        out[engine] = json.loads(capsys.readouterr().out)
    assert main(["backtest", "-c", str(path), "--datadir", str(datadir), "--timerange", "20250301-20250401",
                 "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert default["engine"] == "fast" and default["execution"] == "next-candle"
    for engine, summary in out.items():
        assert summary["engine"] == engine and summary["simulation_seconds"] > 0
    strip = {"engine", "simulation_seconds"}
    assert {k: v for k, v in out["fast"].items() if k not in strip} == \
        {k: v for k, v in out["step"].items() if k not in strip}
    assert out["fast"]["rebalances"] >= 1
    records = tmp_path / "records.csv"
    assert main(["backtest", "-c", str(path), "--datadir", str(datadir), "--timerange", "20250301-20250401",
                 "--execution", "same-candle", "--records", str(records), "--json"]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["execution"] == "same-candle" and same["engine"] == "fast"
    assert len(records.read_text().splitlines()) == same["orders"] + 1


def test_bad_engine_or_execution_exits_2(capsys, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"stake_currency": "USDT", "smart_portfolio": {
        "assets": {"BTC": 50, "ETH": 50}, "investment": 1000}}))
    for option, value in (("--engine", "turbo"), ("--execution", "next-day")):
        with pytest.raises(SystemExit) as exc:
            main(["backtest", "-c", str(path), option, value])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert option in err and value in err and "Traceback" not in err


def test_run_backtest_refuses_an_unknown_engine():
    with pytest.raises(ValueError, match="engine 'turbo'"):
        run_backtest("turbo", make_spec(), np.arange(3), {}, {})


# ---------------------------------------------------------------- the core hooks the fast path relies on
def test_at_rest_only_when_nothing_but_prices_can_start_anything():
    engine = Engine(make_spec(threshold=5), None)
    prices = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}
    assert not engine.at_rest(prices)  # not started
    tick(engine, 0.0, prices)
    assert not engine.at_rest(prices)  # the initial purchase is under way
    tick(engine, 60.0, prices)
    assert engine.status == "running" and engine.at_rest(prices)
    assert not engine.at_rest({"BTC/USDT": 101.0, "ETH/USDT": 10.0})  # the guard accepted other prices
    tick(engine, 120.0, {"BTC/USDT": 300.0, "ETH/USDT": 10.0})  # a jump waits for confirmation
    assert engine.guard.pending and not engine.at_rest({"BTC/USDT": 300.0, "ETH/USDT": 10.0})


def test_skip_quiet_leaves_the_engine_as_stepping_the_quiet_ticks_would():
    spec = make_spec(threshold=5, check_interval="5m", price_guard=10)
    stepped, skipped = Engine(spec, None), Engine(spec, None)
    for engine in (stepped, skipped):
        tick(engine, 0.0, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})
        tick(engine, 60.0, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})
    quiet = [(t * 60.0, {"BTC/USDT": 100.0 + t, "ETH/USDT": 10.0 + t / 100}) for t in range(2, 14)]
    for now, prices in quiet:
        assert not tick(stepped, now, prices).orders
    skipped.skip_quiet(*quiet[-1])
    state = stepped.to_dict()
    assert skipped.to_dict() == state and state["last_check"] == 780 // 300
    snap = Snapshot(840.0, {"BTC/USDT": 112.0, "ETH/USDT": 10.1})
    assert skipped.step(snap).orders == stepped.step(snap).orders


def test_skip_quiet_refuses_a_portfolio_with_an_operation_under_way():
    engine = Engine(make_spec(), None)
    tick(engine, 0.0, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})
    with pytest.raises(ValueError, match="skip_quiet"):
        engine.skip_quiet(60.0, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})


# ---------------------------------------------------------------- the execution model
@pytest.mark.parametrize("engine", ["step", "fast"])
def test_same_candle_fills_a_rebalance_on_one_candle_next_candle_on_two(datadir, real_rules, engine):
    pairs = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")
    candles = load_candles(datadir, list(pairs), "1h", Timerange.parse("20240201-20240401"))
    spec = spec_of(pairs, threshold=2)
    rules = {p: real_rules[p] for p in pairs}
    spans = {}
    for execution in ("next-candle", "same-candle"):
        result, _ = run_backtest(engine, spec, candles.times, candles.opens, candles.closes, rules, execution)
        rebalances = [r for r in result.engine.records if r.kind == "rebalance"]
        assert len(rebalances) >= 5
        spans[execution] = rebalances
    two_phase = [r for r in spans["next-candle"] if {t.side for t in r.trades} == {"sell", "buy"}]
    assert two_phase
    for record in two_phase:  # sells at the trigger's open, buys at the next candle's open
        assert {t.time for t in record.trades if t.side == "sell"} == {record.started_at}
        assert {t.time for t in record.trades if t.side == "buy"} == {record.started_at + 3600}
        assert record.finished_at == record.started_at + 7200  # booked done on the tick after the buys
    for record in spans["same-candle"]:  # every trade of the operation at the trigger candle's open
        assert {t.time for t in record.trades} == {record.started_at} == {record.finished_at}
        for trade in record.trades:
            assert trade.price == candles.opens[trade.pair][list(candles.times).index(record.started_at)]


def test_same_candle_evaluates_exits_right_after_the_purchase():
    """A stop-loss already crossed by the initial purchase's fees fires on that same candle in same-candle mode."""
    spec = parse_settings({"stake_currency": "USDT", "fee": 0.01, "smart_portfolio": {
        "assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "stop_loss": 0.5}}).spec
    times = np.array([0, 60, 120, 180], dtype=np.int64)
    opens = {"BTC/USDT": np.full(4, 100.0), "ETH/USDT": np.full(4, 10.0)}
    same = simulate_fast(spec, times, opens, opens, execution="same-candle")
    nxt = simulate_fast(spec, times, opens, opens, execution="next-candle")
    assert same.engine.termination["requested_at"] == same.engine.termination["at"] == 60  # buy, sell, done
    assert nxt.engine.termination["requested_at"] == 120 and nxt.engine.termination["at"] == 180
    step = simulate(spec, times.tolist(), {p: v.tolist() for p, v in opens.items()},
                    {p: v.tolist() for p, v in opens.items()}, execution="same-candle")
    assert step.engine.to_dict() == same.engine.to_dict()


def test_an_unknown_execution_is_refused():
    spec = make_spec()
    with pytest.raises(ValueError, match="execution 'instant'"):
        simulate(spec, [0, 60], {"BTC/USDT": [1.0, 1.0]}, {"BTC/USDT": [1.0, 1.0]}, execution="instant")
    with pytest.raises(ValueError, match="execution 'instant'"):
        simulate_fast(spec, [0, 60], {"BTC/USDT": [1.0, 1.0]}, {"BTC/USDT": [1.0, 1.0]}, execution="instant")
