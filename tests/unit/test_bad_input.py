"""Bad input tried on purpose (issue 9): every case exits 2 with a message naming the value, never a traceback.

Each case runs the real console entry point in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smartpf.freqtrade.config import freqtrade_config

SECTION = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000}


def config_text(**section) -> str:
    return json.dumps(freqtrade_config({**SECTION, **section}))


def with_raw_investment(raw: str) -> str:
    """A config whose investment is written as ``raw`` (JSON text that Python's json would not produce)."""
    return config_text(investment=123456789).replace("123456789", raw)


def exchange_info_without_base_asset() -> str:
    symbol = {"symbol": "BTCUSDT", "quoteAsset": "USDT", "status": "TRADING",
              "filters": [{"filterType": "LOT_SIZE", "minQty": "0.00001", "stepSize": "0.00001"}]}
    return json.dumps({"symbols": [symbol]})


def case_files(tmp: Path) -> dict[str, str]:
    files = {
        "huge_int": with_raw_investment("1" + "0" * 399),
        "deep": '{"smart_portfolio": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "big_float": with_raw_investment("1e308"),
        "long_interval": config_text(mode="scheduled", interval="99999999999999999999w"),
        "bad_stake": config_text().replace('"USDT"', '"US DT!"'),
        "no_base": exchange_info_without_base_asset(),
        "deep_markets": "[" * 100_000 + "]" * 100_000,
        "good": config_text(),
        "one_trade": config_text().replace('"max_open_trades": 2', '"max_open_trades": 1'),
        "a_file": "",
    }
    for name, text in files.items():
        (tmp / name).write_text(text)
    return {name: str(tmp / name) for name in files}


CASES = [
    # id, arguments ({name} = a file above, {tmp} = the temp folder), fragments the message must hold
    ("400-digit-investment", ["validate", "-c", "{huge_int}"], ["smart_portfolio.investment = 1000000000"]),
    ("json-100000-deep", ["validate", "-c", "{deep}"], ["{deep}", "nested too deeply"]),
    ("init-investment-nan", ["init", "--preset", "btc-eth", "--investment", "nan"], ["--investment", "'nan'"]),
    ("init-investment-inf", ["init", "--preset", "btc-eth", "--investment", "inf"], ["--investment", "'inf'"]),
    ("init-investment-1e309", ["init", "--preset", "btc-eth", "--investment", "1e309"], ["--investment", "'1e309'"]),
    ("init-investment-1.7e308", ["init", "--preset", "btc-eth", "--investment", "1.7e308"],
     ["smart_portfolio.investment = 1.7e+308", "at most 1e+12"]),
    ("init-o-directory", ["init", "--preset", "btc-eth", "--investment", "500", "-o", "{tmp}"],
     ["-o {tmp}", "is a directory"]),
    ("init-o-unwritable", ["init", "--preset", "btc-eth", "--investment", "500", "-o", "{a_file}/config.json"],
     ["-o {a_file}/config.json", "cannot write"]),
    ("markets-without-baseAsset", ["backtest", "-c", "{good}", "--markets", "{no_base}", "--datadir", "{tmp}"],
     ["{no_base}", "no exchange rules for BTC/USDT"]),
    ("markets-without-baseAsset-init", ["init", "--preset", "btc-eth", "--investment", "500", "--markets",
                                        "{no_base}"], ["{no_base}", "no exchange rules for BTC/USDT"]),
    ("markets-100000-deep", ["backtest", "-c", "{good}", "--markets", "{deep_markets}", "--datadir", "{tmp}"],
     ["--markets", "{deep_markets}", "is not a readable JSON file"]),
    ("ft-backtest-refused-config", ["ft-backtest", "-c", "{one_trade}"],
     ["max_open_trades = 1: the portfolio holds 2 coins", "the bot would not start"]),
    ("ft-backtest-datadir-missing", ["ft-backtest", "-c", "{good}", "--datadir", "/nonexistent"],
     ["--datadir /nonexistent", "no such directory"]),
    ("investment-1e308", ["validate", "-c", "{big_float}"], ["smart_portfolio.investment = 1e+308", "at most 1e+12"]),
    ("interval-huge", ["validate", "-c", "{long_interval}"],
     ["smart_portfolio.interval = '99999999999999999999w'", "at most a year"]),
    ("init-timeframe-7x", ["init", "--preset", "btc-eth", "--investment", "500", "--timeframe", "7x"],
     ["timeframe = '7x'"]),
    ("stake-not-a-currency", ["validate", "-c", "{bad_stake}"], ["stake_currency = 'US DT!'"]),
    ("init-stake-not-a-currency", ["init", "--preset", "btc-eth", "--investment", "500", "--stake-currency", "$$"],
     ["stake_currency = '$$'"]),
    ("init-datadir-missing", ["init", "--preset", "btc-eth", "--investment", "500", "--datadir", "/nonexistent"],
     ["--datadir /nonexistent", "no such directory"]),
]


@pytest.mark.parametrize("args, fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_naming_the_value(tmp_path, args, fragments):
    names = {**case_files(tmp_path), "tmp": str(tmp_path)}
    argv = [a.format(**names) for a in args]
    proc = subprocess.run([sys.executable, "-m", "smartpf.cli", *argv], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, (argv, output[-2000:])
    assert "Traceback" not in output and "unexpected error" not in output, output[-2000:]
    for fragment in fragments:
        assert fragment.format(**names) in output, (fragment, output[-2000:])

