"""smartpf recommend: a ranked table of settings for the config's basket over many windows and one suggestion
with its evidence (median, spread, how often it beat HODL), next to the config's own setting."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from smartpf.cli import main
from smartpf.research.recommend import rolling_windows, suggestion

# tests/support/datasets.py: 1h BTC ETH ADA XRP, 20210101-20220102
ARGS = ["--timerange", "20210101-20220102", "--days", "120", "--step", "60", "--jobs", "1"]


def write_config(tmp_path, **section):
    body = {"assets": {"BTC": 40, "ETH": 30, "ADA": 15, "XRP": 15}, "investment": 1000, "threshold": 2, **section}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"stake_currency": "USDT", "timeframe": "1m", "fee": 0.001, "smart_portfolio": body}))
    return str(path)


def test_ranks_settings_and_suggests_with_evidence(capsys, tmp_path, datadir):
    assert main(["recommend", "-c", write_config(tmp_path), "--datadir", str(datadir), *ARGS]) == 0
    out = capsys.readouterr().out
    assert "threshold 2 pt (yours)" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith(("Suggestion:", "Keep your setting", "No setting beat HODL"))
    assert "windows of 120 days" in last and "beat HODL in" in last and "middle half" in last


def test_the_latest_window_ends_at_the_data_end():
    start = datetime(2021, 1, 1, 5, tzinfo=UTC)
    stop = datetime(2022, 1, 2, 0, tzinfo=UTC)
    windows = rolling_windows(start, stop, 120, 60)
    assert windows[-1].stop == stop and windows[0].start >= datetime(2021, 1, 2, tzinfo=UTC)
    assert all((w.stop - w.start).days == 120 for w in windows)
    assert [w.label for w in windows] == sorted(w.label for w in windows)


def test_suggestion_keeps_yours_when_it_leads_and_says_when_nothing_beats_hodl():
    def table(**medians):
        return pd.DataFrame({name: {"median_premium_pct": m, "p25_premium_pct": m - 1, "p75_premium_pct": m + 1,
                                    "beat_hodl_pct": 60.0, "median_fees": 1.0} for name, m in medians.items()}).T \
            .sort_values("median_premium_pct", ascending=False)

    assert suggestion(table(a=2.0, b=1.0), "a", "5 windows", "USDT").startswith("Keep your setting, a")
    assert suggestion(table(a=-2.0, b=-1.0), "a", "5 windows", "USDT").startswith("No setting beat HODL")
    line = suggestion(table(a=1.0, b=5.0), "a", "5 windows", "USDT")
    assert line.startswith("Suggestion: b") and "yours, a: median +1.00 pt" in line
    assert "either is a reasonable choice" not in line  # gap 4 > spread 2
    assert "either is a reasonable choice" in suggestion(table(a=1.0, b=2.0), "a", "5 windows", "USDT")


@pytest.mark.parametrize("extra, named", [
    (["--days", "0"], "--days 0"),
    (["--days", "400"], "--days 400"),  # the data holds one year: not two windows
    (["--timerange", "2021"], "--timerange"),
])
def test_bad_input_exits_2(capsys, tmp_path, datadir, extra, named):
    args = ["recommend", "-c", write_config(tmp_path), "--datadir", str(datadir), *ARGS]
    for i in range(0, len(extra), 2):
        args[args.index(extra[i]) + 1] = extra[i + 1]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
