"""Orphans: fills the exchange made that the trade database does not know (a lost answer, a kill between
the fill and Freqtrade's write), matched to the engine's outstanding order so they are booked once and
never sent again; and the three-way comparison of `smartpf reconcile`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from smartpf.cli.reconcile import compare
from smartpf.freqtrade.reconcile import owner_of, unknown_fills
from tests.unit.test_freqtrade_glue import rebalancing_engine


def ccxt_order(oid: str, side: str = "sell", status: str = "closed", filled: float = 0.1, ts: float = 125.0,
               symbol: str = "BTC/USDT") -> dict:
    return {"id": oid, "symbol": symbol, "side": side, "status": status, "filled": filled, "timestamp": ts * 1000}


def test_unknown_fills_are_the_filled_orders_the_database_does_not_know_since_the_start():
    orders = [ccxt_order("1"), ccxt_order("2"), ccxt_order("3", filled=0.0, status="canceled"),
              ccxt_order("4", status="open"), ccxt_order("5", ts=10.0), ccxt_order("6", status="expired", filled=0.05)]
    found = unknown_fills(orders, known_ids={"1"}, since=100.0)
    assert [o["id"] for o in found] == ["2", "6"]  # known, unfilled, still open and older ones left out


def test_an_orphan_belongs_to_the_outstanding_order_of_its_pair_and_side():
    engine, sell = rebalancing_engine()
    engine.order_placed(sell.id)
    assert owner_of(engine, ccxt_order("9", side="sell", ts=125.0), op_started=120.0) == sell
    assert owner_of(engine, ccxt_order("9", side="buy", ts=125.0), op_started=120.0) is None
    assert owner_of(engine, ccxt_order("9", side="sell", symbol="ETH/USDT"), op_started=120.0) is None
    assert owner_of(engine, ccxt_order("9", side="sell", ts=50.0), op_started=120.0) is None  # before the op


def test_compare_flags_more_than_a_step_between_any_two_records():
    rows = compare({"BTC": 0.0071, "ETH": 0.2235}, {"BTC": 0.00709, "ETH": 0.2335}, {"BTC": 0.00709, "ETH": 0.2335},
                   {"BTC": 0.00001, "ETH": 0.0001}, ["BTC", "ETH"])
    assert [(r["coin"], r["agree"]) for r in rows] == [("BTC", True), ("ETH", False)]
    assert rows[1]["difference"] == -0.01 or abs(rows[1]["difference"] + 0.01) < 1e-12


def test_reconcile_without_a_database_is_one_line_and_exit_2(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"dry_run": False, "db_url": f"sqlite:///{tmp_path}/none.sqlite",
                                  "exchange": {"name": "binance"}}))
    smartpf = Path(sys.executable).parent / "smartpf"
    result = subprocess.run([str(smartpf), "reconcile", "-c", str(config)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "no trade database there" in result.stderr
    assert "Traceback" not in result.stderr
