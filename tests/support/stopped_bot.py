"""A stopped bot's trade database, made without Freqtrade: a fast-engine run over real candles saved through
the portfolio store, with the prices and a reason of its last loop, and the bot's config beside it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from smartpf import paths
from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import simulate_fast
from smartpf.freqtrade.store import PortfolioStore
from smartpf.markets import load_rules
from smartpf_core import parse_settings

ASSETS = {"BTC": 40, "ETH": 30, "SOL": 30}
TIMERANGE = "20240101-20240201"


def free_port() -> int:
    """A port nothing listens on (the stopped bot's REST API)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stopped_bot(folder: Path, datadir: Path) -> tuple[Path, str, object]:
    """(config path, database URL, the run's result)."""
    section = {"assets": ASSETS, "investment": 1000, "threshold": 2}
    result = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": section})
    assert result.ok, result.lines()
    spec = result.spec
    candles = load_candles(datadir, list(spec.pairs), "1h", Timerange.parse(TIMERANGE))
    rules = load_rules(paths.DEFAULT_MARKETS)
    run = simulate_fast(spec, candles.times, candles.opens, candles.closes, rules={p: rules[p] for p in spec.pairs})
    db = folder / "trades.sqlite"
    url = f"sqlite:///{db}"
    session = sessionmaker(bind=create_engine(url))()
    store = PortfolioStore(session)
    store.create_tables()
    portfolio_id = store.create(run.engine, "freqtrade").id
    last = float(candles.times[-1]) + 1800
    store.save_view(portfolio_id, {p: float(candles.closes[p][-1]) for p in spec.pairs}, last,
                    reason={"at": last, "code": "below_threshold", "message": "every coin is inside its band",
                            "details": {"largest_deviation": 1.25}})
    session.close()
    config = folder / "config.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "timeframe": "1h", "fee": 0.001, "dry_run": True,
                                  "db_url": url, "smart_portfolio": section, "max_open_trades": len(spec.pairs),
                                  "exchange": {"name": "binance", "pair_whitelist": list(spec.pairs)},
                                  "api_server": {"enabled": True, "listen_ip_address": "127.0.0.1",
                                                 "listen_port": free_port(), "username": "u", "password": "p"}}))
    return config, url, run
