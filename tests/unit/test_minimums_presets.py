"""Minimum investment from the real market rules; presets and ``smartpf init``."""

from __future__ import annotations

import json

import pytest

from smartpf.cli import main
from smartpf_core import PRESETS, Engine, Snapshot, minimum_investment, parse_settings


def spec_of(section, fee=0.001):
    return parse_settings({"stake_currency": "USDT", "fee": fee, "smart_portfolio": section}).spec


PRICES = {"BTC/USDT": 70000.0, "ETH/USDT": 3500.0, "BNB/USDT": 600.0, "SOL/USDT": 150.0, "XRP/USDT": 0.5}


def test_minimum_investment_hand_computed(real_rules):
    spec = spec_of({"assets": {"BTC": 50, "XRP": 50}, "investment": 100, "threshold": 1})
    m = minimum_investment(spec, real_rules, PRICES)
    # BTC: position minimum 5 x 1.5 = 7.5 USDT; one step is 0.00001 x 70000 = 0.70 -> 11 steps = 7.70;
    # with the fee 7.7077, over a 50 % weight: 15.4154
    assert m.initial_by_pair["BTC/USDT"] == pytest.approx(7.70 * 1.001 / 0.5, rel=1e-5)
    # XRP: step 1 XRP = 0.50 -> 15 steps = 7.50 -> 15.015
    assert m.initial_by_pair["XRP/USDT"] == pytest.approx(7.50 * 1.001 / 0.5, rel=1e-5)
    assert m.initial == pytest.approx(max(m.initial_by_pair.values())) and m.binding_pair() == "BTC/USDT"
    # rebalance: an order of 5.25 (5 x 1.05, BTC rounded up to 5.60 = 8 steps) at a 1-point deviation
    assert m.rebalance_by_pair["BTC/USDT"] == pytest.approx(5.60 / 0.01, rel=1e-5)
    assert m.rebalance_by_pair["XRP/USDT"] == pytest.approx(5.50 / 0.01, rel=1e-5)


def test_minimum_is_exactly_enough(real_rules):
    """At the computed minimum every initial order clears; just below it one does not."""
    spec = spec_of({"assets": {"BTC": 30, "ETH": 30, "SOL": 20, "XRP": 20}, "investment": 100})
    m = minimum_investment(spec, real_rules, PRICES)
    for investment, all_bought in ((m.initial, True), (m.initial * 0.97, False)):
        s = spec_of({"assets": dict(spec.allocations), "investment": investment})
        decision = Engine(s, real_rules).step(Snapshot(0, PRICES))
        assert (len(decision.orders) == 4) is all_bought, (investment, decision.orders)


def test_relative_threshold_rebalance_minimum_uses_smallest_target(real_rules):
    spec = spec_of({"assets": {"BTC": 90, "ETH": 10}, "investment": 100, "threshold": 10,
                    "threshold_type": "relative"})
    m = minimum_investment(spec, real_rules, PRICES)
    # ETH band = 10 % of 10 % = 1 point; 5.25 -> 0.0015 ETH = 5.25 exactly
    assert m.rebalance_by_pair["ETH/USDT"] == pytest.approx(5.25 / 0.01, rel=1e-5)
    assert m.rebalance == m.rebalance_by_pair["ETH/USDT"]


def test_presets_are_valid():
    assert len(PRESETS) >= 4
    for preset in PRESETS.values():
        result = parse_settings({"stake_currency": "USDT", "smart_portfolio": preset.settings(1000)})
        assert result.ok and not result.warnings, (preset.name, result.lines())


def test_presets_command(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "btc-eth" in out and "majors" in out


def test_init_writes_a_complete_valid_freqtrade_config(tmp_path, capsys, datadir):
    out = tmp_path / "config.json"
    assert main(["init", "--preset", "btc-eth", "--investment", "500", "-o", str(out)]) == 0
    config = json.loads(out.read_text())
    assert config["exchange"]["pair_whitelist"] == ["BTC/USDT", "ETH/USDT"]
    assert config["max_open_trades"] == 2 and config["strategy"] == "SmartPortfolio"
    assert config["smart_portfolio"]["investment"] == 500
    assert main(["validate", "-c", str(out)]) == 0
    capsys.readouterr()
    assert main(["init", "--preset", "btc-eth", "--investment", "500", "-o", str(out)]) == 2
    assert "pass --force" in capsys.readouterr().err


def test_init_refuses_below_minimum_and_unknown_preset(capsys, tmp_path):
    assert main(["init", "--preset", "majors", "--investment", "20", "-o", str(tmp_path / "c.json")]) == 2
    assert "below the minimum investment" in capsys.readouterr().err
    assert main(["init", "--preset", "moon", "--investment", "20"]) == 2
    assert "choose one of btc-eth" in capsys.readouterr().err


def test_minimum_command(capsys):
    assert main(["minimum", "-c", "user_data/config.example.json"]) == 0
    out = capsys.readouterr().out
    assert "minimum investment:" in out and "rebalance minimum:" in out
