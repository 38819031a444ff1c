"""smartpf whatif: a portfolio's life, read from its trade database (start, a deposit, a withdrawal), replayed
under its own setting gives exactly what it really made; other settings are replayed over the same life."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from smartpf.backtest.candles import Timerange, load_candles
from smartpf.freqtrade.store import PortfolioStore
from smartpf.markets import load_rules
from smartpf_core import Engine, Fill, Snapshot, parse_settings

# tests/support/datasets.py: 1h BTC ETH, 20240101-20240202
SECTION = {"assets": {"BTC": 60, "ETH": 40}, "investment": 1000, "threshold": 3}
DEPOSIT_AT, WITHDRAW_AT = 1704844800 + 1800, 1705708800 + 1800  # 2024-01-10 00:30, 2024-01-20 00:30 UTC
LIFE_END = 1706140800  # 2024-01-25 00:00 UTC: the last candle the bot saw


def live_a_life(datadir, markets):
    """The portfolio as a bot would have run it: bought at the second candle, 500 more on the 10th (the config
    edited between two candles), 300 out on the 20th; every order filled at its candle's open."""
    spec = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": SECTION}).spec
    pairs = list(spec.pairs)
    candles = load_candles(datadir, pairs, "1h", Timerange.parse("20240101-20240125"))
    rules = {p: load_rules(markets)[p] for p in pairs}
    engine = Engine(spec, rules, portfolio_id="life1")
    for i, now in enumerate(candles.times.tolist()[1:], start=1):
        if now >= DEPOSIT_AT and engine.spec.investment == 1000:
            engine.update_spec(dataclasses.replace(engine.spec, investment=1500))
        if now >= WITHDRAW_AT and engine.spec.investment == 1500:
            engine.update_spec(dataclasses.replace(engine.spec, investment=1200))
        prices = {p: float(candles.opens[p][i]) for p in pairs}
        decision = engine.step(Snapshot(float(now), prices))
        for order in decision.orders:
            engine.on_fill(Fill(order.id, order.amount, prices[order.pair],
                                order.amount * prices[order.pair] * spec.fee, float(now)))
    return engine


def write_database(tmp_path, engine):
    db = tmp_path / "trades.sqlite"
    session = sessionmaker(bind=create_engine(f"sqlite:///{db}"))()
    store = PortfolioStore(session)
    store.create_tables()
    row = store.create(engine, "bot")
    store.save_view(row.id, {p: 1.0 for p in engine.spec.pairs}, at=LIFE_END)  # the bot's last loop
    session.close()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "timeframe": "1h", "fee": 0.001, "dry_run": True,
                                  "db_url": f"sqlite:///{db}", "smart_portfolio": SECTION}))
    return str(config)


def whatif(config, datadir, *extra):
    return subprocess.run([sys.executable, "-m", "smartpf.cli", "whatif", "-c", config, "--datadir", str(datadir),
                           "--thresholds", "1,10", "--intervals", "1d", *extra], capture_output=True, text=True,
                          timeout=300)


def test_own_setting_replayed_equals_what_it_made(tmp_path, datadir):
    from smartpf import paths

    engine = live_a_life(datadir, paths.DEFAULT_MARKETS)
    kinds = [r.kind for r in engine.records]
    assert "deposit" in kinds and "withdraw" in kinds  # the life has both, with orders
    config = write_database(tmp_path, engine)
    proc = whatif(config, datadir, "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    actual, mine, *others = rows
    assert actual["run"] == "actual" and mine["run"] == "replay" and mine["setting"] == actual["setting"]
    assert actual["setting"] == "threshold 3 pt (yours)"
    # the candles go on after the bot's last loop: the replay stops there, and is what it really made
    assert {k: v for k, v in mine.items() if k != "run"} == {k: v for k, v in actual.items() if k != "run"}
    assert mine["invested"] == 1200 and mine["rebalances"] >= 1
    assert {r["setting"] for r in others} == {"threshold 1 pt", "threshold 10 pt", "every 1d"}
    assert [r["profit"] for r in others] == sorted((r["profit"] for r in others), reverse=True)
    for r in rows:
        assert abs(r["final_value"] - r["invested"] - r["profit"]) < 1e-6


def test_replay_of_a_life_up_to_the_data_end_is_exact(tmp_path, datadir):
    """With the life running to the last candle of the data, the replay of its own setting is the real thing."""
    from smartpf import paths
    from smartpf.research.whatif import last_closes, life_of, outcome, replay

    engine = live_a_life(datadir, paths.DEFAULT_MARKETS)
    life = life_of(engine)
    assert life.initial == 1000 and [a for _, a in life.changes] == [500, -300]
    assert life.unrecorded_withdrawal == 0
    candles = load_candles(datadir, list(engine.spec.pairs), "1h", Timerange.parse("20240101-20240125"))
    start = int(life.start)
    keep = candles.times >= start
    cut = type(candles)(candles.times[keep], {p: c[keep] for p, c in candles.opens.items()},
                        {p: c[keep] for p, c in candles.closes.items()})
    rules = {p: load_rules(paths.DEFAULT_MARKETS)[p] for p in engine.spec.pairs}
    assert replay(engine.spec, life, cut, rules) == outcome(engine, last_closes(cut))


def test_no_portfolio_is_bad_input(tmp_path, datadir):
    db = tmp_path / "empty.sqlite"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "timeframe": "1h", "db_url": f"sqlite:///{db}",
                                  "smart_portfolio": SECTION}))
    proc = whatif(str(config), datadir)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = whatif(str(config), datadir, "--thresholds", "0")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
