"""A coin with no price is a stalled portfolio, said aloud: a basket coin without a valid price for more than
a check interval is stale; the engine says so once when it starts and once when it ends, names the time of
its last price in its reason, keeps it in its saved state while it lasts, and the backtest summary (JSON and
text, both engines) and ``smartpf status`` list it."""

from __future__ import annotations

import json

from smartpf.cli import main
from smartpf.cli.view import format_view, portfolio_view
from smartpf_core import Engine
from smartpf_core import events as ev
from tests.support.helpers import make_spec, started, tick

PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}


def test_a_coin_without_a_price_for_over_a_check_interval_is_said_stale_once_and_recovered_once():
    engine = started(make_spec(check_interval="5m"))  # priced at 0 and 60
    quiet = {"BTC/USDT": 100.0}
    d = tick(engine, 300, quiet)
    assert d.reason.code == ev.MISSING_PRICE and not [n for n in d.notices if n.kind.startswith("stale")]
    assert engine.stale == {}  # 240 s without a price: within the check interval
    d = tick(engine, 420, quiet)
    (notice,) = [n for n in d.notices if n.kind == "stale_started"]
    assert notice.message.startswith("ETH/USDT has had no price since 1970-01-01T00:01:00Z")
    assert engine.stale == {"ETH/USDT": 60.0}
    assert "(none for ETH/USDT since 1970-01-01T00:01:00Z)" in d.reason.message
    assert d.reason.details["since"] == {"ETH/USDT": 60.0}
    d = tick(engine, 480, quiet)
    assert not [n for n in d.notices if n.kind.startswith("stale")]  # said once
    saved = engine.to_dict()
    assert saved["stale"] == {"ETH/USDT": 60.0}
    resumed = Engine.from_dict(json.loads(json.dumps(saved)))
    assert resumed.stale == {"ETH/USDT": 60.0}
    view = portfolio_view(resumed, quiet, 480.0, 500.0)
    assert view["stale"] == [{"pair": "ETH/USDT", "since": "1970-01-01T00:01:00Z"}]
    assert "stale: ETH/USDT has had no price since 1970-01-01T00:01:00Z" in format_view(view, "USDT", "p1", 500.0)
    d = tick(resumed, 540, PRICES)
    (notice,) = [n for n in d.notices if n.kind == "stale_ended"]
    assert notice.message == "ETH/USDT has a price again (none from 1970-01-01T00:01:00Z to 1970-01-01T00:09:00Z)"
    assert resumed.stale == {} and "stale" not in resumed.to_dict()


def test_a_price_whose_time_stops_is_stale_too():
    """A halted market: the ticker still answers, with the time of its last trade."""
    engine = started(make_spec(check_interval="1m"))
    d = tick(engine, 200, PRICES, price_times={"BTC/USDT": 200.0, "ETH/USDT": 60.0})
    assert [n.data for n in d.notices if n.kind == "stale_started"] == [{"pair": "ETH/USDT", "since": 60.0}]


def test_the_backtest_names_a_coin_whose_candles_end(datadir, tmp_path, capsys):
    """BNB's 1h candles end on 2025-12-01 07:00: a scheduled BTC/BNB portfolio stalls and says so."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": {
        "assets": {"BTC": 50, "BNB": 50}, "investment": 1000, "mode": "scheduled", "interval": "1d"}}))
    out = {}
    for engine in ("fast", "step"):
        assert main(["backtest", "-c", str(path), "--datadir", str(datadir), "--timeframe", "1h",
                     "--timerange", "20251101-20260101", "--engine", engine, "--json"]) == 0
        out[engine] = json.loads(capsys.readouterr().out)
    assert out["fast"]["stale"] == out["step"]["stale"] == [{"pair": "BNB/USDT", "since": "2025-12-01T07:00:00Z"}]
    assert out["fast"]["status"] == "running"
    assert main(["backtest", "-c", str(path), "--datadir", str(datadir), "--timeframe", "1h",
                 "--timerange", "20251101-20260101"]) == 0
    text = capsys.readouterr().out
    assert "stale         BNB/USDT has had no price since 2025-12-01T07:00:00Z" in text
    assert main(["backtest", "-c", str(path), "--datadir", str(datadir), "--timeframe", "1h",
                 "--timerange", "20251101-20251130", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stale"] == []
