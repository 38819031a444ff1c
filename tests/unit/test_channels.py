"""What the portfolio says through Freqtrade's channels (smartpf_core.channels): exit kinds, messages, reports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartpf_core import Notice, Reason, check_config
from smartpf_core import channels as ch
from smartpf_core.records import OperationRecord
from tests.support.helpers import make_spec, started, tick

PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}


def record(op_id: str, kind: str, trigger: str) -> OperationRecord:
    return OperationRecord(op_id, kind, trigger, "why", 0.0)


def test_every_sell_gets_one_of_five_stable_kinds():
    records = [record("rb2", "rebalance", "threshold"), record("dep3", "deposit", "investment"),
               record("wd4", "withdraw", "investment"), record("exit5", "exit", "take_profit")]
    assert ch.exit_kind_of("rb2:sell:ETH/USDT@0123456789ab", records) == "smartpf_rebalance"
    assert ch.exit_kind_of("dep3:sell:ETH/USDT@0123456789ab", records) == "smartpf_rebalance"
    assert ch.exit_kind_of("wd4:sell:ETH/USDT@0123456789ab", records) == "smartpf_withdraw"
    assert ch.exit_kind_of("exit5:sell:ETH/USDT@0123456789ab", records) == "smartpf_take_profit"
    assert ch.exit_kind_of("exit5:sell:ETH/USDT", [record("exit5", "exit", "stop_loss")]) == "smartpf_stop_loss"
    assert ch.exit_kind_of("exit5:sell:ETH/USDT", [record("exit5", "exit", "terminate")]) == "smartpf_terminate"
    # a record that is gone (an archived history): the id's own prefix still names the kind
    assert ch.exit_kind_of("wd9:sell:BTC/USDT@0123456789ab", []) == "smartpf_withdraw"
    assert ch.exit_kind_of("exit9:sell:BTC/USDT@0123456789ab", []) == "smartpf_terminate"
    for foreign in ("force_exit", "smartpf-entry@0123456789ab", "", "rb:sell:X", "sell:ETH/USDT", "abc1:sell:X"):
        assert ch.exit_kind_of(foreign, records) is None


@given(st.sampled_from(["initial", "rebalance", "deposit", "withdraw", "exit", "adopt", "other"]), st.text(max_size=12))
def test_exit_kind_is_always_one_of_the_five(kind, trigger):
    assert ch.exit_kind(kind, trigger) in ch.EXIT_KINDS


def test_the_engine_names_take_profit_and_stop_loss_exits():
    for section, prices, kind in (({"take_profit": 10}, {"BTC/USDT": 120.0, "ETH/USDT": 12.0}, "smartpf_take_profit"),
                                  ({"stop_loss": 10}, {"BTC/USDT": 80.0, "ETH/USDT": 8.0}, "smartpf_stop_loss")):
        engine = started(make_spec(**section))
        decision = tick(engine, 120, prices, fill=False)
        sells = [o for o in decision.orders if o.side == "sell"]
        assert len(sells) == 2
        assert {ch.exit_kind_of(o.id, engine.records) for o in sells} == {kind}


def test_settings_default_and_valid():
    assert ch.channel_settings({}) == (ch.ChannelSettings(None, "all", 0.0), [])
    settings, problems = ch.channel_settings({"report_every": "1d", "messages": "operations", "message_min_value": 25})
    assert problems == [] and settings == ch.ChannelSettings(86400, "operations", 25.0)


@pytest.mark.parametrize(("key", "value", "words"), [
    ("report_every", "daily", "smart_portfolio.report_every = 'daily'"),
    ("report_every", 0, "smart_portfolio.report_every = 0"),
    ("messages", "some", "smart_portfolio.messages = 'some': must be 'all', 'operations' or 'errors'"),
    ("message_min_value", -1, "smart_portfolio.message_min_value = -1"),
    ("message_min_value", "10", "smart_portfolio.message_min_value = '10'"),
    ("message_min_value", True, "smart_portfolio.message_min_value = true"),
])
def test_bad_settings_are_named_by_check_config(key, value, words):
    config = {"stake_currency": "USDT", "exchange": {"pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
              "smart_portfolio": {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, key: value}}
    lines = [str(p) for p in check_config(config).errors]
    assert any(words in line for line in lines), lines


def test_validate_exits_2_naming_the_bad_value(tmp_path):
    config = {"stake_currency": "USDT", "exchange": {"name": "binance", "pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
              "smart_portfolio": {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "messages": "loud"}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    done = subprocess.run([sys.executable, "-m", "smartpf.cli", "validate", "-c", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "smart_portfolio.messages = 'loud'" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_which_messages_are_sent():
    every = ch.ChannelSettings(None, "all", 0.0)
    ops = ch.ChannelSettings(None, "operations", 0.0)
    errors = ch.ChannelSettings(None, "errors", 0.0)
    done = Notice("rebalance_finished", "rebalance rb2 done", {"value": 40.0})
    stale = Notice("stale_started", "BTC/USDT has had no price", {})
    below = Reason("below_threshold", "deviation 0.2 points")
    missing = Reason("missing_price", "no price for ETH/USDT")
    assert [ch.announce_notice(done, s) for s in (every, ops, errors)] == [True, True, False]
    assert [ch.announce_notice(stale, s) for s in (every, ops, errors)] == [True, True, True]
    assert [ch.announce_reason(below, s) for s in (every, ops, errors)] == [True, False, False]
    assert [ch.announce_reason(missing, s) for s in (every, ops, errors)] == [True, True, True]
    # below the minimum value a rebalance is not announced, whatever the level; other notices are
    small = ch.ChannelSettings(None, "all", 50.0)
    assert not ch.announce_notice(done, small)
    assert ch.announce_notice(Notice("rebalance_finished", "", {"value": 50.0}), small)
    assert ch.announce_notice(Notice("exit_finished", "", {"value": 1.0}), small)
    assert ch.announce_notice(stale, small)


@given(st.sampled_from(["started", "rebalance_started", "rebalance_finished", "terminated", "rejected", "diverged",
                        "stale_ended", "targets_changed", "withdrawal_short", "something_new"]),
       st.floats(0, 1e6), st.floats(0, 1e6))
def test_a_narrower_level_never_sends_more(kind, value, minimum):
    notice = Notice(kind, "", {"value": value})
    sent = [ch.announce_notice(notice, ch.ChannelSettings(None, level, minimum)) for level in ch.MESSAGE_LEVELS]
    assert sent == sorted(sent, reverse=True)  # all >= operations >= errors


def test_the_engine_puts_the_traded_value_in_rebalance_notices():
    engine = started()
    prices = {"BTC/USDT": 120.0, "ETH/USDT": 10.0}
    first = tick(engine, 120, prices)
    assert first.notices[0].kind == "rebalance_started"
    assert first.notices[0].data["value"] == pytest.approx(sum(o.value for o in first.orders))
    tick(engine, 180, prices)
    last = tick(engine, 240, prices)
    assert last.notices[0].kind == "rebalance_finished"
    assert last.notices[0].data["value"] == pytest.approx(sum(t.value for t in engine.records[-1].trades))
    assert 90 < last.notices[0].data["value"] < 110  # about 50 sold and 50 bought


@given(st.lists(st.floats(0, 10 * 86400), min_size=1, max_size=60), st.sampled_from([60, 3600, 86400]))
def test_at_most_one_report_per_period_and_one_in_each_period_crossed(times, every):
    times = sorted(times)
    last = times[0]
    sent = []
    for now in times[1:]:
        if ch.report_due(last, now, every):
            sent.append(now)
            last = now
    periods = [int(t // every) for t in sent]
    assert len(periods) == len(set(periods))
    crossed = {int(t // every) for t in times} - {int(times[0] // every)}
    assert set(periods) == crossed


def test_no_report_without_a_setting_or_before_the_first_period():
    assert not ch.report_due(None, 1e9, 60)
    assert not ch.report_due(0.0, 1e9, None)
    assert not ch.report_due(120.0, 179.0, 60) and ch.report_due(120.0, 180.0, 60)


def test_the_report_names_value_hodl_and_each_coin():
    engine = started()
    text = ch.portfolio_report("0123456789ab", engine.details(PRICES), "USDT")
    assert text.startswith("portfolio 0123456789ab: value 999.00 USDT, profit -0.10 % (HODL -0.10 %)")
    assert "BTC 50.00 % (target 50, band 49-51)" in text and "ETH 50.00 % (target 50, band 49-51)" in text
    assert "cash 0.00 USDT; 0 rebalances" in text
