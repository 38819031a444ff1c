"""smartpf study at a tiny size: random baskets among the coins with full data in their window, every setting,
the report with its tables and charts; --report-only rewrites it from the saved rows."""

from __future__ import annotations

import json

import pandas as pd

from smartpf.cli import main

# tests/support/datasets.py: 1h BTC ETH XRP ADA SOL (and more) over 20240101-20240202
ARGS = ["--timerange", "20240101-20240201", "--windows", "15d/15d", "--baskets", "4", "--max-coins", "4",
        "--thresholds", "2,10", "--threshold-types", "absolute", "--intervals", "1d", "--jobs", "1", "--quiet"]


def test_tiny_study_writes_the_report(capsys, tmp_path, datadir):
    out, doc = tmp_path / "research", tmp_path / "research.md"
    assert main(["study", "--datadir", str(datadir), "--out", str(out), "--doc", str(doc), *ARGS]) == 0
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 4 * 3  # baskets x settings
    assert set(rows["window"]) == {"20240101-20240116", "20240116-20240131"}
    info = json.loads((out / "study.json").read_text())
    for _, group in rows.groupby("basket"):
        pairs = json.loads(group["pairs"].iloc[0])
        coins = {p.split("/")[0] for p in pairs}
        assert 3 <= len(coins) <= 4 and coins <= set(info["pools"][group["window"].iloc[0]])
    text = doc.read_text()
    for heading in ("## Every setting", "## Is one setting best? By window", "## Survivorship",
                    "## What holds and what does not"):
        assert heading in text
    for png in ("heatmap.png", "premium_by_setting.png", "fees_vs_premium.png"):
        assert (out / png).stat().st_size > 1000 and f"research/{png}" in text
    doc.write_text("")
    assert main(["study", "--out", str(out), "--doc", str(doc), "--report-only"]) == 0
    assert "## Every setting" in doc.read_text()


def test_bad_sizes_exit_2(capsys, tmp_path, datadir):
    assert main(["study", "--datadir", str(datadir), "--out", str(tmp_path), "--baskets", "0"]) == 2
    assert main(["study", "--datadir", str(datadir), "--out", str(tmp_path), "--min-coins", "5",
                 "--max-coins", "4"]) == 2
    assert main(["study", "--out", str(tmp_path / "none"), "--report-only"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_options_study_compares_each_option_set_with_plain_settings_on_the_same_runs(capsys, tmp_path, datadir):
    out, doc = tmp_path / "research", tmp_path / "research.md"
    doc.write_text("# The study\n\nkept as it is\n")
    options = '{"rebalance_to": "halfway"}; {"cooldown": "7d", "max_turnover": 50}'
    args = ["study", "--datadir", str(datadir), "--out", str(out), "--doc", str(doc), *ARGS, "--options", options]
    assert main(args) == 0
    rows = pd.read_parquet(out / "options.parquet")
    assert len(rows) == 4 * 3 * 3  # baskets x settings x (plain + 2 option sets)
    assert not (out / "results.parquet").exists()  # the main study's results are left alone
    plain = rows[~rows["setting"].str.contains(" + ", regex=False)]
    assert len(plain) == 12 and set(plain["setting"]) == {"threshold 2 pt", "threshold 10 pt", "every 1d"}
    text = doc.read_text()
    assert text.startswith("# The study\n\nkept as it is\n")
    assert "## Rebalancing options against plain XT behaviour" in text
    assert 'rebalance_to="halfway"' in text and "median gain over plain (pt)" in text
    # a rerun replaces the section, never appends a second one
    assert main(["study", "--out", str(out), "--doc", str(doc), "--report-only", "--options", options]) == 0
    assert doc.read_text().count("## Rebalancing options against plain XT behaviour") == 1
    # the main study rewrites its report and keeps the options section
    assert main(["study", "--datadir", str(datadir), "--out", str(out), "--doc", str(doc), *ARGS]) == 0
    text = doc.read_text()
    assert "## Every setting" in text and text.count("## Rebalancing options against plain XT behaviour") == 1
    assert main([*args[:-1], "{not json"]) == 2
    assert main([*args[:-1], '{"rebalance_to": "edge"}']) == 2
    assert "rebalance_to" in capsys.readouterr().err
