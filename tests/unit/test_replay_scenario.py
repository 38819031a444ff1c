"""Scenario file parsing and the price multiplier it implies."""

import json

import pytest

from smartpf.replay.exchange.scenario import ScenarioError, load_scenario, parse_duration, parse_scenario


def test_durations():
    assert parse_duration("2m", "x") == 120_000
    assert parse_duration("90s", "x") == 90_000
    assert parse_duration("1h", "x") == 3_600_000
    assert parse_duration("250ms", "x") == 250
    assert parse_duration(1.5, "x") == 1500
    for bad in ("soon", "-1m", True, -3):
        with pytest.raises(ScenarioError):
            parse_duration(bad, "x")


def test_events_stack_and_ramp():
    sc = parse_scenario({"flat": True, "events": [
        {"pair": "ETH/USDT", "at": "2m", "change_pct": 20},
        {"pair": "ETH/USDT", "at": "3m", "change_pct": -10},
        {"pair": "BTC/USDT", "at": "1m", "change_pct": 10, "over": "1m"},
    ]}, {"ETHUSDT", "BTCUSDT"})
    assert sc.flat and sc.moves_prices
    assert sc.multiplier("ETHUSDT", 119_999) == 1.0
    assert sc.multiplier("ETHUSDT", 120_000) == pytest.approx(1.2)
    assert sc.multiplier("ETHUSDT", 200_000) == pytest.approx(1.2 * 0.9)
    assert sc.multiplier("BTCUSDT", 90_000) == pytest.approx(1.05)
    assert sc.multiplier("BTCUSDT", 10 * 60_000) == pytest.approx(1.1)
    assert sc.multiplier("SOLUSDT", 10 * 60_000) == 1.0
    at_lo, at_hi, lo, hi = sc.multiplier_range("ETHUSDT", 60_000, 150_000)
    assert (at_lo, lo) == (1.0, 1.0) and at_hi == hi == pytest.approx(1.2)


def test_fault_windows():
    sc = parse_scenario({"events": [
        {"outage": {"from": "3m", "to": "4m"}},
        {"frozen": {"from": 10, "to": 20}},
        {"latency": {"from": "0s", "to": "1m", "ms": 300, "paths": ["/api/v3/depth"]}},
    ]})
    assert not sc.moves_prices
    assert sc.active("outage", 200_000) and not sc.active("outage", 240_000)
    assert sc.active("frozen", 15_000)[0].from_ms == 10_000
    lat = sc.active("latency", 1)[0]
    assert lat.ms == 300 and lat.paths == ("/api/v3/depth",)


@pytest.mark.parametrize("body, fragment", [
    ([], "JSON object"),
    ({"flat": "yes"}, "flat"),
    ({"events": [{"pair": "ETH/USDT", "at": "2m"}]}, "change_pct"),
    ({"events": [{"pair": "ETH/USDT", "change_pct": 5}]}, "at"),
    ({"events": [{"pair": "DOGE/EUR", "at": "1m", "change_pct": 5}]}, "not a served pair"),
    ({"events": [{"outage": {"from": "4m", "to": "3m"}}]}, "after"),
    ({"events": [{"latency": {"from": "0s", "to": "1m"}}]}, "latency.ms"),
    ({"events": [{"pair": "ETH/USDT", "at": "1m", "change_pct": -100}]}, "> -100"),
    ({"flatt": True}, "unknown key"),
])
def test_bad_scenarios_name_the_problem(body, fragment):
    with pytest.raises(ScenarioError, match=fragment):
        parse_scenario(body, {"ETHUSDT"})


def test_load_scenario_file_errors(tmp_path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ScenarioError, match="--scenario"):
        load_scenario(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"events": [{"pair": "ETH/USDT", "at": "2m", "change_pct": 20}]}))
    assert load_scenario(good).events[0].at_ms == 120_000


def test_the_documented_example_parses():
    from smartpf.paths import REPO_ROOT

    text = (REPO_ROOT / "docs" / "replay.md").read_text()
    block = text.split("## Scenario files", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    sc = parse_scenario(json.loads(block), {"ETHUSDT", "BTCUSDT"})
    assert sc.flat and len(sc.events) == 3 and len(sc.windows) == 3
