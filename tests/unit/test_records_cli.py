"""`smartpf backtest --records FILE`: one CSV row per filled order, the initial purchase and exits included."""

from __future__ import annotations

import csv
import json

from smartpf.cli import main
from tests.unit.test_backtest import config_file

HEADER = "time,operation_id,operation_kind,trigger,pair,side,quantity,price,fee"


def test_records_have_one_row_per_order_with_the_exact_header(capsys, datadir, tmp_path):
    path = config_file(tmp_path, {"BTC": 25, "ETH": 25, "SOL": 25, "XRP": 25}, threshold=1, take_profit=30)
    out = tmp_path / "records.csv"
    assert main(["backtest", "-c", path, "--datadir", str(datadir), "--timerange", "20240201-20240401",
                 "--json", "--records", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    text = out.read_text()
    assert text.splitlines()[0] == HEADER
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == summary["orders"]
    kinds = {(r["operation_kind"], r["trigger"]) for r in rows}
    assert ("initial", "") in kinds and ("exit", "take_profit") in kinds and ("rebalance", "threshold") in kinds
    assert all(r["time"].endswith("Z") and r["time"][10] == "T" for r in rows)
    assert rows[0]["time"] == summary["first_purchase"]
    fees = sum(float(r["fee"]) for r in rows)
    assert abs(fees - summary["fees"]) < 1e-6
    assert {r["side"] for r in rows} == {"buy", "sell"}
    assert sum(1 for r in rows if r["operation_kind"] == "exit") == 4


def test_records_file_that_cannot_be_written_is_bad_input(capsys, datadir, tmp_path):
    path = config_file(tmp_path, {"BTC": 50, "ETH": 50})
    code = main(["backtest", "-c", path, "--datadir", str(datadir), "--timerange", "20240201-20240210",
                 "--records", str(tmp_path / "missing" / "r.csv")])
    assert code == 2
    assert "--records" in capsys.readouterr().err
