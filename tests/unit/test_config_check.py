"""check_config: what the bot refuses, on a plain dict (the strategy and `smartpf validate` both call it)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpf.freqtrade.config import freqtrade_config
from smartpf_core import check_config, parse_settings

SECTION = {"assets": {"BTC": 50, "ETH": 30, "SOL": 20}, "investment": 1000}


def config(**changes):
    out = freqtrade_config(dict(SECTION))
    out["smart_portfolio"].update(changes.pop("section", {}))
    out.update(changes)
    return out


def errors(cfg):
    return [str(p) for p in check_config(cfg).errors]


def test_a_generated_config_is_valid_and_carries_the_spec():
    result = check_config(config())
    assert result.ok and result.spec == parse_settings(config()).spec


def test_section_and_freqtrade_problems_come_together_and_the_spec_stays_when_the_section_is_valid():
    result = check_config(config(max_open_trades=3 - 1, stoploss=-0.2))
    assert not result.ok and result.spec is not None
    assert [str(p).split(" = ")[0] for p in result.errors] == ["max_open_trades", "stoploss"]
    bad = check_config(config(section={"threshold": 0}, trailing_stop=True))
    assert bad.spec is None
    assert {str(p).split(" = ")[0] for p in bad.errors} == {"smart_portfolio.threshold", "trailing_stop"}


@pytest.mark.parametrize("changes, message", [
    ({"max_open_trades": 2}, "max_open_trades = 2: the portfolio holds 3 coins"),
    ({"max_open_trades": "3"}, "max_open_trades = '3'"),
    ({"stoploss": "-1"}, "stoploss = '-1'"),
    ({"position_adjustment_enable": False}, "position_adjustment_enable = false"),
    ({"timeframe": "7x"}, "timeframe = '7x': must be a candle size the exchange serves"),
    ({"pairlists": "StaticPairList"}, "pairlists = 'StaticPairList'"),
    ({"order_types": {"exit": "limit"}}, "order_types.exit = 'limit'"),
    ({"exchange": {"pair_whitelist": "BTC/USDT"}}, "exchange.pair_whitelist = 'BTC/USDT'"),
    ({"exchange": None}, "exchange.pair_whitelist = []"),
])
def test_each_problem_names_the_key_and_the_value(changes, message):
    found = errors(config(**changes))
    assert any(message in e for e in found), found


@pytest.mark.parametrize("changes", [{"max_open_trades": -1}, {"max_open_trades": float("inf")},
                                     {"max_open_trades": 5}, {"stoploss": -1}, {"timeframe": "1h"},
                                     {"position_adjustment_enable": True}])
def test_harmless_freqtrade_values_pass(changes):
    assert errors(config(**changes)) == []


@pytest.mark.parametrize("section, fragment", [
    ({"investment": 10**400}, "smart_portfolio.investment = 1000000000"),
    ({"investment": 1e12}, None),
    ({"investment": 1.0000001e12}, "at most 1e+12"),
    ({"min_trade": 2e12}, "smart_portfolio.min_trade = 2000000000000.0"),
    ({"take_profit": 1e6}, None),
    ({"take_profit": 2e6}, "smart_portfolio.take_profit = 2000000.0"),
    ({"mode": "scheduled", "interval": "366d"}, None),
    ({"mode": "scheduled", "interval": "52w"}, None),
    ({"mode": "scheduled", "interval": "367d"}, "at most a year"),
    ({"mode": "scheduled", "interval": "99999999999999999999w"}, "at most a year"),
    ({"check_interval": "0000000001m"}, None),
    ({"check_interval": "9" * 5000 + "m"}, "at most a year"),
])
def test_upper_bounds(section, fragment):
    found = errors(config(section=section))
    if fragment is None:
        assert found == []
    else:
        assert any(fragment in e for e in found), found


@pytest.mark.parametrize("stake", ["US DT", "$$", "U", "", "BTC/USDT", 5])
def test_a_stake_currency_must_be_a_currency(stake):
    found = [str(p) for p in parse_settings({"stake_currency": stake, "smart_portfolio": SECTION}).errors]
    assert any(f"stake_currency = {stake!r}" in e and "must be a currency" in e for e in found), found


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FREQTRADE_KEYS = ["max_open_trades", "stoploss", "minimal_roi", "trailing_stop", "position_adjustment_enable",
                  "max_entry_position_adjustment", "order_types", "pairlists", "protections", "trading_mode",
                  "timeframe", "exchange", "stake_currency"]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FREQTRADE_KEYS), json_values, max_size=6))
def test_check_config_never_raises_and_every_problem_prints(changes):
    result = check_config(config(**changes))
    assert result.ok or result.errors
    for problem in result.errors:
        assert str(problem)
