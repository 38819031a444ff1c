"""smartpf sweep: every row is the single `smartpf backtest` with its settings, on either joblib backend;
bad input exits 2 before any work."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from smartpf.cli import main

# tests/support/datasets.py: 1h BTC ETH and BTC XRP ADA, 20240101-20240202
TIMERANGE = "20240101-20240131"
BASKETS = {"pair": {"BTC": 60, "ETH": 40}, "trio": {"BTC": 40, "XRP": 30, "ADA": 30}}
FLOATS = ("final_value", "hodl_value", "profit_pct", "hodl_profit_pct", "fees", "turnover", "max_drawdown_pct",
          "invested", "threshold", "fee")


def write_config(tmp_path, **section):
    body = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, **section}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"stake_currency": "USDT", "timeframe": "1h", "fee": 0.001, "smart_portfolio": body}))
    return str(path)


def sweep_args(tmp_path, datadir, *extra):
    baskets = tmp_path / "baskets.json"
    baskets.write_text(json.dumps(BASKETS))
    return ["sweep", "-c", write_config(tmp_path), "--datadir", str(datadir), "--timerange", TIMERANGE,
            "--thresholds", "2,5", "--threshold-types", "absolute,relative", "--intervals", "1d",
            "--baskets", str(baskets), "--windows", "10d/10d", "--out", str(tmp_path / "out"), *extra]


def backtest_json(capsys, tmp_path, row):
    """The single backtest of one row: its basket, its setting, its window as --timerange."""
    section = {"assets": BASKETS[row["basket"]], "investment": 1000}
    if row["mode"] == "proportional":
        section.update(mode="proportional", threshold=row["threshold"], threshold_type=row["threshold_type"])
    else:
        section.update(mode="scheduled", interval=row["setting_interval"])
    path = tmp_path / "single.json"
    path.write_text(json.dumps({"stake_currency": "USDT", "timeframe": "1h", "fee": 0.001,
                                "smart_portfolio": section}))
    capsys.readouterr()
    assert main(["backtest", "-c", str(path), "--datadir", str(row["datadir"]), "--timerange", row["window"],
                 "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def check_rows_equal_backtests(capsys, tmp_path, datadir, rows: pd.DataFrame):
    assert len(rows) == 2 * 3 * 5  # baskets x windows x (2 thresholds x 2 types + 1 interval)
    assert set(rows["window"]) == {"20240101-20240111", "20240111-20240121", "20240121-20240131"}
    for row in rows.to_dict("records"):
        single = backtest_json(capsys, tmp_path, {**row, "datadir": datadir})
        for key, value in single.items():
            if key == "simulation_seconds":
                continue
            got = row[key]
            if isinstance(value, list | dict):
                assert json.loads(got) == value, key
            elif value is None:
                assert got is None or (isinstance(got, float) and math.isnan(got)), key
            elif isinstance(value, float):
                assert got == value, (key, row["basket"], row["window"], row["setting"])
            else:
                assert got == value, key
        assert row["premium_pct"] == single["profit_pct"] - single["hodl_profit_pct"]


def test_every_row_equals_the_single_backtest_loky(capsys, tmp_path, datadir):
    assert main(sweep_args(tmp_path, datadir, "--jobs", "2")) == 0
    out = capsys.readouterr().out
    assert "ranked by median premium over HODL" in out and "threshold 2 pt" in out
    rows = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert (tmp_path / "out" / "heatmap.png").stat().st_size > 1000
    csv_rows = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(csv_rows.columns) == list(rows.columns) and len(csv_rows) == len(rows)
    assert csv_rows["final_value"].tolist() == rows["final_value"].tolist()  # CSV floats round-trip exactly
    check_rows_equal_backtests(capsys, tmp_path, datadir, rows)


def test_every_row_equals_the_single_backtest_dask(capsys, tmp_path, datadir):
    distributed = pytest.importorskip("distributed")
    # two workers: with a single worker thread joblib would run the tasks in this process
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        assert main(sweep_args(tmp_path, datadir, "--backend", "dask", "--scheduler", cluster.scheduler_address)) == 0
        with distributed.Client(cluster) as client:  # the cluster's workers ran every task
            executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
        assert sum(executed.values()) >= 2 * 3  # baskets x windows
    rows = pd.read_parquet(tmp_path / "out" / "results.parquet")
    check_rows_equal_backtests(capsys, tmp_path, datadir, rows)


@pytest.mark.parametrize("extra, named", [
    (["--thresholds", "0"], "--thresholds '0'"),
    (["--thresholds", "100"], "--thresholds '100'"),
    (["--thresholds", "x"], "--thresholds 'x'"),
    (["--intervals", "30m"], "--intervals '30m'"),
    (["--intervals", "1q"], "--intervals '1q'"),
    (["--threshold-types", "both"], "--threshold-types 'both'"),
    (["--timerange", "20240101-20240101"], "--timerange"),
    (["--timerange", "20300101-20300201"], "no candles inside the timerange"),
    (["--windows", "60d/10d"], "--windows"),
    (["--windows", "10x"], "--windows"),
    (["--backend", "dask"], "--scheduler"),
    (["--jobs", "0"], "--jobs 0"),
])
def test_bad_input_exits_2_naming_it(capsys, tmp_path, datadir, extra, named):
    args = sweep_args(tmp_path, datadir)
    for i in range(0, len(extra), 2):
        if extra[i] in args:
            args[args.index(extra[i]) + 1] = extra[i + 1]
        else:
            args += extra[i:i + 2]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing ran


def test_unknown_coin_exits_2(capsys, tmp_path, datadir):
    args = sweep_args(tmp_path, datadir)
    (tmp_path / "baskets.json").write_text(json.dumps({"odd": {"BTC": 50, "NOPE": 50}}))
    args[args.index("--baskets") + 1] = str(tmp_path / "odd.json")
    (tmp_path / "odd.json").write_text(json.dumps({"odd": {"BTC": 50, "NOPE": 50}}))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "NOPE/USDT" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
