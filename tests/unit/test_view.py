"""The portfolio view and the records' rows, checked by arithmetic."""

from __future__ import annotations

import pytest

from smartpf.cli.view import RECORD_COLUMNS, portfolio_view, record_rows, records_csv
from tests.support.helpers import make_spec, started, tick

PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}


def test_view_numbers_add_up():
    engine = started(make_spec(threshold=2, take_profit=10))
    prices = {"BTC/USDT": 110.0, "ETH/USDT": 10.0}
    view = portfolio_view(engine, prices, 1000.0, 1010.0, [{"code": "below_threshold", "message": "m"}])
    btc, eth = view["coins"]
    value = engine.holdings["BTC/USDT"] * 110 + engine.holdings["ETH/USDT"] * 10 + engine.cash
    assert view["value"] == pytest.approx(value)
    assert btc["actual_pct"] + eth["actual_pct"] + view["cash_pct"] == pytest.approx(100)
    assert btc["value"] == pytest.approx(engine.holdings["BTC/USDT"] * 110)
    assert (btc["band_low_pct"], btc["band_high_pct"]) == (48, 52)
    assert btc["deviation_pct"] == pytest.approx(btc["actual_pct"] - 50)
    assert view["profit"] == pytest.approx(value - 1000) and view["take_profit"] == 10
    assert view["status"] == "running" and view["why_not"]["code"] == "below_threshold"
    assert view["prices_at"] == "1970-01-01T00:16:40Z" and view["next_check"] == "1970-01-01T00:17:00Z"


def test_view_status_while_rebalancing_and_without_a_price():
    engine = started()
    tick(engine, 1000, {"BTC/USDT": 120.0, "ETH/USDT": 10.0}, fill=False)
    view = portfolio_view(engine, {"ETH/USDT": 10.0}, None, 1001.0)
    assert view["status"] == "rebalancing" and view["prices_at"] is None and view["why_not"] is None
    assert view["coins"][0]["price"] is None and view["coins"][0]["value"] == 0.0


def test_record_rows_use_the_records_columns_and_words():
    engine = started()
    tick(engine, 1000, {"BTC/USDT": 120.0, "ETH/USDT": 10.0})
    tick(engine, 1060, {"BTC/USDT": 120.0, "ETH/USDT": 10.0})
    rows = record_rows(engine.records)
    assert [r["operation_kind"] for r in rows] == ["initial", "initial", "rebalance", "rebalance"]
    assert rows[0]["trigger"] == "" and rows[2]["trigger"] == "threshold"
    assert records_csv(rows).splitlines()[0] == ",".join(RECORD_COLUMNS)
    assert len(record_rows(engine.records, since=900)) == 2
