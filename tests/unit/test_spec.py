"""The settings contract: every validation rule, each with the message it must give."""

from __future__ import annotations

import json
import math

import pytest

from smartpf.cli import main
from smartpf.freqtrade.config import freqtrade_config
from smartpf_core import PortfolioSpec, parse_settings


def settings(**section):
    base = {"assets": {"BTC": 50, "ETH": 30, "SOL": 20}, "investment": 1000}
    base.update(section)
    return {"stake_currency": "USDT", "smart_portfolio": base}


def errors_of(config):
    result = parse_settings(config)
    assert not result.ok
    return [str(p) for p in result.errors]


def one_error(config, *fragments):
    errs = errors_of(config)
    assert any(all(f in e for f in fragments) for e in errs), errs
    return errs


def test_defaults():
    result = parse_settings(settings())
    assert result.ok and not result.warnings
    spec = result.spec
    assert spec.mode == "proportional" and spec.threshold == 1.0 and spec.threshold_type == "absolute"
    assert spec.check_interval == 60 and spec.interval == 86400 and spec.min_trade == 5.0
    assert spec.take_profit is None and spec.stop_loss is None and spec.on_exit == "sell" and spec.terminate is None
    assert spec.fee == 0.001 and spec.stake_currency == "USDT"
    assert spec.weights == {"BTC/USDT": 0.5, "ETH/USDT": 0.3, "SOL/USDT": 0.2}


def test_weights_are_normalised_within_tolerance():
    spec = parse_settings(settings(assets={"BTC": 50.004, "ETH": 49.999})).spec
    assert math.isclose(sum(spec.weights.values()), 1.0, abs_tol=1e-12)


def test_fee_and_stake_currency_come_from_freqtrade_config():
    config = settings(assets={"BTC": 50, "ETH": 50})
    config.update(stake_currency="usdc", fee=0.00075)
    spec = parse_settings(config).spec
    assert spec.pairs == ("BTC/USDC", "ETH/USDC") and spec.fee == 0.00075


@pytest.mark.parametrize(
    "assets, fragments",
    [
        ({"BTC": 100}, ("smart_portfolio.assets", "at least 2 coins")),
        ({}, ("smart_portfolio.assets", "at least 2 coins")),
        ({"BTC": 50, "ETH": 40}, ("allocations sum to 90", "must sum to 100")),
        ({"BTC": 60, "ETH": 40.02}, ("sum to 100.02",)),
        ({"BTC": 0, "ETH": 100}, ("smart_portfolio.assets.BTC = 0", "greater than 0")),
        ({"BTC": -10, "ETH": 110}, ("assets.BTC = -10", "greater than 0")),
        ({"BTC": "50", "ETH": 50}, ("assets.BTC = '50'", "greater than 0")),
        ({"BTC": float("nan"), "ETH": 50}, ("assets.BTC = NaN",)),
        ({"BTC": True, "ETH": 50}, ("assets.BTC = true",)),
        ({"BTC": 50, "btc": 50}, ("listed more than once", "'BTC'")),
        ({"USDT": 50, "BTC": 50}, ("assets.USDT", "stake currency")),
        ({"BTC/USDT": 50, "ETH": 50}, ("assets.BTC/USDT", "not the pair")),
        ([["BTC", 50]], ("smart_portfolio.assets", "must be an object")),
    ],
)
def test_assets_rules(assets, fragments):
    one_error(settings(assets=assets), *fragments)


def test_assets_missing():
    config = {"smart_portfolio": {"investment": 100}}
    one_error(config, "smart_portfolio.assets = (missing)", "required")


@pytest.mark.parametrize("investment", [0, -5, "1000", None, float("nan"), float("inf")])
def test_investment_rules(investment):
    one_error(settings(investment=investment), "smart_portfolio.investment", "greater than 0")


def test_investment_missing():
    config = settings()
    del config["smart_portfolio"]["investment"]
    one_error(config, "smart_portfolio.investment = (missing)")


@pytest.mark.parametrize(
    "key, value, fragments",
    [
        ("mode", "daily", ("smart_portfolio.mode = 'daily'", "'proportional' or 'scheduled'")),
        ("threshold_type", "percent", ("threshold_type = 'percent'", "'absolute'", "'relative'")),
        ("threshold", 0, ("smart_portfolio.threshold = 0", "greater than 0 and less than 100")),
        ("threshold", -1, ("threshold = -1",)),
        ("threshold", 100, ("threshold = 100",)),
        ("threshold", "1", ("threshold = '1'",)),
        ("interval", "0m", ("smart_portfolio.interval = '0m'", "longer than zero")),
        ("interval", "abc", ("interval = 'abc'", "whole number followed by m, h, d or w")),
        ("interval", "-1h", ("interval = '-1h'", "whole number")),
        ("interval", 60, ("interval = 60", "text such as")),
        ("check_interval", "1x", ("check_interval = '1x'",)),
        ("min_trade", -1, ("smart_portfolio.min_trade = -1", "0 or more")),
        ("take_profit", 0, ("smart_portfolio.take_profit = 0", "greater than 0")),
        ("take_profit", -5, ("take_profit = -5",)),
        ("stop_loss", 0, ("smart_portfolio.stop_loss = 0", "greater than 0 and less than 100")),
        ("stop_loss", 100, ("stop_loss = 100",)),
        ("on_exit", "usdt", ("smart_portfolio.on_exit = 'usdt'", "'sell'", "'keep'")),
        ("terminate", "now", ("smart_portfolio.terminate = 'now'", "'sell', 'keep', or null")),
    ],
)
def test_setting_rules(key, value, fragments):
    one_error(settings(**{key: value}), *fragments)


def test_unknown_key_names_the_closest_known_one():
    one_error(settings(treshold=2), "smart_portfolio.treshold = 2", "did you mean 'threshold'?")
    one_error(settings(investmnet=5), "did you mean 'investment'?")


def test_several_problems_are_all_reported():
    errs = errors_of(settings(mode="x", threshold=0, on_exit="y"))
    assert len(errs) == 3


def test_missing_section():
    one_error({"stake_currency": "USDT"}, "smart_portfolio = (missing)", "add a 'smart_portfolio' section")


def test_bad_fee():
    config = settings()
    config["fee"] = 0.5
    one_error(config, "fee = 0.5", "ratio")


def test_warning_when_absolute_threshold_reaches_smallest_target():
    result = parse_settings(settings(assets={"BTC": 95, "ETH": 5}, threshold=5))
    assert result.ok
    assert len(result.warnings) == 1
    text = str(result.warnings[0])
    assert text.startswith("warning: smart_portfolio.threshold = 5") and "ETH 5 %" in text
    assert parse_settings(settings(assets={"BTC": 95, "ETH": 5}, threshold=4.9)).warnings == ()
    # relative thresholds scale with the target: no warning
    relative = settings(assets={"BTC": 95, "ETH": 5}, threshold=10, threshold_type="relative")
    assert parse_settings(relative).warnings == ()


def test_relative_band():
    spec = parse_settings(settings(assets={"BTC": 80, "ETH": 20}, threshold=10, threshold_type="relative")).spec
    assert spec.band("ETH/USDT") == pytest.approx(0.02)
    assert spec.band("BTC/USDT") == pytest.approx(0.08)
    assert "relative" in spec.describe_threshold()


def test_spec_round_trip():
    spec = parse_settings(settings(mode="scheduled", interval="4h", take_profit=20, stop_loss=10)).spec
    assert PortfolioSpec.from_dict(spec.to_dict()) == spec


# ---------------------------------------------------------------------- the command line

def full(**section):
    """A whole config as `smartpf init` writes it: validate checks the Freqtrade settings too."""
    return freqtrade_config(settings(**section)["smart_portfolio"])


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_cli_validate_valid(tmp_path, capsys):
    path = write(tmp_path, "c.json", json.dumps(full()))
    assert main(["validate", "-c", path]) == 0
    out = capsys.readouterr().out
    assert "valid: BTC 50 %, ETH 30 %, SOL 20 %" in out
    assert "checked only at start" in out and "fund the investment" in out


def test_cli_validate_refuses_what_the_bot_refuses(tmp_path, capsys):
    """Valid means it will start: the strategy's own check (max_open_trades for 3 coins)."""
    path = write(tmp_path, "c.json", json.dumps({**full(), "max_open_trades": 2, "stoploss": -0.1}))
    assert main(["validate", "-c", path]) == 2
    out = capsys.readouterr().out
    assert "max_open_trades = 2: the portfolio holds 3 coins" in out and "stoploss = -0.1" in out
    assert "valid:" not in out


def test_cli_validate_comments_trailing_commas_and_merge(tmp_path, capsys):
    base = write(tmp_path, "a.json", """{
        // Freqtrade allows comments
        "stake_currency": "USDT",
        "exchange": {"pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
        "smart_portfolio": {"assets": {"BTC": 50, "ETH": 50,}, "investment": 100, "threshold": 0,},
    }""")
    override = write(tmp_path, "b.json", '{"smart_portfolio": {"threshold": 2}}')
    assert main(["validate", "-c", base]) == 2
    assert "smart_portfolio.threshold = 0" in capsys.readouterr().out
    assert main(["validate", "-c", base, "-c", override]) == 0
    assert "threshold 2 percentage points (absolute)" in capsys.readouterr().out


def test_cli_validate_exact_duplicate_key(tmp_path, capsys):
    path = write(tmp_path, "c.json", '{"smart_portfolio": {"assets": {"BTC": 50, "BTC": 50}, "investment": 10}}')
    assert main(["validate", "-c", path]) == 2
    out = capsys.readouterr().out
    assert "assets.BTC" in out and "more than once" in out


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "is not valid JSON at line 1"),
    ("[1, 2]", "must contain a JSON object"),
    ("", "is not valid JSON"),
])
def test_cli_validate_not_json(tmp_path, capsys, text, fragment):
    path = write(tmp_path, "c.json", text)
    assert main(["validate", "-c", path]) == 2
    out = capsys.readouterr().out
    assert fragment in out and "Traceback" not in out


def test_cli_validate_missing_file(tmp_path, capsys):
    assert main(["validate", "-c", str(tmp_path / "nope.json")]) == 2
    assert "does not exist" in capsys.readouterr().out


def test_cli_validate_warning_still_valid(tmp_path, capsys):
    path = write(tmp_path, "c.json", json.dumps(full(assets={"BTC": 99, "ETH": 1}, threshold=2)))
    assert main(["validate", "-c", path]) == 0
    assert "warning: smart_portfolio.threshold = 2" in capsys.readouterr().out
