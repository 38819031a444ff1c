"""The report: `smartpf backtest --report`, `smartpf report -c` (a bot's database) and its figures.

The value series is rebuilt from the records and the candle closes: at the last candle it must equal the
engine's own figures (value, HODL, max drawdown), and the premium split must add up to the premium.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import simulate_fast
from smartpf.cli import main
from smartpf.freqtrade.store import PortfolioStore
from smartpf.markets import load_rules
from smartpf.reporting.premium import premium_split
from smartpf.reporting.series import rebuild
from smartpf.reporting.sources import from_state
from smartpf_core import parse_settings
from tests.unit.test_backtest import config_file

CHARTS = ("value", "weights", "drawdown", "fees", "premium")
FOUR = {"BTC": 25, "ETH": 25, "SOL": 25, "XRP": 25}


def _spec(assets, **section):
    result = parse_settings({"stake_currency": "USDT", "fee": 0.001,
                             "smart_portfolio": {"assets": assets, "investment": 1000, **section}})
    assert result.ok, result.lines()
    return result.spec


def _run(datadir, spec, timerange, execution="next-candle"):
    candles = load_candles(datadir, list(spec.pairs), "1h", Timerange.parse(timerange))
    from smartpf import paths
    rules = load_rules(paths.DEFAULT_MARKETS)
    result = simulate_fast(spec, candles.times, candles.opens, candles.closes,
                           rules={p: rules[p] for p in spec.pairs}, execution=execution)
    return result, candles


@pytest.mark.parametrize("section, timerange, execution", [
    ({"threshold": 2}, "20240101-20240401", "next-candle"),
    ({"threshold": 10, "threshold_type": "relative"}, "20240101-20240401", "same-candle"),
    ({"mode": "scheduled", "interval": "7d"}, "20240101-20240401", "next-candle"),
    ({"threshold": 1, "take_profit": 30, "on_exit": "sell"}, "20240201-20240401", "next-candle"),
], ids=["threshold", "relative-same-candle", "scheduled", "take-profit-exit"])
def test_rebuilt_values_match_the_engines_figures(datadir, section, timerange, execution):
    spec = _spec(FOUR, **section)
    result, candles = _run(datadir, spec, timerange, execution)
    summary = {"invested": result.invested, "final_value": result.final_value, "hodl_value": result.hodl_value}
    data = from_state(result.engine.to_dict(), summary, candles, "1h", "t", "s")
    series = rebuild(data)
    assert series.value[-1] == pytest.approx(result.final_value, rel=1e-9)
    assert series.hodl[-1] == pytest.approx(result.hodl_value, rel=1e-9)
    assert series.drawdown_pct.max() == pytest.approx(result.max_drawdown_pct, rel=1e-6, abs=1e-9)
    assert series.fees[-1] == pytest.approx(result.fees, rel=1e-9)
    assert series.cash[-1] == pytest.approx(result.engine.cash, abs=1e-6)
    assert np.all(np.isfinite(series.value)) and series.value[0] == 1000.0  # before the first purchase
    split = premium_split(data, series)
    parts = split["rebalancing"] + split["left_undone_by_minimums"] + split["fees"] + split["exit"] + split["other"]
    assert parts == pytest.approx(split["premium"], abs=1e-6)
    assert split["premium"] == pytest.approx(result.final_value - result.hodl_value, abs=1e-6)
    assert abs(split["other"]) < 1e-6  # no investment change: the split explains everything
    if "take_profit" in section:
        assert split["exit"] != 0 and result.engine.status == "terminated"
    else:
        assert split["exit"] == 0 and split["rebalancing"] != 0


def _non_blank_png(path):
    pixels = np.asarray(Image.open(path).convert("L"), dtype=float)
    return pixels.std() > 5 and pixels.shape[0] > 200 and pixels.shape[1] > 600


def test_backtest_report_writes_the_page_the_pngs_and_the_split(capsys, datadir, tmp_path):
    path = config_file(tmp_path, FOUR, threshold=2)
    out = tmp_path / "report"
    assert main(["backtest", "-c", path, "--datadir", str(datadir), "--timerange", "20240101-20240301", "--json",
                 "--report", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    page = (out / "report.html").read_text()
    # the library is inlined: no tag loads anything (the script's own text names a CDN for maps it never draws)
    assert not re.search(r"<(script|link|img|iframe)[^>]*(src|href)=", page)
    assert "Plotly.newPlot" in page and page.count("Plotly.newPlot") == len(CHARTS)
    assert len(page) < 10_000_000
    for name in CHARTS:
        assert _non_blank_png(out / f"{name}.png"), name
    report = json.loads((out / "report.json").read_text())
    totals = report["totals"]
    for key in ("final_value", "hodl_value", "rebalances", "orders", "fees", "turnover", "max_drawdown_pct"):
        assert totals[key] == summary[key]
    assert totals["premium"] == pytest.approx(summary["final_value"] - summary["hodl_value"])
    split = summary["premium_split"]
    assert split == report["premium_split"]
    assert split["premium"] == pytest.approx(totals["premium"], abs=1e-6)
    assert summary["report"] == str(out / "report.html")
    assert f"{totals['final_value']:,.2f} USDT" in page and "Premium over HODL" in page


def test_a_bots_report_from_its_trade_database(capsys, datadir, tmp_path):
    """A stopped bot: the saved state and records, the view's last prices, the candles of the period."""
    spec = _spec(FOUR, threshold=2)
    result, candles = _run(datadir, spec, "20240101-20240301")
    db = tmp_path / "trades.sqlite"
    session = sessionmaker(bind=create_engine(f"sqlite:///{db}"))()
    store = PortfolioStore(session)
    store.create_tables()
    engine = result.engine
    portfolio_id = store.create(engine, "bot").id
    prices = {p: float(candles.closes[p][-1]) for p in spec.pairs}
    last_loop = float(candles.times[-1]) + 1800  # the bot's last loop, within its last candle
    store.save_view(portfolio_id, prices, last_loop)
    session.close()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "timeframe": "1h", "fee": 0.001, "dry_run": True,
                                  "smart_portfolio": spec.to_dict() | {"assets": FOUR}}))
    out = tmp_path / "bot-report"
    assert main(["report", "-c", str(config), "--db-url", f"sqlite:///{db}", "--datadir", str(datadir),
                 "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    totals = report["totals"]
    assert totals["final_value"] == pytest.approx(result.final_value, rel=1e-9)
    assert totals["hodl_value"] == pytest.approx(result.hodl_value, rel=1e-9)
    assert totals["rebalances"] == result.rebalances and totals["orders"] == result.orders
    assert totals["max_drawdown_pct"] == pytest.approx(result.max_drawdown_pct, rel=1e-6)
    assert totals["end"] == "2024-03-01T01:00:00Z" and report["candles"] == result.ticks  # to the bot's last loop
    assert (out / "report.html").exists() and all((out / f"{n}.png").exists() for n in CHARTS)
    # candles that stop before the bot's last loop: the totals at the bot's last prices, and the page says so
    with sessionmaker(bind=create_engine(f"sqlite:///{db}"))() as session:
        later = {p: v * 2 for p, v in prices.items()}
        PortfolioStore(session).save_view(portfolio_id, later, last_loop + 86400 * 365 * 9)
    short = tmp_path / "short"
    short.mkdir()
    for pair in spec.pairs:
        name = pair.replace("/", "_") + "-1h.feather"
        frame = pd.read_feather(datadir / name)
        frame[frame["date"] <= "2024-03-01"].reset_index(drop=True).to_feather(short / name)
    assert main(["report", "-c", str(config), "--db-url", f"sqlite:///{db}", "--datadir", str(short),
                 "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    coins = sum(q * prices[p] * 2 for p, q in engine.holdings.items())
    assert report["totals"]["final_value"] == pytest.approx(engine.cash + coins, rel=1e-9)
    assert any("the bot's last prices" in n for n in report["notes"])


def _short_run_state(datadir):
    result, _ = _run(datadir, _spec(FOUR, threshold=2), "20240101-20240110")
    return result.engine.to_dict()


def test_report_bad_input_is_one_line_and_exit_2(capsys, datadir, tmp_path):
    assert main(["report", "--out", str(tmp_path / "o")]) == 2
    assert "either -c CONFIG" in capsys.readouterr().err
    assert main(["report", "--freqtrade-result", str(tmp_path / "missing.json"), "--out", str(tmp_path)]) == 2
    assert "--freqtrade-result" in capsys.readouterr().err
    freqtrade_own = tmp_path / "backtest-result-2024.json"
    freqtrade_own.write_text(json.dumps({"strategy": {"SmartPortfolio": {}}, "strategy_comparison": []}))
    assert main(["report", "--freqtrade-result", str(freqtrade_own), "--out", str(tmp_path / "o")]) == 2
    assert "Freqtrade's own result" in capsys.readouterr().err
    old = tmp_path / "smartpf-summary.json"
    old.write_text(json.dumps({"final_value": 1.0}))
    assert main(["report", "--freqtrade-result", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no portfolio state" in err and "Traceback" not in err
    path = config_file(tmp_path, FOUR, threshold=2)
    engine_state = _short_run_state(datadir)  # a real run's state, then a trade with a price that is no number
    engine_state["records"][0]["trades"][0]["price"] = "NaN"
    broken = {"start": "2024-01-01T00:00:00Z", "end": "2024-01-10T00:00:00Z", "timeframe": "1h", "final_value": 1,
              "hodl_value": 1, "rebalances": 0, "orders": 1, "fees": 0, "turnover": 0, "engine": engine_state}
    old.write_text(json.dumps(broken))
    assert main(["report", "--freqtrade-result", str(old), "--datadir", str(datadir),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "cannot be charted" in err and "Traceback" not in err
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["backtest", "-c", path, "--datadir", str(datadir), "--timerange", "20240101-20240110",
                 "--report", str(blocker)]) == 2
    assert "--out" in capsys.readouterr().err
